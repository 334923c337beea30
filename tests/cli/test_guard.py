"""`bundlectl guard` on traffic through the real runtime: no verdict before the minimum sample, a regression rolled
back with --apply, an equal candidate advanced step by step to completion, SRM caught, the owner's tolerance held."""

import json
import random
import re

import pytest

from tests.conftest import V1, V2, Workspace
from tests.guard.simulate import Traffic, serve
from tests.helpers import promote

ENV = ("support-triage", "--env", "staging")


@pytest.fixture
def served(v1_live: Workspace, runtimes, tmp_path):
    """V1 live in staging and a runtime writing its request log; `served.log` is the log's path."""
    runtime = runtimes(v1_live, follow=False, request_log=tmp_path / "requests.jsonl")
    runtime.log = str(tmp_path / "requests.jsonl")
    return runtime


def guard(ws: Workspace, log: str, *extra: str) -> tuple[int, dict]:
    result = ws.run("guard", *ENV, "--source", log, "--min-sample", "400", "--json", *extra)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def start_canary(ws: Workspace, percent: str, *extra: str) -> int:
    result = ws.run("promote", V2, "--env", "staging", "--canary", percent, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["seq"]


def test_an_escalation_regression_is_held_until_the_minimum_sample_then_rolled_back(v1_live: Workspace, served):
    rng = random.Random(15)
    start_canary(v1_live, "50", "--step-time", "0m")
    served.refresh()
    regression = Traffic(escalated=0.14)
    serve(served, 300, rng, regression)
    code, early = guard(v1_live, served.log)
    assert (code, early["decision"]) == (0, "hold")
    assert early["reason"].startswith("waiting for the minimum sample: ")
    assert {m["verdict"] for m in early["metrics"]} == {"pending"}

    serve(served, 3700, rng, regression)
    code, verdict = guard(v1_live, served.log)
    assert (code, verdict["decision"]) == (1, "rollback")
    assert verdict["samples"]["live"] + verdict["samples"]["candidate"] == 4000
    escalated = next(m for m in verdict["metrics"] if m["name"] == "escalated")
    assert escalated["verdict"] == "regression" and escalated["interval"][0] > 0 and escalated["better"] == "lower"
    assert set(verdict) >= {"decision", "samples", "metrics", "reason"}
    assert set(escalated) >= {"name", "live", "candidate", "interval", "verdict"}
    assert v1_live.json("status")["environments"][0]["canary"] is not None  # without --apply nothing changes

    applied = v1_live.run("guard", *ENV, "--source", served.log, "--min-sample", "400", "--apply", "--actor", "guard@example.com")
    assert applied.exit_code == 1
    assert "ROLLBACK: regression: escalated: candidate 1" in applied.output and "applied: canary-rollback (event" in applied.output
    row = v1_live.json("status")["environments"][0]
    assert row["canary"] is None and row["version"] == "2026.11.01-1"
    event = v1_live.json("history", *ENV)["events"][0]
    assert event["action"] == "canary-rollback" and event["actor"] == "guard@example.com"
    assert event["reason"].startswith("guard: regression: escalated")
    assert event["guard"]["decision"] == "rollback" and event["guard"]["source"] == served.log
    assert "canary-rollback 0% (guard)" in v1_live.run("history", *ENV).output
    assert served.refresh() is True and served.current(key="req-anyone").arm == "live"
    assert v1_live.run("verify").exit_code == 0


def test_an_equal_candidate_advances_step_by_step_to_complete(v1_live: Workspace, served):
    rng = random.Random(16)
    start_canary(v1_live, "20", "--steps", "20,50,100", "--step-time", "0m")
    decisions = []
    for _ in range(4):
        served.refresh()
        serve(served, 2500, rng, Traffic())
        # --max-sample 400: a step that lasted its time (0m) advances on "no regression" past 400 requests per arm, unproven
        result = v1_live.run("guard", *ENV, "--source", served.log, "--min-sample", "400", "--max-sample", "400", "--apply", "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        decisions.append((report["decision"], report["step"]["percent"] if report["step"] else None))
        if report["decision"] == "complete":
            break
    assert decisions == [("advance", 20), ("complete", 50)]
    history = v1_live.json("history", *ENV)["events"]
    assert [(e["action"], e.get("percent")) for e in history[:3]] == [("promote", None), ("canary-advance", 50), ("canary", 20)]
    assert history[0]["canary_completed"] == history[1]["seq"] and history[0]["guard"]["decision"] == "complete"
    row = v1_live.json("status")["environments"][0]
    assert row["version"] == "2026.11.22-1" and row["canary"] is None
    assert served.refresh() and served.current(key="x").version == "2026.11.22-1"
    assert v1_live.run("verify").exit_code == 0


def test_each_step_is_judged_on_its_own_requests(v1_live: Workspace, served):
    rng = random.Random(17)
    start_canary(v1_live, "20", "--steps", "20,50,100", "--step-time", "0m")
    served.refresh()
    serve(served, 2500, rng, Traffic())
    assert v1_live.run("guard", *ENV, "--source", served.log, "--min-sample", "400", "--max-sample", "400", "--apply").exit_code == 0
    served.refresh()
    serve(served, 200, rng, Traffic())
    _, report = guard(v1_live, served.log)  # the new step has 200 requests of its own, not 2,700
    assert report["decision"] == "hold" and sum(report["samples"].values()) == 200
    assert report["step"]["steps_judged"] == 2  # 20% and 50%: alpha is shared by the canary's two judged steps


def test_a_sample_ratio_mismatch_is_caught_and_rolled_back(v1_live: Workspace, served):
    rng = random.Random(18)
    start_canary(v1_live, "50", "--step-time", "0m")
    served.refresh()
    serve(served, 3000, rng, Traffic(), lose_candidate=0.3)  # the candidate's outcomes go missing
    # the stamps say routing was fine (half and half) and a third of the candidate's requests have no outcome
    code, report = guard(v1_live, served.log)
    assert (code, report["decision"]) == (1, "rollback")
    recorded = re.match(
        r"recording mismatch: an outcome was recorded for ([0-9.]+)% of the candidate's served requests vs 100.0% of live's", report["reason"]
    )
    assert recorded and 60 < float(recorded[1]) < 80, report["reason"]  # 30% of its outcomes were lost
    assert report["served"]["mismatch"] is True and report["sample_ratio"]["mismatch"] is False
    # without the stamps (a log of outcomes only), the arms' recorded requests are what the ratio test has
    unstamped = served.log + ".outcomes"
    with open(served.log) as log, open(unstamped, "w") as kept:
        kept.writelines(line for line in log if '"outcome"' in line)
    code, report = guard(v1_live, unstamped)
    assert (code, report["decision"]) == (1, "rollback") and report["served"] is None
    assert report["reason"].startswith("sample ratio mismatch: the candidate served ")
    assert report["sample_ratio"]["mismatch"] is True and report["sample_ratio"]["expected"] == [0.5, 0.5]


def test_without_a_canary_the_live_bundle_outside_its_owners_tolerance_is_rolled_back(v1_live: Workspace, served):
    rng = random.Random(19)
    promote(v1_live, V2, "staging")
    served.refresh()
    serve(served, 1500, rng, Traffic(), live=Traffic(correct_route=0.93))
    code, healthy = guard(v1_live, served.log)
    assert (code, healthy["decision"], healthy["mode"]) == (0, "hold", "outcome")
    assert healthy["metrics"][0]["verdict"] == "within" and healthy["samples"] == {"live": 1500}

    served_log = served.log + ".decayed"
    decayed = type(served)("support-triage", "staging", cwd=v1_live.root, request_log=served_log, follow=False)
    serve(decayed, 1500, rng, Traffic(), live=Traffic(correct_route=0.82))
    decayed.close()
    code, report = guard(v1_live, served_log, "--apply")
    assert (code, report["decision"]) == (1, "rollback")
    figure = report["metrics"][0]
    assert figure["name"] == "correct_route_rate" and figure["verdict"] == "regression" and figure["threshold"] == 0.9
    assert report["applied"]["action"] == "rollback"
    row = v1_live.json("status")["environments"][0]
    assert row["version"] == "2026.11.01-1"
    event = v1_live.json("history", *ENV)["events"][0]
    assert event["action"] == "rollback" and event["guard"]["mode"] == "outcome"
    assert "rollback (guard)" in v1_live.run("history", *ENV).output
    assert v1_live.run("verify").exit_code == 0


def test_bad_sources_are_refused_with_the_reason_and_nothing_is_written(v1_live: Workspace, tmp_path):
    refs = v1_live.bundlectl_refs()
    neither = v1_live.run("guard", *ENV)
    assert neither.exit_code == 2 and "either as --source FILE… or as --prometheus URL" in neither.output
    missing = v1_live.run("guard", *ENV, "--source", str(tmp_path / "nope.jsonl"))
    assert missing.exit_code == 1 and "nope.jsonl: cannot be read" in missing.stderr
    broken = tmp_path / "broken.jsonl"
    digest = v1_live.json("show", V1)["digest"]
    broken.write_text(
        json.dumps({"bundle.name": "support-triage", "bundle.env": "staging", "bundle.digest": digest})
        + "\n"
        + json.dumps({"bundle.name": "support-triage", "bundle.env": "staging", "bundle.digest": digest, "outcome": {"ok": "yes"}})
        + "\n"
    )
    bad = v1_live.run("guard", *ENV, "--source", str(broken), "--apply")
    assert bad.exit_code == 1 and f"{broken}:2: is not an outcome record bundlectl can read" in bad.stderr
    nowhere = v1_live.run("guard", "support-triage", "--env", "production", "--source", str(broken))
    assert nowhere.exit_code == 4 and "nothing of support-triage is live in production" in nowhere.stderr
    down = v1_live.run("guard", *ENV, "--prometheus", "http://127.0.0.1:9", "--timeout", "2")
    assert down.exit_code == 4 and "cannot query Prometheus at http://127.0.0.1:9" in down.stderr
    assert v1_live.bundlectl_refs() == refs
    assert "Traceback" not in neither.output + missing.output + bad.output + nowhere.output + down.output


def test_records_claiming_an_arm_another_bundle_served_are_refused_and_nothing_is_written(v1_live: Workspace, served):
    """A log edited (or mis-written) so that the live bundle's requests count as the candidate's: refused, no decision."""
    rng = random.Random(20)
    step = start_canary(v1_live, "50", "--step-time", "0m")
    served.refresh()
    serve(served, 1000, rng, Traffic())
    live_digest = v1_live.json("show", V1)["digest"]
    forged = {
        "bundle.name": "support-triage",
        "bundle.env": "staging",
        "bundle.digest": live_digest,
        "bundle.canary": step,
        "bundle.arm": "candidate",
        "outcome": {"ok": True, "escalated": False},
    }
    shadow = {**forged, "bundle.arm": "shadow"}
    refs = v1_live.bundlectl_refs()
    for extra, expected in [
        (forged, f"requests of the canary step's candidate arm name the bundle {live_digest}, but its candidate bundle is sha256:"),
        (shadow, "requests of the canary step carry the arm 'shadow', which is neither 'live' nor 'candidate'"),
    ]:
        log = served.log + f".{extra['bundle.arm']}"
        with open(served.log) as original, open(log, "w") as copy:
            copy.write(original.read() + json.dumps(extra) + "\n")
        result = v1_live.run("guard", *ENV, "--source", log, "--min-sample", "400", "--apply", "--actor", "guard@example.com")
        assert result.exit_code == 1 and expected in result.stderr and "no decision was made" in result.stderr
        assert "Traceback" not in result.output
    assert v1_live.bundlectl_refs() == refs
    assert v1_live.json("status")["environments"][0]["canary"]["percent"] == 50


def _meanwhile(monkeypatch, act):
    """Run `act` while the guard reads its figures: the registry moves between the guard's judgement and its --apply."""
    from bundlectl.guard import request_log
    from bundlectl.workflows import guard as guard_workflow

    tally = request_log.tally_request_logs
    state = {}

    def reading(*args, **kwargs):
        if not state:
            act()
            state["done"] = True
        return tally(*args, **kwargs)

    monkeypatch.setattr(request_log, "tally_request_logs", reading)
    monkeypatch.setattr(guard_workflow, "tally_request_logs", reading)  # the name the guard calls, once it is imported


@pytest.mark.parametrize("act", ["pause", "end", "complete"])
def test_a_guard_applying_after_someone_else_moved_the_canary_is_a_conflict(v1_live: Workspace, served, monkeypatch, act):
    from bundlectl import api

    rng = random.Random(21)
    start_canary(v1_live, "20", "--steps", "20,50,100", "--step-time", "0m")
    served.refresh()
    serve(served, 2500, rng, Traffic())  # healthy: the guard decides "advance"
    acts = {
        "pause": lambda: api.pause("support-triage", "staging", act=api.Act(reason="incident")),
        "end": lambda: api.rollback("support-triage", "staging", act=api.Act(reason="by hand")),
        "complete": lambda: api.promote(V2, "staging", act=api.Act(reason="by hand")),
    }
    _meanwhile(monkeypatch, acts[act])
    count = v1_live.event_count()
    result = v1_live.run("guard", *ENV, "--source", served.log, "--min-sample", "400", "--max-sample", "400", "--apply")
    assert result.exit_code == 3, result.output  # not 1: that would say "rolled back" to cron
    assert "nothing was changed" in result.stderr and "ADVANCE" in result.stdout
    assert v1_live.event_count() == count + 1  # the other act only


@pytest.mark.parametrize("act", ["canary", "promote"])
def test_a_guard_rolling_back_after_someone_else_moved_the_environment_is_a_conflict(v1_live: Workspace, served, monkeypatch, act):
    from bundlectl import api

    rng = random.Random(22)
    served_log = served.log
    serve(served, 1500, rng, Traffic(), live=Traffic(correct_route=0.80))  # V1 outside its owner's tolerance
    acts = {
        "canary": lambda: api.canary(V2, "staging", percent=10, act=api.Act(reason="try v2")),
        "promote": lambda: api.promote(V2, "staging", act=api.Act(reason="by hand")),
    }
    _meanwhile(monkeypatch, acts[act])
    count = v1_live.event_count()
    result = v1_live.run("guard", *ENV, "--source", served_log, "--min-sample", "400", "--apply")
    assert result.exit_code == 3, result.output
    assert "nothing was changed" in result.stderr and "ROLLBACK" in result.stdout
    assert v1_live.event_count() == count + 1


def test_requests_served_without_a_routing_key_stay_out_of_the_canary_comparison(v1_live: Workspace, served):
    """`current()` without a key serves the live bundle; such requests were not randomised, so counting them in the
    live arm skewed the sample ratio (a false rollback of a healthy candidate) and mixed other traffic into the arm."""
    rng = random.Random(23)
    start_canary(v1_live, "50", "--step-time", "0m")
    served.refresh()
    serve(served, 2000, rng, Traffic())
    for number in range(1500):  # a batch job, a health check: no user, no key
        bundle = served.current()
        assert bundle.arm == "live" and "bundle.canary" not in served.stamp(f"batch-{number}", bundle=bundle)
        served.record(f"batch-{number}", bundle=bundle, **Traffic().outcome(rng))
    code, report = guard(v1_live, served.log, "--max-sample", "400")
    assert (code, report["decision"]) == (0, "complete"), report["reason"]
    assert sum(report["samples"].values()) == 2000 and sum(report["sample_ratio"]["counts"]) == 2000  # stamps too


def test_extreme_alpha_and_timeout_are_judged_or_refused_never_a_crash(v1_live: Workspace, served):
    rng = random.Random(24)
    start_canary(v1_live, "50", "--step-time", "0m")
    served.refresh()
    serve(served, 1200, rng, Traffic(escalated=0.3))
    code, report = guard(v1_live, served.log, "--alpha", "1e-200")  # α² underflowed to 0: ZeroDivisionError, exit 70
    escalated = next(m for m in report["metrics"] if m["name"] == "escalated")
    assert report["alpha"] == 1e-200 and escalated["verdict"] == "inconclusive"  # a wide interval, not a crash
    assert escalated["interval"][0] < 0 < escalated["interval"][1]
    for timeout in ("inf", "1e12", "0", "-1", "nan"):
        result = v1_live.run("guard", *ENV, "--prometheus", "http://127.0.0.1:9", "--timeout", timeout)
        assert result.exit_code == 2 and f"--timeout {float(timeout)} must be a number of seconds above 0" in result.stderr
        assert "Traceback" not in result.output


def test_a_candidate_that_turns_its_owners_metric_upside_down_is_judged_the_way_live_declares_it(v1_live: Workspace, served):
    """A candidate's manifest saying `better: lower` for the metric live declares higher must not turn a drop in it
    into an improvement: during a canary, the direction of the bundle already live stands."""
    import shutil

    from tests.helpers import add, promptfoo_report

    folder = v1_live.root / "bundles" / "support-triage-v3"
    shutil.copytree(v1_live.root / "bundles" / "support-triage-v2", folder)
    manifest = folder / "bundle.yaml"
    text = manifest.read_text().replace("version: 2026.11.22-1", "version: 2026.11.23-1")
    manifest.write_text(text.replace("tolerance: 0.02}", "tolerance: 0.02, better: lower}"))
    assert v1_live.run("register", str(folder)).exit_code == 0
    add(v1_live, "support-triage@2026.11.23-1", promptfoo_report(v1_live, "v2"))
    result = v1_live.run("promote", "support-triage@2026.11.23-1", "--env", "staging", "--canary", "50", "--step-time", "0m")
    assert result.exit_code == 0, result.output
    served.refresh()
    serve(served, 4000, random.Random(23), Traffic(correct_route=0.70), live=Traffic(correct_route=0.93))
    code, report = guard(v1_live, served.log)
    route = next(m for m in report["metrics"] if m["name"] == "correct_route_rate")
    assert (route["better"], route["verdict"]) == ("higher", "regression")
    assert (code, report["decision"]) == (1, "rollback") and "regression: correct_route_rate" in report["reason"]
