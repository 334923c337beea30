"""McNemar's exact test of paired pass/fail outcomes: did the cases that flipped flip one way more than chance allows?"""

from __future__ import annotations

from fractions import Fraction


def mcnemar_exact(broke: int, fixed: int) -> float:
    """Two-sided exact p-value for `broke` cases passing → failing and `fixed` failing → passing.

    Under no change each discordant pair flips either way with probability ½, so the smaller count is
    Binomial(n, ½); the p-value doubles its tail (capped at 1). Computed in integers: exact for any n.
    """
    if broke < 0 or fixed < 0:
        raise ValueError("counts of flipped cases are never negative")
    n = broke + fixed
    if n == 0:
        return 1.0
    tail, term = 0, 1  # term = comb(n, k), stepped exactly: comb() anew for each k costs k times more at large n
    for k in range(min(broke, fixed) + 1):
        tail += term
        term = term * (n - k) // (k + 1)
    return float(min(Fraction(1), Fraction(2 * tail, 2**n)))
