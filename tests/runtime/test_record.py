"""`Runtime.record`: the request's outcome beside its stamp in the request log, and as OpenTelemetry and Prometheus counters."""

import json
import math

import pytest

from bundlectl.errors import UsageProblem
from tests.conftest import Workspace


def test_the_outcome_lands_beside_the_stamp_in_the_request_log(v1_live: Workspace, runtimes, tmp_path):
    log = tmp_path / "requests.jsonl"
    runtime = runtimes(v1_live, request_log=log)
    bundle = runtime.current(key="user-1")
    runtime.stamp("req-1", bundle=bundle)
    line = runtime.record("req-1", bundle=bundle, ok=True, escalated=False, schema_valid=True, latency_ms=812, cost_usd=0.0021, correct_route_rate=1)
    runtime.record("req-2", ok=False, latency_ms=2400.5)  # what is not known is left out; the live bundle by default
    runtime.close()
    stamp, outcome, second = (json.loads(x) for x in log.read_text().splitlines())
    assert "outcome" not in stamp and stamp["request.id"] == "req-1"
    assert outcome == line
    assert {k: outcome[k] for k in ("request.id", "bundle.name", "bundle.version", "bundle.env", "bundle.arm")} == {
        "request.id": "req-1",
        "bundle.name": "support-triage",
        "bundle.version": "2026.11.01-1",
        "bundle.env": "staging",
        "bundle.arm": "live",
    }
    assert outcome["bundle.digest"] == stamp["bundle.digest"] and outcome["time"].endswith("Z")
    assert outcome["outcome"] == {
        "ok": True,
        "escalated": False,
        "schema_valid": True,
        "latency_ms": 812,
        "cost_usd": 0.0021,
        "correct_route_rate": 1,
    }
    assert second["outcome"] == {"ok": False, "latency_ms": 2400.5}


@pytest.mark.parametrize("bad", [{"latency_ms": math.nan}, {"latency_ms": "812ms"}, {"ok": None, "csat": [5]}, {"cost_usd": math.inf}])
def test_a_value_that_is_not_a_number_is_a_mistake_of_the_serving_code(v1_live: Workspace, runtimes, tmp_path, bad):
    log = tmp_path / "requests.jsonl"
    runtime = runtimes(v1_live, request_log=log, follow=False)
    with pytest.raises(UsageProblem) as err:
        runtime.record("req-1", **bad)
    assert "is not a bool or a finite number" in err.value.message
    runtime.close()
    assert log.read_text() == ""  # nothing half-recorded
    assert runtime.tallies.requests() == []


@pytest.mark.parametrize(
    "bad",
    [
        {"escalated": 5},
        {"ok": -1},
        {"latency_ms": -3.5},
        {"cost_usd": -0.01},
        {"latency_ms": 10**400},
        {"latency_ms": 1e200},
        {"latency_ms": 10**200},
    ],
)  # their squares are no float: every scrape failed
def test_a_value_the_guard_would_refuse_is_refused_when_recorded(v1_live: Workspace, runtimes, tmp_path, bad):
    """A rate that is not true/false, a negative latency or cost: the guard refuses such a log, so record() refuses it first."""
    log = tmp_path / "requests.jsonl"
    runtime = runtimes(v1_live, request_log=log, follow=False)
    with pytest.raises(UsageProblem) as err:
        runtime.record("req-1", **bad)
    name, value = next(iter(bad.items()))
    assert err.value.message in (
        f"record(): {name}={value!r} cannot be a recorded {name}",
        f"record(): {name}={value!r} is not a bool or a finite number",
    )
    runtime.record("req-2", escalated=1, ok=0, latency_ms=0)  # 1 and 0 are true and false
    runtime.close()
    assert [json.loads(line)["request.id"] for line in log.read_text().splitlines()] == ["req-2"]


