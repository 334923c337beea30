"""McNemar's exact test for paired pass/fail outcomes: a binomial test on the discordant pairs, in integers."""

from __future__ import annotations

from typing import NamedTuple


class Paired(NamedTuple):
    regressed: int  # passed on live, fails on the candidate
    fixed: int  # failed on live, passes on the candidate
    p_value: float  # two-sided; 1.0 when no case changed

    @property
    def discordant(self) -> int:
        return self.regressed + self.fixed


def mcnemar_exact(regressed: int, fixed: int) -> Paired:
    """Two-sided exact p: twice the smaller binomial tail of Bin(regressed + fixed, 1/2), capped at 1.

    The tail is summed as exact integers (each term from the last, so 10,000 pairs cost microseconds) and
    divided once, so no float underflow or rounding accumulates."""
    if regressed < 0 or fixed < 0:
        raise ValueError("counts of discordant pairs cannot be negative")
    n = regressed + fixed
    if n == 0:
        return Paired(regressed, fixed, 1.0)
    smaller = min(regressed, fixed)
    term, tail = 1, 1  # C(n, 0)
    for k in range(smaller):
        term = term * (n - k) // (k + 1)
        tail += term
    return Paired(regressed, fixed, min(1.0, (2 * tail) / (1 << n)))
