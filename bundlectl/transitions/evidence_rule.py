"""An evidence record's figures are derived again from its stored raw report (the importers and binding that
`evidence add` ran); what the record says is a cache of that, never the proof.

So is the prompt rule: a report only proves the prompt texts it shows, and writers refuse one in which a prompt
file of the bundle appears in no prompt the run rendered. A record written by hand past that refusal is kept,
but its row names the prompt files it never shows, and no gate counts it (`gate.checks.eval_standing`). The
rule holds for records that say they were written under it and, from the first such record in the log, for
every later one; older records were written before it and still count as they did (`verify` of an old log).
"""

from __future__ import annotations

import hashlib
from typing import Any

from bundlectl.errors import BundlectlError
from bundlectl.registry.events import Event
from bundlectl.registry.index import Index
from bundlectl.registry.objects import digest_in_key
from bundlectl.storage.base import Storage
from bundlectl.transitions.failures import ForgedEvidence
from bundlectl.transitions.registered import registered_bundle, unregistered


def check_evidence(index: Index, storage: Storage, event: Event) -> dict[str, Any] | None:
    """Refuses a record its stored report does not give; returns the prompt files that report never shows
    (`{"unshown_prompts": {path: what to change in the suite}}`) when the prompt rule holds for it, else None."""
    from bundlectl.evidence.add import component_reader
    from bundlectl.evidence.bound_bundle import unshown_prompts
    from bundlectl.evidence.importers import import_report
    from bundlectl.evidence.record import summary_tampering

    evidence = event.evidence()
    bundle = registered_bundle(index, evidence["name"], evidence["version"], evidence["digest"])
    if bundle is None:
        raise ForgedEvidence(event, "evidence for " + unregistered(evidence["name"], evidence["version"], evidence["digest"]))
    report = _stored_report(storage, evidence["report_key"], event)
    record = bundle.record()
    read = component_reader(storage, record)
    try:
        parsed = import_report(report, evidence["file"], evidence["source"])
    except BundlectlError:
        parsed = None  # summary_tampering says why
    problem = summary_tampering(report, evidence, record, read, legacy_allowed=not index.has_run_provenance(), parsed=parsed)
    if problem or parsed is None:
        raise ForgedEvidence(event, problem or "its stored report gives no summary")
    if "prompt_rule" not in evidence and not index.has_prompt_rule():
        return None  # written before writers refused reports that never show a prompt file
    unshown = unshown_prompts(parsed, record, read)
    return {"unshown_prompts": unshown} if unshown else None


def _stored_report(storage: Storage, key: str, event: Event) -> bytes:
    """The report's stored bytes, which must hash to the digest their key names."""
    try:
        data = storage.get_object(key) if storage.has_object(key) else None
    except BundlectlError as exc:  # the backend found the object damaged
        raise ForgedEvidence(event, f"its report {key}: {exc.message}") from None
    if data is None:
        raise ForgedEvidence(event, f"its report {key} was never stored: nothing proves its figures")
    if hashlib.sha256(data).hexdigest() != digest_in_key(key):
        raise ForgedEvidence(event, f"its stored report {key} does not match its digest")
    return data
