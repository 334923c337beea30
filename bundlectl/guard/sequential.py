"""Always-valid confidence intervals: the mixture sequential probability ratio test (mSPRT), normal mixing distribution.

Johari, Koomen, Pekelis and Walsh, "Always Valid Inference: Continuous Monitoring of A/B Tests", Operations
Research 70(3), 2022 (arXiv:1512.04922). For an estimate D ~ N(θ, v) of a difference of means, mixing the
likelihood ratio over θ ~ N(θ0, τ²) gives

    Λ(θ0) = sqrt(v / (v + τ²)) · exp(τ² (D − θ0)² / (2 v (v + τ²))),

a nonnegative martingale when θ = θ0, so by Ville's inequality P(Λ ever reaches 1/α) ≤ α. The θ0 it never
rejects form the interval

    D ± sqrt(v (v + τ²) / τ² · log((v + τ²) / (v α²))),

which covers θ at every look at once: the guard may run every minute. v is estimated from the data (the
plug-in of Johari et al. §4; with ρ² = τ²/σ² this is the normal-mixture asymptotic confidence sequence of
Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas, "Time-uniform central limit theory and asymptotic
confidence sequences", Annals of Statistics, 2024), so the guarantee holds as samples grow; the minimum
sample per arm is where the guard starts to believe it. τ² is the one that makes the interval narrowest
when the smaller arm reaches that minimum (the tuning of Howard, Ramdas, McAuliffe and Sekhon,
"Time-uniform, nonparametric, nonasymptotic confidence sequences", Annals of Statistics 49(2), 2021).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

from bundlectl.guard.exact import RESOLUTION
from bundlectl.guard.moments import Moments


class Interval(NamedTuple):
    estimate: float
    low: float
    high: float

    def to_json(self) -> list[float]:
        return [self.low, self.high]


@lru_cache(maxsize=64)
def mixing_ratio(alpha: float) -> float:
    """τ²/v at the target sample that minimises the half-width there: argmin over x of (1 + 1/x)·log((1 + x)/α²)."""

    def width(y: float) -> float:
        x = math.exp(y)
        return (1 + 1 / x) * (math.log1p(x) - 2 * math.log(alpha))  # in logs: α² underflows for a tiny alpha

    low, high = math.log(1e-3), math.log(1e6)  # golden-section search over log x: the function is unimodal there
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(80):
        a, b = high - ratio * (high - low), low + ratio * (high - low)
        if width(a) < width(b):
            high = b
        else:
            low = a
    return math.exp((low + high) / 2)


def half_width(v: float, tau2: float, alpha: float) -> float:
    """The mSPRT interval's half-width for an estimate of variance v (0 when there is no spread at all)."""
    if v <= 0 or tau2 <= 0:
        return 0.0
    return math.sqrt(v * (v + tau2) / tau2 * (math.log1p(tau2 / v) - 2 * math.log(alpha)))


def difference(live: Moments, candidate: Moments, rate: bool, alpha: float, min_sample: int) -> Interval:
    """Candidate − live, valid at every look; both arms need at least one value.

    A difference below the figures' resolution (a billionth of the metric's size: float noise, as two arms that
    recorded the same constant show) is no difference, and the interval is never narrower than that resolution.
    """
    v = live.variance(rate) / live.n + candidate.variance(rate) / candidate.n
    tau2 = mixing_ratio(alpha) * v * min(live.n, candidate.n) / min_sample
    estimate = candidate.mean - live.mean
    resolution = RESOLUTION * max(abs(live.mean), abs(candidate.mean))
    if abs(estimate) <= resolution:
        estimate = 0.0
    width = half_width(v, tau2, alpha) + resolution
    return Interval(estimate, estimate - width, estimate + width)


def mean(sample: Moments, rate: bool, alpha: float, min_sample: int) -> Interval:
    """One arm's mean, valid at every look (the same mixture, for a single stream)."""
    v = sample.variance(rate) / sample.n
    tau2 = mixing_ratio(alpha) * v * sample.n / min_sample
    width = half_width(v, tau2, alpha) + RESOLUTION * abs(sample.mean)
    return Interval(sample.mean, sample.mean - width, sample.mean + width)
