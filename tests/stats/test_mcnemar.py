"""McNemar's exact test, checked against binomial tails worked out by hand."""

from __future__ import annotations

import pytest

from bundlectl.stats.mcnemar import mcnemar_exact


def test_no_flips_or_balanced_flips_are_no_evidence():
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(1, 0) == 1.0  # one flip: 2 × ½ = 1


def test_known_tails():
    assert mcnemar_exact(5, 0) == pytest.approx(2 / 32)  # 2 × (½)^5
    assert mcnemar_exact(0, 5) == mcnemar_exact(5, 0)  # two-sided: symmetric
    assert mcnemar_exact(8, 2) == pytest.approx(2 * (1 + 10 + 45) / 1024)
    assert mcnemar_exact(12, 0) == pytest.approx(2 / 4096)


def test_large_counts_stay_exact_and_finite():
    assert 0 < mcnemar_exact(2000, 1000) < 1e-70
    assert mcnemar_exact(1500, 1500) == 1.0


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="never negative"):
        mcnemar_exact(-1, 2)
