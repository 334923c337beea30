"""The evidence record a bound report gives: built once when it is stored, and again by `verify`.

Everything in the record that is not what bundlectl itself measured of a run (the command, its exit
status, start and end, the host, the executable) is derived from the stored raw report and the bundle:
the kind, source and run time, the figures, how the cases were matched, the run id and the tool, the
time the report states and whether the command was the bundle's declared harness. `verify` builds
the record again from the stored bytes, and any field that disagrees was edited.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bundlectl.bundle.record import BundleRecord
from bundlectl.errors import BundlectlError
from bundlectl.evidence.binding import Binding, Reader, bind_report
from bundlectl.evidence.importers import import_report
from bundlectl.evidence.provenance import RUN, attached
from bundlectl.evidence.report import Report, figures, run_identity
from bundlectl.foundation.clock import parse_time, rfc3339
from bundlectl.registry.events import EvidenceData, Provenance

WINDOW_SLACK = timedelta(seconds=2)  # report times and bundlectl's come from one clock; this covers rounding only
# what bundlectl measured of a run; everything else in a record is derived from the report and the bundle
MEASURED = ("mode", "command", "exit_status", "started_at", "ended_at", "host", "tool_version", "executable", "executable_sha256")
_BOUND = ("name", "version", "digest")


def declared_harness(record: BundleRecord) -> list[str] | None:
    """The command the bundle's evals component declares runs its suite (`evals: {harness: [...]}`)."""
    harness = record.components["evals"].fields.get("harness")
    return list(harness) if isinstance(harness, list) else None


def outside_run(moment: datetime, started: datetime, ended: datetime) -> bool:
    """Whether a report's own run time falls outside the run bundlectl measured (so the run did not write it)."""
    return not started - WINDOW_SLACK <= moment <= ended + WINDOW_SLACK


def evidence_data(
    bound: dict[str, str], record: BundleRecord, report: Report, binding: Binding, key: str, label: str, measured: Provenance | None
) -> EvidenceData:
    """The record that binds REPORT to the bundle `bound` names; `measured` is what `bundlectl eval` measured."""
    provenance = Provenance(**(measured or attached()))
    run_id = run_identity(report)
    if run_id:
        provenance["run_id"] = run_id
    if report.tool:
        provenance["tool"] = report.tool
    run_at = rfc3339(report.run_at)
    if provenance.get("mode") == RUN:
        provenance["report_time"] = run_at
        provenance["harness"] = provenance.get("command") == declared_harness(record)
        run_at = provenance["started_at"]  # freshness of a run is what bundlectl measured, not the file's claim
    data = EvidenceData(
        name=bound["name"],
        version=bound["version"],
        digest=bound["digest"],
        evals_digest=record.components["evals"].digest if report.kind == "eval" else None,
        kind=report.kind,
        source=report.source,
        run_at=run_at,
        figures=binding.figures,
        report_key=key,
        file=Path(label).name,
        provenance=provenance,
        prompt_rule=True,
    )
    if binding.cases is not None:
        data["cases"] = binding.cases
    return data


def summary_tampering(
    data: bytes, evidence: EvidenceData, record: BundleRecord, read: Reader, legacy_allowed: bool, parsed: Report | None = None
) -> str | None:
    """How a stored record disagrees with the one its stored raw report gives (for `verify`); None when they agree.
    `parsed` is DATA already imported (the caller reads it again), so it is parsed once.

    Records written before reports proved themselves carry no provenance. They never count for an eval
    gate; they are bound all the same when their report still binds (else their plain figures are
    compared). Once the log holds records with provenance, bundlectl writes no other kind
    (`legacy_allowed` is False), so a later one was appended by hand."""

    label = evidence["file"]
    legacy = "provenance" not in evidence
    if legacy and not legacy_allowed:
        return (
            "it has no provenance, but bundlectl has written provenance with every record since earlier records in this log: it was appended by hand"
        )
    try:
        report = parsed if parsed is not None else import_report(data, label, evidence["source"])
    except BundlectlError as exc:
        return f"its stored report {label} no longer gives a summary ({exc.message.splitlines()[0]})"
    try:
        bindings = [bind_report(report, record, read, label)]
    except BundlectlError as exc:
        if not legacy:
            return f"its stored report {label} no longer binds to {record.ref} ({exc.message.splitlines()[0]})"
        bindings = []
    if legacy:  # an old record's figures were the report's own, computed before reports were bound
        bindings.append(Binding(report, None, figures(report)))
    stored_provenance = evidence.get("provenance") or {}
    run = stored_provenance.get("mode") == RUN
    measured = Provenance(**{k: v for k, v in stored_provenance.items() if k in MEASURED})  # type: ignore[typeddict-item]
    problem = None
    for binding in bindings:
        derived = evidence_data(
            {k: evidence[k] for k in _BOUND},  # type: ignore[literal-required]
            record,
            report,
            binding,
            evidence["report_key"],
            label,
            measured if run else None,
        )
        if legacy:
            del derived["provenance"]
            derived.pop("cases", None)
        problem = _difference(dict(evidence), dict(derived), label)
        if problem is None:
            return _outside_measured_run(stored_provenance) if run else None
    return problem


def _difference(stored: dict[str, Any], derived: dict[str, Any], label: str) -> str | None:
    stored_provenance, derived_provenance = dict(stored.pop("provenance", {})), dict(derived.pop("provenance", {}))
    if "run_id" not in stored_provenance and derived_provenance.get("run_id", "").startswith(("junit-", "native-")):
        derived_provenance.pop("run_id")  # recorded before runs without an id of their own were given one
    if "harness" not in stored_provenance and derived_provenance.get("harness") is False:
        derived_provenance.pop("harness")  # recorded before bundles declared a harness
    if "prompt_rule" not in stored:
        derived.pop("prompt_rule")  # recorded before writers refused reports that never show a prompt file
    for key in sorted(set(stored) | set(derived)):
        if key == "figures" and isinstance(stored.get(key), dict) and isinstance(derived.get(key), dict):
            for name in sorted(set(stored[key]) | set(derived[key])):
                if stored[key].get(name) != derived[key].get(name):
                    return (
                        f"the summary says {name} = {stored[key].get(name)!r}, but its stored report {label} gives "
                        f"{derived[key].get(name)!r}: the summary was edited"
                    )
        elif stored.get(key) != derived.get(key):
            return _edited(key, stored.get(key), derived.get(key), label)
    for key in sorted(set(stored_provenance) | set(derived_provenance)):
        if stored_provenance.get(key) != derived_provenance.get(key):
            return _edited(f"provenance.{key}", stored_provenance.get(key), derived_provenance.get(key), label)
    return None


def _edited(key: str, stored: Any, derived: Any, label: str) -> str:
    what = {"run_at": "run time", "cases": "case matching"}.get(key, key)
    return f"the record says {key} = {stored!r}, but its stored report {label} gives {derived!r}: the {what} was edited"


def _outside_measured_run(provenance: Provenance) -> str | None:
    try:
        stated, started, ended = (parse_time(provenance[k]) for k in ("report_time", "started_at", "ended_at"))
    except (KeyError, ValueError):
        return "its run provenance lacks the times bundlectl measured (started_at, ended_at)"
    if outside_run(stated, started, ended):
        return (
            f"its report says it ran at {provenance['report_time']}, outside the run bundlectl measured "
            f"({provenance['started_at']} to {provenance['ended_at']}): the run times were edited"
        )
    return None
