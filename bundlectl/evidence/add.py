"""Binding reports to a bundle: `evidence add`, and the runs `bundlectl eval` makes.

A report is bound to the bundle digest and, for eval runs, to the digest of the bundle's `evals`
component, once it has shown that it ran this bundle's suite on this bundle (`binding.py`). Nothing
is stored for a refused report, not even its raw bytes; one report (or one run of the tool) is
evidence for one bundle only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bundlectl.bundle.record import BundleRecord
from bundlectl.errors import InvalidInput, Problem, Refused, UsageProblem
from bundlectl.evidence.binding import bind_report
from bundlectl.evidence.bound_bundle import check_shows_every_prompt
from bundlectl.evidence.importers import import_report
from bundlectl.evidence.record import evidence_data
from bundlectl.evidence.report import KINDS, Report
from bundlectl.evidence.timestamps import CLOCK_SKEW
from bundlectl.foundation.clock import now_utc, rfc3339
from bundlectl.foundation.faults import OBJECTS_STORED, checkpoint
from bundlectl.registry.bundles import read_blob
from bundlectl.registry.events import Provenance
from bundlectl.registry.index import Index
from bundlectl.registry.log import Planned, append, signing
from bundlectl.registry.objects import report_key
from bundlectl.registry.read import index_at_head
from bundlectl.registry.rows import BundleRow, EvidenceRow
from bundlectl.storage.base import Storage
from bundlectl.trust.identity import Acting


@dataclass(frozen=True)
class EvidenceAdded:
    bundle: BundleRow
    kind: str
    source: str
    run_at: str
    figures: dict[str, Any]
    created: bool
    seq: int | None
    provenance: str = "attached"
    cases: str | None = None  # eval reports: how their cases were matched ("undeclared": never counts)
    bound: Report | None = None  # the report as bound (cases matched to the suite's): what `drift` compares

    def to_json(self) -> dict[str, Any]:
        """The `evidence add --json` document (and the start of `eval --json`'s)."""
        bundle = self.bundle
        return {
            "name": bundle.name,
            "version": bundle.version,
            "digest": bundle.digest,
            "kind": self.kind,
            "source": self.source,
            "provenance": self.provenance,
            "cases": self.cases,
            "run_at": self.run_at,
            "figures": self.figures,
            "created": self.created,
            "seq": self.seq,
        }


def add_evidence(
    storage: Storage,
    bundle: BundleRow,
    data: bytes,
    label: str,
    kind: str | None,
    fmt: str,
    actor: Acting,
    reason: str | None = None,
    now: datetime | None = None,
    provenance: Provenance | None = None,
    check_report: Callable[[Report], None] | None = None,
    store: bool = True,
) -> EvidenceAdded:
    """Bind DATA to BUNDLE; `provenance` is given by `bundlectl eval` (a measured run), else it is attached.

    `check_report` is the runner's own check of the parsed report (that this run wrote it). Without `store`
    the report is bound and checked but nothing is stored (`drift` without --apply).
    """

    now = now or now_utc()
    if kind is not None and kind not in KINDS:
        raise UsageProblem(f"unknown evidence kind {kind!r}", f"use one of: {', '.join(KINDS)}")
    report = import_report(data, label, fmt)
    if kind is not None and kind != report.kind:
        raise UsageProblem(f"{label} is a {report.kind} report ({report.source}), not {kind}", "leave --kind out, or give a report of that kind")
    if report.run_at > now + CLOCK_SKEW:
        raise InvalidInput(
            [Problem(label, f"claims its run happened in the future ({rfc3339(report.run_at)})")], "check the clock of the machine that ran it"
        )
    if check_report is not None:
        check_report(report)
    record = bundle.record()
    read = component_reader(storage, record)
    binding = bind_report(report, record, read, label)
    if store:  # what counts as evidence; drift's re-run only compares with an earlier run of the same suite
        check_shows_every_prompt(report, record, read, label)
    key = report_key(data)
    event_data = evidence_data(
        {"name": bundle.name, "version": bundle.version, "digest": bundle.digest}, record, report, binding, key, label, provenance
    )
    run_id = event_data["provenance"].get("run_id")

    def plan(index: Index) -> Planned | None:
        # a record of this bundle made before reports were bound (no case matching) is bound again, as a new record
        earlier = [e for e in index.evidence_bound_as(key, run_id) if not (e.digest == bundle.digest and _unbound(e))]
        if any(e.digest == bundle.digest and e.report_key == key for e in earlier):
            return None
        if earlier:
            first = earlier[0]
            what = "this report" if first.report_key == key else f"this run ({run_id})"
            raise Refused(
                f"{label}: {what} is already bound to {first.name}@{first.version} ({first.digest[:19]}…) "
                f"as evidence seq {first.seq}; one run is evidence for one bundle, and nothing was stored",
                f"run the suite on {bundle.name}@{bundle.version} itself: `bundlectl eval {bundle.name}@{bundle.version}`",
            )
        return Planned("evidence", event_data)

    provenance_mode = event_data["provenance"].get("mode", "attached")
    # what is returned when nothing is stored: `store=False` (drift's re-run), or the same report already bound
    unstored = EvidenceAdded(
        bundle,
        report.kind,
        report.source,
        event_data["run_at"],
        event_data["figures"],
        False,
        None,
        provenance_mode,
        binding.cases,
        binding.report,
    )
    if not store:
        return unstored
    index = index_at_head(storage)
    first_plan = plan(index)
    if first_plan is None:
        return unstored
    signing(index, first_plan, actor)  # an act the keys may not sign is refused before the report is stored
    storage.put_object(key, data)
    checkpoint(OBJECTS_STORED)
    event = append(storage, plan, actor, reason)
    return EvidenceAdded(
        bundle,
        report.kind,
        report.source,
        event_data["run_at"],
        event_data["figures"],
        event is not None,
        event.seq if event else None,
        provenance_mode,
        binding.cases,
        binding.report,
    )


def _unbound(row: EvidenceRow) -> bool:
    """An eval record written before reports were matched case by case (it never counts until bound again)."""
    return row.kind == "eval" and row.binding.get("cases") is None


def component_reader(storage: Storage, record: BundleRecord) -> Callable[[str], bytes]:
    """Reads the bundle's stored files by path (each at most once), digests checked."""

    digests = {p: f.digest for c in record.components.values() for p, f in c.files.items()}
    read: dict[str, bytes] = {}

    def reader(path: str) -> bytes:
        if path not in read:
            read[path] = read_blob(storage, digests[path], f"{record.ref}:{path}")
        return read[path]

    return reader