def test_outcomes_are_opentelemetry_metrics_with_the_bundle_attributes(v1_live: Workspace, runtimes):
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    metrics._internal._METER_PROVIDER_SET_ONCE._done = False  # the global provider may be set once per process: reset it for this test
    metrics.set_meter_provider(provider)
    try:
        runtime = runtimes(v1_live, follow=False)
        for latency in (100, 300):
            runtime.record(None, ok=True, escalated=latency > 200, latency_ms=latency)
        points = {}
        for resource in reader.get_metrics_data().resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        points[(metric.name, point.attributes.get("metric"))] = (point.value, dict(point.attributes))
    finally:
        provider.shutdown()
    assert points[("bundlectl.requests", None)][0] == 2
    assert points[("bundlectl.outcome.count", "latency_ms")][0] == 2
    assert points[("bundlectl.outcome.sum", "latency_ms")][0] == 400
    assert points[("bundlectl.outcome.squares", "latency_ms")][0] == 100**2 + 300**2
    assert points[("bundlectl.outcome.sum", "escalated")][0] == 1
    attributes = points[("bundlectl.outcome.sum", "ok")][1]
    assert attributes["bundle.name"] == "support-triage" and attributes["bundle.env"] == "staging"
    assert attributes["bundle.version"] == "2026.11.01-1" and attributes["bundle.arm"] == "live"
    assert attributes["bundle.digest"].startswith("sha256:") and "bundle.canary" not in attributes


def test_outcomes_are_exposed_for_prometheus(v1_live: Workspace, runtimes):
    from prometheus_client import CollectorRegistry, generate_latest

    from bundlectl.runtime.prometheus import OutcomeCollector

    runtime = runtimes(v1_live, follow=False)
    registry = CollectorRegistry()
    registry.register(OutcomeCollector(runtime))
    runtime.record("req-1", ok=True, latency_ms=250, correct_route_rate=0)
    runtime.record("req-2", ok=False, latency_ms=750, correct_route_rate=1)
    from prometheus_client.parser import text_string_to_metric_families

    samples = {
        (s.name, s.labels.get("metric")): (s.value, s.labels)
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for s in family.samples
    }
    digest = runtime.current().digest
    assert samples[("bundlectl_requests_total", None)] == (
        2.0,
        {
            "bundle_name": "support-triage",
            "bundle_env": "staging",
            "bundle_version": "2026.11.01-1",
            "bundle_digest": digest,
            "bundle_arm": "live",
            "bundle_canary": "",
        },
    )
    assert samples[("bundlectl_outcome_sum_total", "latency_ms")][0] == 1000.0
    assert samples[("bundlectl_outcome_squares_total", "latency_ms")][0] == 625000.0
    assert samples[("bundlectl_outcome_count_total", "correct_route_rate")][0] == 2.0
    assert samples[("bundlectl_outcome_sum_total", "ok")][0] == 1.0


def test_a_prometheus_scrape_reads_requests_and_metric_counts_at_one_instant(v1_live: Workspace, runtimes):
    """A request recorded while a scrape is under way (between the requests family and the metric families) must not
    show in one but not the other: the guard reads a metric counted on more requests than there are as a torn source."""
    from bundlectl.runtime.prometheus import OutcomeCollector

    runtime = runtimes(v1_live, follow=False)
    collector = OutcomeCollector(runtime)
    runtime.record("req-1", ok=True, latency_ms=250)
    scrape = collector.collect()
    requests = next(scrape)
    runtime.record("req-2", ok=True, latency_ms=300)  # lands mid-scrape
    families = {family.name: family for family in scrape}
    counts = {s.labels["metric"]: s.value for s in families["bundlectl_outcome_count"].samples if s.name.endswith("_total")}
    assert [s.value for s in requests.samples if s.name.endswith("_total")] == [1.0]
    assert counts == {"ok": 1.0, "latency_ms": 1.0}


def test_a_request_log_path_that_is_a_symlink_is_a_usage_problem(v1_live: Workspace, runtimes, tmp_path):
    profile = tmp_path / "bashrc"
    profile.write_text("")
    log = tmp_path / "requests.jsonl"
    log.symlink_to(profile)  # planted in a shared log folder
    with pytest.raises(UsageProblem) as err:
        runtimes(v1_live, request_log=log, follow=False)
    assert "(it is a symlink, which is not followed)" in err.value.message and profile.read_text() == ""
