"""Transition benchmarks (issue 21), each a ratio against today's signature-only checks measured in the same run.

- `verify` (in process) of a 10,000-event log with trust set, every record signed, judging every record a valid
  transition (each promotion's gate judged again), vs the same verify without the transition rules (target ≤ 2×)
- a writer's catch-up (`checked_index`: the read index brought to the head, signatures checked) over 1,000 new
  signed records, with the transition rules vs without; also per 100 records (target ≤ 50 ms per 100)

The logs are built as benchmarks/trust.py builds them (real commands first, then signed synthetic approvals and
promotions through the gate's eval checks). Both sides run in this process, interleaved, so noise hits both.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import median_interleaved, report  # noqa: E402
from synthetic import append_synthetic, build_registry  # noqa: E402
from trust import Team  # noqa: E402

import bundlectl.transitions  # noqa: E402
import bundlectl.workflows.verify  # noqa: E402
from bundlectl.registry.read import judge_transitions_with  # noqa: E402

EVENTS = 10_000
NEW = 1_000


def _without_rules(_storage: Any) -> None:
    return None


def judged(on: bool, action: Callable[[], object]) -> Callable[[], object]:
    """`action` with the transition rules installed (today's checks plus them), or without (today's checks only)."""
    factory: Any = bundlectl.transitions.record_judge if on else _without_rules

    def run() -> object:
        judge_transitions_with(factory)
        bundlectl.workflows.verify.record_judge = factory
        try:
            return action()
        finally:
            judge_transitions_with(bundlectl.transitions.record_judge)
            bundlectl.workflows.verify.record_judge = bundlectl.transitions.record_judge

    return run


def storage_of(env: dict[str, str], folder: Path) -> Any:
    import os

    from bundlectl.storage.locate import open_storage, registry_url

    os.environ["BUNDLECTL_CACHE_DIR"] = env["BUNDLECTL_CACHE_DIR"]
    return open_storage(registry_url(env["BUNDLECTL_REGISTRY"]), folder)


def copy_index(source: Path, target: Path) -> None:
    """Through SQLite's backup API, so open connections and the WAL never see a file swapped under them."""
    import gc
    import sqlite3

    gc.collect()  # indexes of earlier rounds: closed
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def main() -> None:
    from bundlectl.registry.signatures import checked_index
    from bundlectl.workflows.verify import verify_registry

    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-transitions-"))
    results: dict[str, dict[str, float]] = {}
    try:
        team = Team(work / "keys")
        big = work / "big"
        big.mkdir()
        env = build_registry(big, EVENTS, team)
        storage = storage_of(env, big)
        verify_registry(storage)  # a valid log, every record judged; the index caught up
        base, measured = median_interleaved(judged(False, lambda: verify_registry(storage)), judged(True, lambda: verify_registry(storage)), 3)
        results[f"verify: {EVENTS:,} signed events, judged / signatures only"] = {
            "baseline_s": base,
            "measured_s": measured,
            "ratio": measured / base,
            "target": 2.0,
        }

        checked_index(storage)
        index = storage.index_path()
        saved = work / "index-before.sqlite"
        copy_index(index, saved)
        head = storage.log_head()
        count = len(storage.events_after(None, head) or [])
        append_synthetic(big / "registry.git", count + NEW, team)

        def catch_up() -> None:
            copy_index(saved, index)  # this machine back at the head before the 1,000 records
            caught = checked_index(storage)
            assert caught.head().seq == count + NEW, caught.head()

        base, measured = median_interleaved(judged(False, catch_up), judged(True, catch_up), 5)
        results[f"writer catch-up: {NEW:,} new signed records, judged / signatures only"] = {
            "baseline_s": base,
            "measured_s": measured,
            "ratio": measured / base,
        }
        per_100 = measured * 100 / NEW
        results["writer catch-up, judged: seconds per 100 records vs the 50 ms target"] = {
            "baseline_s": 0.050,
            "measured_s": per_100,
            "ratio": per_100 / 0.050,
            "target": 1.0,
        }
        judging = (measured - base) * 100 / NEW  # what judging adds to today's catch-up, per 100 records
        results["writer catch-up, the judging alone: per 100 records vs the 50 ms target"] = {
            "baseline_s": 0.050,
            "measured_s": judging,
            "ratio": judging / 0.050,
            "target": 1.0,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
