"""McNemar's exact test against the binomial tail summed by brute force in exact fractions."""

from fractions import Fraction
from math import comb

import pytest

from bundlectl.report.stats import mcnemar_exact


def brute_force(regressed: int, fixed: int) -> float:
    n = regressed + fixed
    if n == 0:
        return 1.0
    tail = sum(Fraction(comb(n, k), 2**n) for k in range(min(regressed, fixed) + 1))
    return float(min(Fraction(1), 2 * tail))


@pytest.mark.parametrize("regressed", range(0, 13))
@pytest.mark.parametrize("fixed", range(0, 13))
def test_the_p_value_is_the_exact_two_sided_binomial_tail(regressed: int, fixed: int) -> None:
    assert mcnemar_exact(regressed, fixed).p_value == brute_force(regressed, fixed)
    assert mcnemar_exact(regressed, fixed).p_value == mcnemar_exact(fixed, regressed).p_value


def test_known_values_and_what_they_say() -> None:
    assert mcnemar_exact(5, 1).p_value == 0.21875  # 2 × (1 + 6) / 64
    assert mcnemar_exact(10, 0).p_value == 2 / 1024
    assert mcnemar_exact(0, 0).p_value == 1.0  # nothing changed: no evidence of anything
    # "54/66 vs 55/66": one case more failing, from three regressions and two fixes, is noise
    assert mcnemar_exact(3, 2).p_value == 1.0


def test_ten_thousand_pairs_are_exact_without_underflow() -> None:
    assert mcnemar_exact(600, 400).p_value == brute_force(600, 400)
    tiny = mcnemar_exact(5000, 0).p_value  # 2 / 2**5000 underflows to 0.0 as a float, and says so exactly
    assert tiny == 0.0 and mcnemar_exact(5000, 5000).p_value == 1.0


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        mcnemar_exact(-1, 3)
