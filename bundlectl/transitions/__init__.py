"""Every record a valid transition: each reader judges a record against the log before it before taking it in.

A signature says who wrote a record, not that the act was allowed. Importing this package installs the
rules in the read index's catch-up (`registry.fresh`), which writers, reads, the runtime and `verify` all
go through; the rules themselves load only when a record needs judging.
"""

from __future__ import annotations

from bundlectl.registry.index import TransitionCheck
from bundlectl.registry.read import judge_transitions_with
from bundlectl.storage.base import Storage


def record_judge(storage: Storage) -> TransitionCheck:
    """The check of records read from `storage` (it reads their stored reports and bundle files)."""
    from bundlectl.transitions.driver import RecordJudge  # the rules read the gate and evidence code: load on use

    return RecordJudge(storage)


judge_transitions_with(record_judge)
