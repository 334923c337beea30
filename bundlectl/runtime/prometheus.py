"""The outcome tallies as Prometheus metrics, for `bundlectl guard --prometheus URL` (needs prometheus-client).

    from prometheus_client import REGISTRY, start_http_server
    from bundlectl.runtime.prometheus import OutcomeCollector

    REGISTRY.register(OutcomeCollector(runtime))
    start_http_server(9464)

Families (counters, so scraped with `_total`): `bundlectl_requests`, and per `metric` label
`bundlectl_outcome_count`, `bundlectl_outcome_sum`, `bundlectl_outcome_squares`; labels `bundle_name`,
`bundle_env`, `bundle_version`, `bundle_digest`, `bundle_arm`, `bundle_canary`; and `bundlectl_request_log_dropped`,
the request log lines that could not be written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from bundlectl.foundation.outcomes import PROM_COUNT, PROM_LABELS, PROM_METRIC_LABEL, PROM_REQUESTS, PROM_SQUARES, PROM_SUM

PROM_LOG_DROPPED = "bundlectl_request_log_dropped"

if TYPE_CHECKING:
    from bundlectl.runtime.live import Runtime


class OutcomeCollector(Collector):
    """Reads the runtime's running totals at each scrape; recording a request never touches prometheus-client."""

    def __init__(self, runtime: Runtime) -> None:
        self._tallies = runtime.tallies

    def collect(self) -> Iterator[Any]:
        counted, totalled = self._tallies.snapshot()  # one instant: a metric is never counted on more requests than there are
        requests = CounterMetricFamily(PROM_REQUESTS, "Requests with a recorded outcome, per bundle and arm", labels=PROM_LABELS)
        for series, n in counted:
            requests.add_metric(series, n)
        yield requests
        labels = [*PROM_LABELS, PROM_METRIC_LABEL]
        families = [
            CounterMetricFamily(PROM_COUNT, "Values recorded per outcome metric", labels=labels),
            CounterMetricFamily(PROM_SUM, "Sum of the values per outcome metric", labels=labels),
            CounterMetricFamily(PROM_SQUARES, "Sum of the squared values per outcome metric", labels=labels),
        ]
        for series, totals in totalled:
            for family, value in zip(families, (totals.n, totals.total, totals.squares), strict=True):
                family.add_metric([*series, totals.metric], value)
        yield from families
        yield CounterMetricFamily(
            PROM_LOG_DROPPED, "Request log lines the runtime could not write (a full disk): the log is incomplete", value=self._tallies.dropped
        )
