"""The guard's decision on synthetic traffic: no verdict before the minimum sample, regressions rolled back,
an equal candidate moved on, A/A false rollbacks within alpha however often it looks, SRM, the owner's target."""

import random
from datetime import timedelta
from typing import Any

from bundlectl.guard.decision import Settings, Step, Target, judge_canary, judge_outcome, metrics_judged
from bundlectl.guard.moments import Moments
from tests.guard.simulate import OUTCOME, Accumulator, Traffic

SETTINGS = Settings(alpha=0.05, min_sample=500)
EARLY = Settings(alpha=0.05, min_sample=500, max_sample=1000)  # a step that lasted its time advances unproven at 1,000
METRICS = metrics_judged(OUTCOME)
SAME = Traffic()
DONE = Step(50, 100, timedelta(hours=2), timedelta(hours=1))


def traffic(rng: random.Random, requests: int, share: float, candidate: Traffic, live: Traffic = SAME) -> Accumulator:
    seen = Accumulator()
    for _ in range(requests):
        arm = "candidate" if rng.random() < share else "live"
        seen.add(arm, (candidate if arm == "candidate" else live).outcome(rng))
    return seen


def test_directions_are_explicit_per_metric():
    better = {m.name: m.better for m in METRICS}
    assert better == {
        "ok": "higher",
        "escalated": "lower",
        "schema_valid": "higher",
        "latency_ms": "lower",
        "cost_usd": "lower",
        "correct_route_rate": "higher",
    }
    lower = metrics_judged({"metric": "handle_time_s", "target": 60, "tolerance": 5, "better": "lower"})[-1]
    assert (lower.name, lower.better, lower.rate) == ("handle_time_s", "lower", False)


def test_no_verdict_before_the_minimum_sample_even_for_a_gross_regression():
    rng = random.Random(1)
    seen = traffic(rng, 800, 0.5, Traffic(escalated=0.5))
    judgement = judge_canary(seen.tally(), METRICS, DONE, SETTINGS)
    assert judgement.decision == "hold"
    assert judgement.reason.startswith("waiting for the minimum sample: ")
    assert {m.verdict for m in judgement.metrics} == {"pending"}
    assert all(m["interval"] is None for m in judgement.to_json()["metrics"])


def test_an_escalation_regression_from_8_to_14_percent_is_rolled_back():
    rng = random.Random(2)
    judgement = judge_canary(traffic(rng, 4000, 0.5, Traffic(escalated=0.14)).tally(), METRICS, DONE, SETTINGS)
    assert judgement.decision == "rollback" and judgement.exit_code == 1
    escalated = next(m for m in judgement.to_json()["metrics"] if m["name"] == "escalated")
    assert escalated["verdict"] == "regression" and escalated["interval"][0] > 0
    assert 0.12 < escalated["candidate"] < 0.16 and 0.06 < escalated["live"] < 0.10
    assert judgement.reason.startswith("regression: escalated: candidate 1")


def test_a_forty_percent_slower_candidate_is_rolled_back_on_latency():
    rng = random.Random(3)
    judgement = judge_canary(traffic(rng, 4000, 0.5, Traffic(latency_factor=1.4)).tally(), METRICS, DONE, SETTINGS)
    assert judgement.decision == "rollback"
    assert [m.metric.name for m in judgement.metrics if m.verdict == "regression"] == ["latency_ms"]


def test_an_equal_candidate_holds_for_the_step_time_then_advances_then_completes():
    rng = random.Random(4)
    seen = traffic(rng, 3000, 0.5, Traffic()).tally()
    early = judge_canary(seen, METRICS, Step(50, 100, timedelta(minutes=20), timedelta(hours=1)), SETTINGS)
    assert early.decision == "hold" and "the 50% step has 40m00s of its 1h00m left" in early.reason
    # 1,500 requests an arm do not yet rule out escalations 2 points worse (the default margin for a rate)
    unproven = judge_canary(seen, METRICS, Step(50, 75, timedelta(hours=1), timedelta(hours=1)), SETTINGS)
    assert unproven.decision == "hold", unproven.reason
    assert unproven.reason.startswith("no regression, but not yet shown to be within its margins: escalated could be +")
    assert "(margin +2.00 pts)" in unproven.reason and "or for 20000 requests per arm" in unproven.reason
    escalated = next(m for m in unproven.to_json()["metrics"] if m["name"] == "escalated")
    assert escalated["margin"] == 0.02 and escalated["worst"] > 0.02 and escalated["non_inferior"] is False
    # margins the owner states, wide enough for what was measured: within them, the step advances
    wide = Settings(alpha=0.05, min_sample=500, margins={"escalated": 0.06, "schema_valid": 0.06, "correct_route_rate": 0.06})
    step = judge_canary(seen, METRICS, Step(50, 75, timedelta(hours=1), timedelta(hours=1)), wide)
    assert step.decision == "advance", step.reason
    assert step.reason == "no regression after 1h00m at 50%, every metric within its margin: advance to 75%"
    later = judge_canary(seen, METRICS, Step(50, None, timedelta(hours=1), timedelta(hours=1)), wide)
    assert later.decision == "complete" and later.exit_code == 0
    # or, unproven, once the step lasted its time and each arm has the maximum sample
    enough = judge_canary(seen, METRICS, Step(50, 75, timedelta(hours=1), timedelta(hours=1)), EARLY)
    assert enough.decision == "advance" and "and 1000 requests per arm (not shown within its margins: escalated" in enough.reason


