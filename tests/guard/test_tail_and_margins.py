"""The tail test (the share of requests above live's p95) and the margins a step must be shown within."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from pydantic import ValidationError

from bundlectl.bundle.manifest.models import Outcome
from bundlectl.guard.decision import Settings, Step, declared_margins, judge_canary, metrics_judged
from bundlectl.guard.moments import Arm, Moments, Tally
from bundlectl.guard.tail import TAIL, exceedance
from tests.guard.simulate import OUTCOME

METRICS = metrics_judged(OUTCOME)
DONE = Step(50, 75, timedelta(hours=2), timedelta(hours=1))


def latencies(rng: random.Random, n: int, stretch_tail: float = 1.0) -> list[float]:
    """Log-normal latencies; `stretch_tail` multiplies the slowest 10% (above about 1,240 ms)."""
    values = [rng.lognormvariate(6.55, 0.45) for _ in range(n)]
    return [v * stretch_tail if v > 1240 else v for v in values]


def tally(live: list[float], candidate: list[float]) -> Tally:
    def arm(values: list[float]) -> Arm:
        return Arm(len(values), {"latency_ms": Moments(len(values), sum(values), sum(v * v for v in values))}, len(values))

    return Tally({"live": arm(live), "candidate": arm(candidate)}, latencies={"live": live, "candidate": candidate})


def test_the_threshold_comes_from_lives_first_requests_and_the_shares_from_the_rest() -> None:
    shares = exceedance({"live": [float(v) for v in range(1, 101)] + [96.0, 10.0], "candidate": [95.0, 95.5, 200.0]}, 100)
    assert shares is not None and shares.threshold == 95.0  # at least 95% of the first 100 at or below it
    assert (shares.live.n, shares.live.total) == (2, 1) and (shares.candidate.n, shares.candidate.total) == (3, 2)
    assert exceedance({"live": [1.0] * 99}, 100) is None  # not yet: the threshold needs the burn-in


def test_a_candidate_slower_only_in_its_tail_is_rolled_back_on_p95() -> None:
    rng = random.Random(41)
    slow = judge_canary(tally(latencies(rng, 4000), latencies(rng, 4000, stretch_tail=1.6)), METRICS, DONE, Settings(min_sample=1000))
    tail = next(f for f in slow.metrics if f.metric.name == TAIL)
    assert tail.verdict == "regression" and slow.decision == "rollback"
    assert tail.threshold is not None and 1150 < tail.threshold < 1550  # live's p95, in ms
    assert 0.04 < tail.live.mean < 0.06 and tail.candidate is not None and tail.candidate.mean > 0.08
    assert "latency_ms:p95: candidate " in slow.reason
    same = judge_canary(tally(latencies(rng, 4000), latencies(rng, 4000)), METRICS, DONE, Settings(min_sample=1000))
    assert next(f for f in same.metrics if f.metric.name == TAIL).verdict == "inconclusive"


def test_margins_come_from_the_manifest_and_are_checked_there() -> None:
    outcome = Outcome.model_validate({"metric": "correct_route_rate", "target": 0.92, "margin": 0.01, "margins": {"latency_ms": 50, TAIL: 0.05}})
    document = outcome.model_dump(mode="json", exclude_defaults=True)
    assert declared_margins(document) == {"correct_route_rate": 0.01, "latency_ms": 50.0, TAIL: 0.05}
    assert declared_margins(None) == {} and declared_margins(OUTCOME) == {}
    for bad in ({"margin": -0.01}, {"margins": {"latency_ms": -1}}, {"margin": float("inf")}):
        with pytest.raises(ValidationError):
            Outcome.model_validate({"metric": "m", "target": 1, **bad})
    # an equal step advances once shown within its margins; one too narrow for what was measured holds it
    rng = random.Random(42)
    even = tally(latencies(rng, 3000), latencies(rng, 3000))
    narrow = judge_canary(even, METRICS, DONE, Settings(min_sample=1000, margins={TAIL: 0.001}))
    assert narrow.decision == "hold" and "latency_ms:p95 could be +" in narrow.reason
    wide = judge_canary(even, METRICS, DONE, Settings(min_sample=1000, margins={TAIL: 0.2, "latency_ms": 300}))
    assert wide.decision == "advance", wide.reason
