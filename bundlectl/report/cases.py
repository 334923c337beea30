"""Case by case against live: the candidate's eval run paired with live's on the same cases, per slice.

Cases are read from the stored raw reports and matched to each bundle's suite by the same binding
`evidence add` and `verify` use, so a case here is exactly a case the gate counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bundlectl.bundle.record import BundleRecord
from bundlectl.evidence.add import component_reader
from bundlectl.evidence.binding import bind_report
from bundlectl.evidence.importers import import_report
from bundlectl.evidence.report import DEFAULT_SLICE, CaseResult
from bundlectl.registry.rows import EvidenceRow
from bundlectl.report.case_cache import cached_cases
from bundlectl.report.stats import mcnemar_exact
from bundlectl.storage.base import Storage

ALL = "all cases"


@dataclass(frozen=True)
class SliceComparison:
    slice: str
    paired: int
    live_passed: int
    candidate_passed: int
    regressed: list[str]
    fixed: list[str]
    still_failing: list[str]
    p_value: float  # McNemar exact, two-sided

    @property
    def reading(self) -> str:
        """How a reviewer should read the difference: noise, or a change the pairs show."""
        if not self.regressed and not self.fixed:
            return "no case changed"
        direction = (
            "worse" if len(self.regressed) > len(self.fixed) else "better" if len(self.fixed) > len(self.regressed) else "as many fixed as regressed"
        )
        significant = self.p_value < 0.05
        return f"{direction}: {'significant' if significant else 'within noise'} (p = {self.p_value:.3g})"

    def to_json(self) -> dict[str, Any]:
        return {
            "slice": self.slice,
            "paired": self.paired,
            "live_passed": self.live_passed,
            "candidate_passed": self.candidate_passed,
            "regressed": self.regressed,
            "fixed": self.fixed,
            "still_failing": self.still_failing,
            "p_value": self.p_value,
            "reading": self.reading,
        }


@dataclass(frozen=True)
class CaseComparison:
    candidate_seq: int
    live_seq: int
    slices: list[SliceComparison]  # ALL first, then each slice by name
    only_candidate: list[str] = field(default_factory=list)  # cases live's run did not have (a changed suite)
    only_live: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "candidate_evidence": self.candidate_seq,
            "live_evidence": self.live_seq,
            "slices": [s.to_json() for s in self.slices],
            "only_candidate": self.only_candidate,
            "only_live": self.only_live,
        }


def stored_cases(storage: Storage, row: EvidenceRow, record: BundleRecord) -> list[CaseResult]:
    """The cases of a stored eval report, matched to the bundle's suite as when it was bound (cached once bound)."""

    def bind() -> list[CaseResult]:
        label = f"the {row.kind} report of log record {row.seq}"
        report = import_report(storage.get_object(row.report_key), label, row.source)
        return bind_report(report, record, component_reader(storage, record), label).report.cases

    return cached_cases(row.report_key, record.digest, bind)


def _key(case: CaseResult) -> str:
    return case.id if case.variant == 0 else f"{case.id} [prompt {case.variant}]"


def compare_cases(candidate: list[CaseResult], live: list[CaseResult], candidate_seq: int, live_seq: int) -> CaseComparison:
    ours = {_key(c): c for c in candidate}
    theirs = {_key(c): c for c in live}
    both = [k for k in ours if k in theirs]
    groups: dict[str, list[str]] = {ALL: both}
    for key in both:
        groups.setdefault(ours[key].slice or theirs[key].slice or DEFAULT_SLICE, []).append(key)
    slices = []
    for name in [ALL, *sorted(n for n in groups if n != ALL)]:
        keys = groups[name]
        regressed = sorted(k for k in keys if theirs[k].passed and not ours[k].passed)
        fixed = sorted(k for k in keys if not theirs[k].passed and ours[k].passed)
        failing = sorted(k for k in keys if not theirs[k].passed and not ours[k].passed)
        slices.append(
            SliceComparison(
                name,
                len(keys),
                sum(theirs[k].passed for k in keys),
                sum(ours[k].passed for k in keys),
                regressed,
                fixed,
                failing,
                mcnemar_exact(len(regressed), len(fixed)).p_value,
            )
        )
    return CaseComparison(candidate_seq, live_seq, slices, sorted(set(ours) - set(theirs)), sorted(set(theirs) - set(ours)))
