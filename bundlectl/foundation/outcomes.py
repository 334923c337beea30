"""What a request's outcome is called: the metric names serving code records, and their names in the request
log, in OpenTelemetry and in Prometheus. The runtime writes them and the guard reads them, so they are named once.

A metric is judged in the direction its name says is good (`BETTER`): fewer escalations, more valid outputs,
less latency. The bundle owner's own metric (`metadata.outcome.metric`) says its direction in the manifest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

Better = Literal["higher", "lower"]

OK, ESCALATED, SCHEMA_VALID, LATENCY_MS, COST_USD = "ok", "escalated", "schema_valid", "latency_ms", "cost_usd"
# which way is good, for every metric bundlectl knows without reading a manifest
BETTER: dict[str, Better] = {OK: "higher", ESCALATED: "lower", SCHEMA_VALID: "higher", LATENCY_MS: "lower", COST_USD: "lower"}
RATES = frozenset({OK, ESCALATED, SCHEMA_VALID})  # true/false per request: their mean is a rate
AMOUNTS = frozenset({LATENCY_MS, COST_USD})  # never negative

OUTCOME = "outcome"  # the request-log key holding {metric: value}; a line without it is a stamp, not an outcome
ARM = "bundle.arm"  # "live" or "candidate"
CANARY = "bundle.canary"  # the log seq of the canary step in force when the request was routed; absent without a canary
LIVE, CANDIDATE = "live", "candidate"

# OpenTelemetry instruments (counters; attributes: the stamp's bundle.* plus `metric`)
OTEL_REQUESTS = "bundlectl.requests"
OTEL_COUNT, OTEL_SUM, OTEL_SQUARES = "bundlectl.outcome.count", "bundlectl.outcome.sum", "bundlectl.outcome.squares"

# Prometheus families as prometheus-client exposes them (a counter family `x` is scraped as `x_total`)
PROM_REQUESTS = "bundlectl_requests"
PROM_COUNT, PROM_SUM, PROM_SQUARES = "bundlectl_outcome_count", "bundlectl_outcome_sum", "bundlectl_outcome_squares"
PROM_LABELS = ("bundle_name", "bundle_env", "bundle_version", "bundle_digest", "bundle_arm", "bundle_canary")
PROM_METRIC_LABEL = "metric"


def value_allowed(metric: str, values: Sequence[float]) -> bool:
    """The values (each already a bool or a number) can be recorded outcomes of `metric`: a rate is true or false
    (1 or 0), latency and cost are not negative. One rule for the runtime and the guard."""
    if metric in RATES:
        return set(values) <= {0, 1}  # True == 1 and False == 0
    return metric not in AMOUNTS or min(values, default=0) >= 0
