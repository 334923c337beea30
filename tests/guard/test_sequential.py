"""The always-valid intervals: their width shrinks with data, they cover the truth at every look, and the SRM test."""

import math
import random

import pytest

from bundlectl.guard.moments import Moments
from bundlectl.guard.sequential import difference, half_width, mean, mixing_ratio
from bundlectl.guard.srm import ratio_check


def bernoulli(n: int, p: float, rng: random.Random) -> Moments:
    successes = sum(rng.random() < p for _ in range(n))
    return Moments(n, float(successes), float(successes))


def test_the_mixing_ratio_matches_howard_et_al_closed_form_approximation():
    for alpha in (0.05, 0.01, 0.001):
        approx = -2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)
        assert abs(mixing_ratio(alpha) - approx) / approx < 0.06


def test_the_interval_is_wider_than_a_fixed_sample_one_and_narrows_with_data():
    rng = random.Random(3)
    small, large = bernoulli(1000, 0.08, rng), bernoulli(1000, 0.08, rng)
    narrow = difference(small, large, True, 0.05, 1000)
    fixed = 1.96 * math.sqrt(small.variance(True) / 1000 + large.variance(True) / 1000)
    assert narrow.high - narrow.estimate > fixed  # the price of looking as often as one likes
    more = difference(bernoulli(20000, 0.08, rng), bernoulli(20000, 0.08, rng), True, 0.05, 1000)
    assert more.high - more.low < (narrow.high - narrow.low) / 3
    assert half_width(0.0, 1.0, 0.05) == 0.0  # no spread at all: the estimate is exact


def test_a_constant_difference_is_certain_and_a_constant_equality_is_not_a_regression():
    same = difference(Moments(10, 20.0, 40.0), Moments(10, 20.0, 40.0), False, 0.05, 10)
    assert same.estimate == 0.0 and same.low < 0 < same.high and same.high == pytest.approx(2e-9)  # 2 × 1e-9: resolution
    apart = difference(Moments(10, 20.0, 40.0), Moments(10, 30.0, 90.0), False, 0.05, 10)
    assert (apart.low, apart.high) == (pytest.approx(1.0), pytest.approx(1.0)) and apart.low > 0


def test_the_one_sample_interval_covers_the_mean_at_every_look():
    rng = random.Random(11)
    misses = 0
    for _ in range(200):
        n = successes = 0
        for _look in range(40):
            for _ in range(100):
                n += 1
                successes += rng.random() < 0.9
            interval = mean(Moments(n, float(successes), float(successes)), True, 0.05, 500)
            if n >= 500 and not interval.low <= 0.9 <= interval.high:
                misses += 1
                break
    assert misses / 200 <= 0.05, misses


def test_the_sample_ratio_test_accepts_the_asked_share_and_catches_a_broken_one():
    assert not ratio_check([9500, 500], [0.95, 0.05], 0.01).mismatch
    lost = ratio_check([9600, 400], [0.95, 0.05], 0.01)  # a fifth of the candidate's requests never recorded
    assert lost.mismatch and lost.p_value < 0.01
    assert ratio_check([1000, 0], [0.95, 0.05], 0.01).to_json()["observed"] == [1.0, 0.0]
    rng = random.Random(5)
    false = 0
    for _ in range(200):
        counts = [0, 0]
        for i in range(4000):
            counts[rng.random() < 0.25] += 1
            if i % 100 == 99 and ratio_check(counts, [0.75, 0.25], 0.05).mismatch:
                false += 1
                break
    assert false / 200 <= 0.05