def test_false_rollbacks_over_200_a_a_runs_stay_within_alpha_however_often_the_guard_looks():
    """Each run peeks every 250 requests up to 6,000 (24 looks); any rollback in a run counts as a false one."""
    rng = random.Random(20261122)
    false = 0
    for _ in range(200):
        seen = Accumulator()
        for i in range(1, 6001):
            arm = "candidate" if rng.random() < 0.5 else "live"
            seen.add(arm, Traffic().outcome(rng))
            if i % 250 == 0 and judge_canary(seen.tally(), METRICS, DONE, SETTINGS).decision == "rollback":
                false += 1
                break
    rate = false / 200
    print(f"A/A false-rollback rate: {rate:.3f} over 200 runs of 24 looks (alpha {SETTINGS.alpha})")
    assert rate <= SETTINGS.alpha


def test_a_sample_ratio_mismatch_is_a_rollback_whatever_the_metrics_say():
    rng = random.Random(6)
    seen = traffic(rng, 3000, 0.5, Traffic())
    # the candidate was asked to get 50% but lost a third of its requests before they were recorded
    seen.arms["candidate"][0] = seen.arms["candidate"][0] * 2 // 3
    judgement = judge_canary(seen.tally(), METRICS, DONE, SETTINGS)
    assert judgement.decision == "rollback"
    assert judgement.reason.startswith("sample ratio mismatch: the candidate served 40.")
    assert "not 50%" in judgement.reason and judgement.to_json()["sample_ratio"]["mismatch"] is True


def test_without_a_canary_the_live_bundle_is_held_to_its_owners_tolerance():
    target = Target.from_outcome(OUTCOME)
    rng = random.Random(8)
    healthy, decayed = Accumulator(), Accumulator()
    for _ in range(3000):
        healthy.add("live", Traffic(correct_route=0.93).outcome(rng))
        decayed.add("live", Traffic(correct_route=0.84).outcome(rng))
    fine = judge_outcome(healthy.tally(), target, SETTINGS)
    assert fine.decision == "hold" and fine.reason.startswith("within its owner's tolerance: correct_route_rate: live 0.9")
    bad = judge_outcome(decayed.tally(), target, SETTINGS)
    assert bad.decision == "rollback" and bad.mode == "outcome"
    figure = bad.to_json()["metrics"][0]
    assert figure["name"] == "correct_route_rate" and figure["verdict"] == "regression" and figure["threshold"] == 0.9
    assert figure["interval"][1] < 0.9 and figure["candidate"] is None
    assert "below the floor 0.92 − 0.02" in bad.reason
    few = Accumulator()
    few.add("live", Traffic(correct_route=0.0).outcome(rng))
    assert judge_outcome(few.tally(), target, SETTINGS).decision == "hold"  # one bad request decides nothing
    assert judge_outcome(decayed.tally(), None, SETTINGS).reason.startswith("the live bundle declares no metadata.outcome")


def _recording(rng: random.Random, candidate_keeps: Any, requests: int = 3000) -> Accumulator:
    """Equal arms, but the candidate's outcome passes through `candidate_keeps` (which may drop metrics)."""
    seen = Accumulator()
    for _ in range(requests):
        arm = "candidate" if rng.random() < 0.5 else "live"
        outcome = Traffic().outcome(rng)
        seen.add(arm, candidate_keeps(outcome) if arm == "candidate" else outcome)
    return seen


def test_a_candidate_that_records_latency_only_when_fast_is_rolled_back_not_judged_faster():
    """Its slowest 10% time out unrecorded: on the survivors it looks faster, so the share recorded must match."""
    rng = random.Random(9)

    def drops_slow(outcome: dict[str, Any]) -> dict[str, Any]:
        if outcome["latency_ms"] > 1250:  # about the slowest 10% of the log-normal
            del outcome["latency_ms"]
        return outcome

    judgement = judge_canary(_recording(rng, drops_slow).tally(), METRICS, DONE, SETTINGS)
    assert judgement.decision == "rollback", judgement.reason
    assert judgement.reason.startswith("recording mismatch: latency_ms recorded for 9")
    assert "of the candidate's requests vs 100.0% of live's" in judgement.reason
    latency = next(m for m in judgement.to_json()["metrics"] if m["name"] == "latency_ms")
    assert latency["recorded"]["mismatch"] is True and latency["recorded"]["interval"][1] < 0
    assert latency["verdict"] == "improvement"  # what the survivors alone would have said
    assert next(m for m in judgement.to_json()["metrics"] if m["name"] == "ok")["recorded"]["mismatch"] is False


