"""Sufficient statistics of a stream of per-request values: count, sum and sum of squares, per arm and metric.

They are all a mean, a variance and the sequential tests need, they add up across files, processes and
Prometheus series, and they take one streaming pass to collect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple


class Moments(NamedTuple):
    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    def variance(self, rate: bool) -> float:
        """Per-request variance. A rate's is p(1-p) with p pulled towards ½ by half a success (so 0 of 1000 is not certainty)."""
        if self.n == 0:
            return math.nan
        if rate:
            p = (self.total + 0.5) / (self.n + 1)
            return p * (1 - p)
        if self.n < 2:
            return 0.0
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))

    def __add__(self, other: object) -> Moments:
        assert isinstance(other, Moments)
        return Moments(self.n + other.n, math.fsum((self.total, other.total)), math.fsum((self.squares, other.squares)))

    @property
    def finite(self) -> bool:
        return math.isfinite(self.total) and math.isfinite(self.squares)

    def possible(self, rate: bool) -> bool:
        """Could real values have these sums? A rate's values are 0 or 1 (so squares = sum ≤ count); any values'
        squares are at least sum²/count. Impossible sums (a forged or torn source) would give a variance of 0."""
        if self.n < 0 or not self.finite or self.squares < 0 or (self.n == 0 and (self.total or self.squares)):
            return False
        if rate:
            return 0 <= self.total <= self.n and math.isclose(self.squares, self.total, rel_tol=1e-9, abs_tol=1e-9)
        return self.n == 0 or self.squares * self.n >= self.total * self.total * (1 - 1e-9)


NONE = Moments(0, 0.0, 0.0)


@dataclass
class Arm:
    """What one arm served: its requests (each recorded outcome is one) and the moments of each metric recorded."""

    requests: int = 0
    metrics: dict[str, Moments] = field(default_factory=dict)
    served: int | None = None  # requests stamped as served by this arm (None: the source cannot tell, as Prometheus)

    def metric(self, name: str) -> Moments:
        return self.metrics.get(name, NONE)

    def add(self, other: Arm) -> None:
        self.requests += other.requests
        if other.served is not None:
            self.served = (self.served or 0) + other.served
        for name, moments in other.metrics.items():
            self.metrics[name] = self.metric(name) + moments


@dataclass
class Tally:
    """The arms of one judgement: "live" and, during a canary, "candidate"."""

    arms: dict[str, Arm] = field(default_factory=dict)
    source: str = ""  # where the figures came from, for the record
    digests: dict[str, set[str]] = field(default_factory=dict)  # per arm, the bundle digests its records name
    latencies: dict[str, list[float]] | None = None  # per arm, each latency in the order read (request logs only)

    def arm(self, name: str) -> Arm:
        return self.arms.get(name) or Arm()

    def samples(self) -> dict[str, int]:
        return {name: arm.requests for name, arm in sorted(self.arms.items())}
