"""Non-inferiority: how much worse than live a candidate may be, per metric, before a step may not pass on it.

"No regression found" is not evidence of no regression: a step advances when, for every metric judged, the
always-valid interval (at level `beta`) rules out a regression larger than the metric's margin. The owner states
margins (`--margin METRIC=VALUE`, or `metadata.outcome.margin` and `margins` in the manifest); the defaults are
2 percentage points for a rate, 10% of live's mean for a measurement, and 3 points of share for the tail test.
"""

from __future__ import annotations

from collections.abc import Mapping

RATE_MARGIN = 0.02  # a rate (ok, escalated, …): 2 percentage points
RELATIVE_MARGIN = 0.10  # a measurement (latency, cost, …): 10% of live's mean
TAIL_MARGIN = 0.03  # the share of requests above live's p95: 3 points (5% → 8%)
BETA = 0.10  # the chance that a step advances a candidate worse than live by a margin, split over its metrics
MAX_SAMPLE = 20_000  # per arm: after it (and the step's time), a step advances on "no regression" alone


def margin_for(name: str, rate: bool, live_mean: float, margins: Mapping[str, float], tail: bool = False) -> float:
    """The owner's margin for the metric, else its default."""
    if name in margins:
        return margins[name]
    if tail:
        return TAIL_MARGIN
    return RATE_MARGIN if rate else RELATIVE_MARGIN * abs(live_mean)


def harm(better: str, low: float, high: float) -> float:
    """How much worse than live the candidate may be, at worst, by an interval on candidate − live."""
    return high if better == "lower" else -low
