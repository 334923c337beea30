"""The run that admitted the live bundle, and the cases of a stored eval run as bound to its bundle."""

from __future__ import annotations

from bundlectl.bundle.record import BundleRecord
from bundlectl.errors import NotFound, Refused
from bundlectl.evidence.add import component_reader
from bundlectl.evidence.binding import bind_report
from bundlectl.evidence.importers import import_report
from bundlectl.evidence.report import CaseResult
from bundlectl.registry.index import Index
from bundlectl.registry.rows import EvidenceRow, PointerRow
from bundlectl.storage.base import Storage


def admitting_run(index: Index, pointer: PointerRow) -> EvidenceRow:
    """The eval evidence the gate used when the live bundle last went live in its environment by a gated move."""
    for move in index.moves(pointer.name, pointer.env):
        if move.to_digest != pointer.digest:
            continue
        gate = move.data.get("gate")
        used = index.evidence_by_seq(list(gate["evidence"])) if gate else []
        evals = [e for e in used if e.kind == "eval" and e.digest == pointer.digest]
        if evals:
            return max(evals, key=lambda e: e.seq)
    raise Refused(
        f"{pointer.name}@{pointer.version} went live in {pointer.env} without a gated eval run, so there is no admitting run to compare with",
        f"promote it through an eval gate: `bundlectl gate {pointer.name}@{pointer.version} --env {pointer.env}`",
    )


def stored_cases(storage: Storage, record: BundleRecord, evidence: EvidenceRow) -> list[CaseResult]:
    """The cases of a stored eval report, matched to the bundle's suite again from the stored bytes (not the cache)."""
    if evidence.digest != record.digest:
        raise NotFound(f"evidence {evidence.seq} is not bound to {record.ref}", "compare runs of the same bundle")
    report = import_report(storage.get_object(evidence.report_key), f"evidence {evidence.seq}", evidence.source)
    return bind_report(report, record, component_reader(storage, record), f"evidence {evidence.seq}").report.cases