def test_a_failing_candidate_that_records_no_latency_on_errors_is_named_for_its_regression_first():
    rng = random.Random(12)

    def errors_untimed(outcome: dict[str, Any]) -> dict[str, Any]:
        if rng.random() < 0.15:
            outcome.update(ok=False)
            del outcome["latency_ms"]  # the error path never reached the timer
        return outcome

    judgement = judge_canary(_recording(rng, errors_untimed).tally(), METRICS, DONE, SETTINGS)
    assert judgement.decision == "rollback"
    assert judgement.reason.startswith("regression: ok: candidate 8"), judgement.reason
    assert "; recording mismatch: latency_ms recorded for 8" in judgement.reason


def test_a_candidate_that_stops_recording_a_metric_is_rolled_back_and_one_that_adds_a_metric_is_not():
    rng = random.Random(11)

    def mostly_silent(outcome: dict[str, Any]) -> dict[str, Any]:
        if rng.random() < 0.95:
            del outcome["escalated"]  # 5% of the candidate's requests say whether they escalated
        return outcome

    for step in (DONE, Step(50, None, timedelta(hours=2), timedelta(hours=1))):
        judgement = judge_canary(_recording(rng, mostly_silent).tally(), METRICS, step, SETTINGS)
        assert judgement.decision == "rollback", judgement.reason
        assert judgement.reason.startswith("recording mismatch: escalated recorded for 5.")
    # before both arms reach the minimum, nothing is decided on it either
    assert judge_canary(_recording(rng, mostly_silent, 600).tally(), METRICS, DONE, SETTINGS).decision == "hold"

    def without_route(outcome: dict[str, Any]) -> dict[str, Any]:
        del outcome["correct_route_rate"]
        return outcome

    # live has no correct_route_rate (an older build) and the candidate records it: new, not lost
    seen = Accumulator()
    for _ in range(3000):
        arm = "candidate" if rng.random() < 0.5 else "live"
        outcome = Traffic().outcome(rng)
        seen.add(arm, outcome if arm == "candidate" else without_route(outcome))
    added = judge_canary(seen.tally(), METRICS, DONE, EARLY)
    assert added.decision == "advance", added.reason
    assert next(m for m in added.metrics if m.metric.name == "correct_route_rate").recorded is None
    # a metric neither arm records (nobody measures it) does not hold the canary forever
    quiet = Accumulator()
    for _ in range(3000):
        arm = "candidate" if rng.random() < 0.5 else "live"
        quiet.add(arm, without_route(Traffic().outcome(rng)))
    assert judge_canary(quiet.tally(), METRICS, DONE, EARLY).decision == "advance"


def test_alpha_is_shared_by_the_steps_of_a_canary_so_its_false_rollbacks_over_all_steps_stay_within_it():
    """Each step is judged on fresh requests; a canary of three judged steps gets three looks at alpha, not one each."""
    from bundlectl.guard import sequential

    rng = random.Random(10)
    seen = traffic(rng, 4000, 0.5, Traffic()).tally()
    one = judge_canary(seen, METRICS, DONE, SETTINGS)
    three = judge_canary(seen, METRICS, Step(50, 100, timedelta(hours=2), timedelta(hours=1), steps_judged=3), SETTINGS)
    latency = [next(m for m in j.metrics if m.metric.name == "latency_ms") for j in (one, three)]
    tests = 2 * len(METRICS) + 1  # each metric's values and its recording share, and the sample ratio
    for figure, steps in zip(latency, (1, 3), strict=True):
        expected = sequential.difference(figure.live, figure.candidate, False, SETTINGS.alpha / steps / tests, SETTINGS.min_sample)
        assert figure.interval == expected
    assert latency[1].interval.high - latency[1].interval.low > latency[0].interval.high - latency[0].interval.low
    assert three.to_json()["step"]["steps_judged"] == 3 and three.to_json()["alpha"] == SETTINGS.alpha


def test_a_metric_counted_on_a_few_more_requests_than_its_arm_has_is_not_a_recording_mismatch():
    """A Prometheus scrape reads a process's request counter, then its metric counters, while requests are recorded:
    latency's count runs one or two ahead of the arm's requests. Recorded on every request in both arms, it must not
    look like a different share (a share above 100% has a negative variance: the interval shrank to a point)."""
    seen = traffic(random.Random(21), 3000, 0.5, Traffic())
    for ahead in (1, 2, 5):
        tally = seen.tally()
        latency = tally.arms["live"].metrics["latency_ms"]
        tally.arms["live"].metrics["latency_ms"] = Moments(latency.n + ahead, latency.total + 700 * ahead, latency.squares + 700**2 * ahead)
        judgement = judge_canary(tally, METRICS, DONE, EARLY)
        assert judgement.decision == "advance", judgement.reason
        recorded = next(m for m in judgement.metrics if m.metric.name == "latency_ms").recorded
        assert recorded is not None and recorded.live.mean == 1.0 and not recorded.mismatch
