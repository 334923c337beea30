"""An evidence record's figures are derived again from its stored raw report (the importers and binding that
`evidence add` ran); what the record says is a cache of that, never the proof."""

from __future__ import annotations

import hashlib

from bundlectl.errors import BundlectlError
from bundlectl.registry.events import Event
from bundlectl.registry.index import Index
from bundlectl.registry.objects import digest_in_key
from bundlectl.storage.base import Storage
from bundlectl.transitions.failures import ForgedEvidence
from bundlectl.transitions.registered import registered_bundle, unregistered


def check_evidence(index: Index, storage: Storage, event: Event) -> None:
    from bundlectl.evidence.add import component_reader
    from bundlectl.evidence.record import summary_tampering

    evidence = event.evidence()
    bundle = registered_bundle(index, evidence["name"], evidence["version"], evidence["digest"])
    if bundle is None:
        raise ForgedEvidence(event, "evidence for " + unregistered(evidence["name"], evidence["version"], evidence["digest"]))
    report = _stored_report(storage, evidence["report_key"], event)
    record = bundle.record()
    problem = summary_tampering(report, evidence, record, component_reader(storage, record), legacy_allowed=not index.has_run_provenance())
    if problem:
        raise ForgedEvidence(event, problem)


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
