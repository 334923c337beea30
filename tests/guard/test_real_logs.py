"""The guard's verdicts on real request logs, through the real runtime: a constant metric is never a regression,
failures that never reach `record()` are caught from the stamps, a worse candidate does not advance however often
the guard looks, and a routing secret keeps the registry's readers from steering requests between the arms."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import pytest

from bundlectl.guard import request_log
from bundlectl.guard.request_log import tally_request_logs
from bundlectl.runtime.routing import routes_to_candidate, routing_bucket
from bundlectl.runtime.tallies import OutcomeTallies
from tests.conftest import V1, V2, Workspace
from tests.guard.simulate import Traffic, serve

ENV = ("support-triage", "--env", "staging")


@pytest.fixture
def live(git_registered: Workspace) -> Workspace:
    """V1 live in staging, V2 registered with passing evidence (git only: the backend is not what is tested here)."""
    from tests.helpers import add, promote, promptfoo_report, set_policy

    set_policy(git_registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(git_registered, V1, promptfoo_report(git_registered, "v1"))
    add(git_registered, V2, promptfoo_report(git_registered, "v2"))
    promote(git_registered, V1, "staging")
    return git_registered


@pytest.fixture
def served(live: Workspace, runtimes: Any, tmp_path: Any) -> Any:
    runtime = runtimes(live, follow=False, request_log=tmp_path / "requests.jsonl")
    runtime.log = str(tmp_path / "requests.jsonl")
    return runtime


def start_canary(ws: Workspace, runtime: Any, percent: str, *extra: str) -> None:
    result = ws.run("promote", V2, "--env", "staging", "--canary", percent, "--json", *extra)
    assert result.exit_code == 0, result.output
    runtime.refresh()


def guard(ws: Workspace, log: str, *extra: str) -> tuple[int, dict[str, Any]]:
    result = ws.run("guard", *ENV, "--source", log, "--json", *extra)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def figure(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(m for m in report["metrics"] if m["name"] == name)


def test_a_constant_cost_in_both_arms_is_never_a_regression_at_any_sample_size(live: Workspace, served: Any, runtimes: Any, tmp_path: Any) -> None:
    """A fixed price per call: 0.002 on every request of both arms, served by three processes, each with its own
    request log. Float sums once made the arms' means an ulp apart with a zero-width interval: a "regression"."""
    rng = random.Random(33)  # on main: a "regression" at 5,000 requests
    start_canary(live, served, "50", "--step-time", "0m")
    processes = [served] + [runtimes(live, follow=False, request_log=tmp_path / f"requests-{i}.jsonl") for i in (1, 2)]
    for process in processes[1:]:
        process.refresh()
    logs = [served.log] + [str(tmp_path / f"requests-{i}.jsonl") for i in (1, 2)]
    fixed = Traffic(cost=0.002)
    done = 0
    for size in (1000, 5000, 22500, 40000):
        while done < size:
            serve(rng.choice(processes), 100, rng, fixed, live=fixed)
            done += 100
        code, report = guard(live, logs[0], "--source", logs[1], "--source", logs[2], "--min-sample", "400")
        assert code == 0 and report["decision"] != "rollback", (size, report["reason"])
        cost = figure(report, "cost_usd")
        assert cost["live"] == cost["candidate"] == 0.002 and cost["verdict"] == "inconclusive"
        assert cost["interval"][0] < 0 < cost["interval"][1] and cost["interval"][1] < 1e-11
        assert cost["non_inferior"] is True and cost["margin"] == pytest.approx(0.0002)  # 10% of live's mean


def test_sums_are_exact_whatever_the_batches_and_in_the_runtimes_counters(tmp_path: Any, monkeypatch: Any) -> None:
    stamp = {
        "bundle.name": "support-triage",
        "bundle.env": "production",
        "bundle.digest": "sha256:" + "1" * 64,
        "bundle.canary": 7,
        "bundle.arm": "live",
    }
    path = tmp_path / "log.jsonl"
    path.write_text(
        "".join(json.dumps({**stamp, "request.id": f"r{i}", "outcome": {"cost_usd": 0.002, "latency_ms": 0.1}}) + "\n" for i in range(3001))
    )
    exact = (math.fsum([0.002] * 3001), math.fsum([0.1] * 3001))
    for batch in (200, 4096, 4 * 1024 * 1024):
        monkeypatch.setattr(request_log, "_BATCH_BYTES", batch)
        arm = tally_request_logs([path], "support-triage", "production", canary=7).arm("live")
        assert (arm.metric("cost_usd").total, arm.metric("latency_ms").total) == exact
        assert arm.metric("cost_usd").mean == 0.002 and arm.served is None  # no stamps in this log
    assert sum([0.1] * 3001) != exact[1]  # what a float `+=` gives instead
    tallies = OutcomeTallies()
    series = ("support-triage", "production", "1", "sha256:" + "1" * 64, "live", "7")
    for _ in range(3001):
        tallies.add(series, {"cost_usd": 0.002, "latency_ms": 0.1, "ok": True})
    totals = {t.metric: t for _, t in tallies.totals()}
    assert (totals["cost_usd"].total, totals["latency_ms"].total, totals["ok"].total) == (*exact, 3001.0)
    assert totals["latency_ms"].n == 3001 and totals["latency_ms"].squares == math.fsum([0.1 * 0.1] * 3001)


