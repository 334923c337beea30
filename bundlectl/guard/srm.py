"""Sample ratio mismatch: did the arms get the share of requests the canary asked for?

A mismatch means routing or recording is broken (a server that drops the key, a candidate that loses
requests before they are recorded), so no comparison of the arms can be trusted. The test is the
Dirichlet-multinomial sequential test of Lindon and Malek, "Anytime-Valid Inference for Multinomial Count
Data", NeurIPS 2022 (arXiv:2011.03567): under the expected shares θ, the Bayes factor

    BF = [Γ(K) / Γ(K + n)] · Π Γ(Kθᵢ + xᵢ) / Γ(Kθᵢ)  ÷  Π θᵢ^xᵢ

of a Dirichlet(Kθ) alternative against θ is a nonnegative martingale, so rejecting when it reaches 1/α
keeps the error at α however often it is checked (Ville's inequality).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

CONCENTRATION = 100.0  # K: the prior is worth 100 requests centred on the expected shares; gross mismatches show fast


class RatioCheck(NamedTuple):
    counts: tuple[int, ...]
    expected: tuple[float, ...]
    log_bayes_factor: float
    alpha: float

    @property
    def p_value(self) -> float:
        """The always-valid p-value at this look: 1/BF, capped at 1."""
        return math.exp(-self.log_bayes_factor) if self.log_bayes_factor > 0 else 1.0

    @property
    def mismatch(self) -> bool:
        return self.log_bayes_factor >= math.log(1 / self.alpha)

    def observed(self) -> tuple[float, ...]:
        total = sum(self.counts)
        return tuple(c / total if total else math.nan for c in self.counts)

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": list(self.counts),
            "expected": list(self.expected),
            "observed": list(self.observed()),
            "p_value": self.p_value,
            "mismatch": self.mismatch,
        }


def ratio_check(counts: Sequence[int], expected: Sequence[float], alpha: float, concentration: float = CONCENTRATION) -> RatioCheck:
    """Test the counts against the expected shares (each in (0, 1), summing to 1)."""
    assert all(0 < p < 1 for p in expected) and abs(sum(expected) - 1) < 1e-9, expected
    n = sum(counts)
    log_bf = math.lgamma(concentration) - math.lgamma(concentration + n)
    for x, p in zip(counts, expected, strict=True):
        prior = concentration * p
        log_bf += math.lgamma(prior + x) - math.lgamma(prior) - x * math.log(p)
    return RatioCheck(tuple(counts), tuple(expected), log_bf, alpha)
