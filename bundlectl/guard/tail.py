"""The tail test: is the candidate's p95 latency worse than live's? A sequential test on the share of requests above
live's p95, valid however often the guard looks.

A quantile has no sufficient statistics to add up, but a share does. The threshold is fixed once per step, from
the first `burn_in` latencies live recorded in it (their p95); from then on every request is a coin flip, "above
the threshold or not", in both arms. Live's later requests land above it about 5% of the time; a candidate whose
p95 is worse lands there more often. The two shares are compared with the same always-valid interval as a rate
(`sequential.difference`), on requests the threshold did not come from, so the test is exact given the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bundlectl.foundation.outcomes import CANDIDATE, LATENCY_MS, LIVE
from bundlectl.guard.moments import Moments

QUANTILE = 0.95
TAIL = f"{LATENCY_MS}:p95"  # the metric's name in the guard's figures


@dataclass(frozen=True)
class Exceedance:
    threshold: float  # live's p95, from the step's first `burn_in` live latencies
    live: Moments  # live's later requests: n, and how many were above the threshold (a rate)
    candidate: Moments  # every candidate request of the step


def exceedance(latencies: dict[str, list[float]], burn_in: int, quantile: float = QUANTILE) -> Exceedance | None:
    """The shares above live's p95, once live has recorded `burn_in` latencies in the step; None before."""
    live = latencies.get(LIVE, [])
    if len(live) < burn_in:
        return None
    threshold = _quantile(sorted(live[:burn_in]), quantile)
    later, candidate = live[burn_in:], latencies.get(CANDIDATE, [])
    above_live, above_candidate = sum(map(threshold.__lt__, later)), sum(map(threshold.__lt__, candidate))  # C-level
    return Exceedance(threshold, Moments(len(later), above_live, above_live), Moments(len(candidate), above_candidate, above_candidate))


def _quantile(ordered: Sequence[float], quantile: float) -> float:
    """The smallest value with at least `quantile` of the values at or below it."""
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]