def test_a_candidate_whose_failures_are_never_recorded_is_caught_by_6000_requests(live: Workspace, served: Any) -> None:
    """94% ok against live's 99%, and a failed request is stamped but its handler threw before record(): on the
    recorded requests alone both arms look 100% ok and the ratio test sees p = 0.18. The stamps say what was served."""
    rng = random.Random(32)
    start_canary(live, served, "50", "--step-time", "0m")
    serve(served, 6000, rng, Traffic(ok=0.94), live=Traffic(ok=0.99), failures_unrecorded=True)
    code, report = guard(live, served.log)  # the default minimum sample, 1,000 per arm
    assert (code, report["decision"]) == (1, "rollback"), report["reason"]
    assert report["reason"].startswith("recording mismatch: an outcome was recorded for 9")
    assert "of the candidate's served requests vs 9" in report["reason"]
    recorded = report["served"]
    assert recorded["mismatch"] is True and 0.92 < recorded["candidate"] < 0.96 and recorded["live"] > 0.98
    assert figure(report, "ok")["live"] == figure(report, "ok")["candidate"] == 1.0  # what the records alone say
    assert report["sample_ratio"]["mismatch"] is False  # routing was fine: the stamps are half and half
    assert sum(report["sample_ratio"]["counts"]) == 6000


def test_a_worse_candidate_does_not_advance_however_often_the_guard_looks(live: Workspace, served: Any) -> None:
    """Escalations 8% → 11% (worse than the 2-point margin), `--step-time 0m`, the guard every 500 requests with
    --apply: "no regression found yet" used to advance it at the first look past the minimum sample."""
    rng = random.Random(33)
    start_canary(live, served, "50", "--steps", "50,75,100", "--step-time", "0m")
    decisions = []
    for _ in range(12):
        serve(served, 500, rng, Traffic(escalated=0.11))
        result = live.run("guard", *ENV, "--source", served.log, "--min-sample", "400", "--apply", "--json")
        report = json.loads(result.stdout)
        decisions.append(report["decision"])
        if report["decision"] == "rollback":
            break
        if report["samples"]["candidate"] >= 400 and report["samples"]["live"] >= 400:
            assert "not yet shown to be within its margins: " in report["reason"] and "escalated could be +" in report["reason"]
    assert "advance" not in decisions and "complete" not in decisions, decisions
    canary = live.json("status")["environments"][0]["canary"]
    assert canary is None or canary["percent"] == 50


def test_margins_come_from_the_command_line_and_bad_ones_are_refused(live: Workspace, served: Any) -> None:
    rng = random.Random(34)
    start_canary(live, served, "50", "--step-time", "0m")
    serve(served, 2000, rng, Traffic())
    _, report = guard(live, served.log, "--min-sample", "400", "--margin", "escalated=0.2", "--margin", "latency_ms=500")
    assert figure(report, "escalated")["margin"] == 0.2 and figure(report, "latency_ms")["margin"] == 500
    assert figure(report, "ok")["margin"] == 0.02 and report["beta"] == 0.1 and report["max_sample"] == 20000
    refs = live.bundlectl_refs()
    for bad, said in [
        ("escalated=-1", "--margin escalated=-1.0: a margin is a finite number at least 0"),
        ("escalated=nan", "a margin is a finite number at least 0"),
        ("escalated", "--margin 'escalated' is not METRIC=VALUE"),
        ("=0.1", "names no metric"),
        # a typo would be ignored, and the step judged by the default margin instead of the one meant
        ("latency_ms:p99=0.01", "--margin latency_ms:p99: the guard judges no such metric here"),
    ]:
        result = live.run("guard", *ENV, "--source", served.log, "--margin", bad, "--apply")
        assert result.exit_code == 2 and said in result.output, result.output
    wrong = live.run("guard", *ENV, "--source", served.log, "--max-sample", "10", "--apply")
    assert wrong.exit_code == 2 and "--max-sample 10 at least --min-sample 1000" in wrong.output
    assert live.bundlectl_refs() == refs and "Traceback" not in wrong.output


def test_a_routing_secret_salts_the_hash_so_the_digest_alone_cannot_steer(live: Workspace, runtimes: Any, monkeypatch: Any) -> None:
    plain = runtimes(live, follow=False)
    start_canary(live, plain, "20", "--step-time", "0m")
    secret = "kept-out-of-the-registry"
    salted = runtimes(live, follow=False, routing_secret=secret)
    salted.refresh()
    digest = live.json("show", V2)["digest"]
    keys = [f"user-{i}" for i in range(4000)]
    # someone who reads the registry knows the candidate's digest, so the unsalted bucket of any key they pick
    chosen = [k for k in keys if routes_to_candidate(k, digest, 20)]
    assert 600 < len(chosen) < 1000
    assert all(plain.current(key=k).arm == "candidate" for k in chosen)  # without a secret: every one steered
    share = sum(salted.current(key=k).arm == "candidate" for k in chosen) / len(chosen)
    assert 0.15 < share < 0.25  # with it: the keys they chose land like any others
    # one function routes, whoever computes it; the same key always gets the same arm
    assert all((salted.current(key=k).arm == "candidate") == routes_to_candidate(k, digest, 20, secret.encode()) for k in keys)
    assert routing_bucket("user-1", digest, secret.encode()) != routing_bucket("user-1", digest)
    assert [salted.current(key=k).arm for k in keys[:50]] == [salted.current(key=k).arm for k in keys[:50]]
    # the environment's secret is the default, as every process of the service should share it
    monkeypatch.setenv("BUNDLECTL_ROUTING_SECRET", secret)
    from_env = runtimes(live, follow=False)
    from_env.refresh()
    assert [from_env.current(key=k).arm for k in keys] == [salted.current(key=k).arm for k in keys]
