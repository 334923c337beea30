"""Two runs of one suite, case by case: which cases flipped, and per slice and overall whether they flipped by chance."""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from bundlectl.errors import Refused
from bundlectl.evidence.report import DEFAULT_SLICE, CaseResult
from bundlectl.stats.mcnemar import mcnemar_exact


class Flip(NamedTuple):
    case: str
    variant: int
    slice: str
    passed_before: bool

    @property
    def direction(self) -> str:
        return "broke" if self.passed_before else "fixed"

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "variant": self.variant, "slice": self.slice, "direction": self.direction}


class Paired(NamedTuple):
    """One slice (or `overall`): how many cases both runs hold, how many broke and were fixed, and McNemar's p."""

    slice: str
    cases: int
    broke: int  # passed in the admitting run, failed now
    fixed: int  # failed then, passes now
    p_value: float

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


class Comparison(NamedTuple):
    overall: Paired
    slices: list[Paired]
    flips: list[Flip]

    def to_json(self) -> dict[str, Any]:
        return {"overall": self.overall.to_json(), "slices": [s.to_json() for s in self.slices], "flipped": [f.to_json() for f in self.flips]}


def compare_runs(before: list[CaseResult], after: list[CaseResult]) -> Comparison:
    """Pair the cases of two runs by (case, variant); Refused when the runs do not hold the same cases."""
    earlier = {(c.id, c.variant): c for c in before}
    later = {(c.id, c.variant): c for c in after}
    if set(earlier) != set(later):
        missing = sorted(set(earlier) ^ set(later))[:3]
        raise Refused(
            f"the two runs do not hold the same cases (e.g. {', '.join(c for c, _ in missing)}), so they cannot be compared case by case",
            "drift compares runs of one suite: the live bundle's own",
        )
    flips = [
        Flip(key[0], key[1], earlier[key].slice or DEFAULT_SLICE, earlier[key].passed)
        for key in sorted(earlier)
        if earlier[key].passed != later[key].passed
    ]
    sizes = Counter(c.slice or DEFAULT_SLICE for c in before)
    flipped: dict[str, list[Flip]] = {}
    for flip in flips:
        flipped.setdefault(flip.slice, []).append(flip)
    per_slice = [_paired(name, sizes[name], flipped.get(name, [])) for name in sorted(sizes)]
    return Comparison(_paired("overall", len(before), flips), per_slice, flips)


def _paired(name: str, cases: int, flips: list[Flip]) -> Paired:
    broke = sum(f.passed_before for f in flips)
    fixed = len(flips) - broke
    return Paired(name, cases, broke, fixed, mcnemar_exact(broke, fixed))
