"""The outcome tallies as OpenTelemetry metrics: observable instruments read when the SDK collects.

Attributes are the stamp's (`bundle.name`, `bundle.env`, `bundle.version`, `bundle.digest`, `bundle.arm`,
`bundle.canary`) and `metric`. Needs only opentelemetry-api; without an SDK configured they cost nothing.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

from bundlectl.foundation.outcomes import ARM, CANARY, OTEL_COUNT, OTEL_REQUESTS, OTEL_SQUARES, OTEL_SUM
from bundlectl.foundation.stamp import DIGEST, ENV, NAME, VERSION
from bundlectl.runtime.tallies import OutcomeTallies, Series

_KEYS = (NAME, ENV, VERSION, DIGEST, ARM, CANARY)


def _attributes(series: Series, metric: str | None = None) -> dict[str, Any]:
    attributes: dict[str, Any] = {key: value for key, value in zip(_KEYS, series, strict=True) if value != ""}
    if CANARY in attributes:
        attributes[CANARY] = int(attributes[CANARY])
    if metric is not None:
        attributes["metric"] = metric
    return attributes


# Instruments are created once per process (a second one of the same name would be ignored by the SDK), and
# read every runtime still open; a closed or collected runtime drops out.
_OPEN: weakref.WeakSet[OutcomeTallies] = weakref.WeakSet()
_CREATED = threading.Lock()
_created = False


def follow(tallies: OutcomeTallies) -> None:
    """Report these tallies through the process's instruments (created on first use)."""
    global _created
    with _CREATED:
        _OPEN.add(tallies)
        if not _created:
            _register_instruments()
            _created = True


def forget(tallies: OutcomeTallies) -> None:
    _OPEN.discard(tallies)


def _every() -> Iterator[OutcomeTallies]:
    return iter(list(_OPEN))


def _register_instruments() -> None:
    """Create the instruments on the global meter provider (set now or later): requests, and per metric count, sum, squares."""
    from opentelemetry import metrics
    from opentelemetry.metrics import CallbackOptions, Observation

    meter = metrics.get_meter("bundlectl.runtime")

    def requests(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, _attributes(series)) for tallies in _every() for series, n in tallies.requests()]

    def statistic(field: str) -> Any:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            return [
                Observation(getattr(totals, field), _attributes(series, totals.metric)) for tallies in _every() for series, totals in tallies.totals()
            ]

        return observe

    meter.create_observable_counter(OTEL_REQUESTS, [requests], unit="{request}", description="Requests with a recorded outcome")
    meter.create_observable_counter(OTEL_COUNT, [statistic("n")], description="Values recorded per outcome metric")
    meter.create_observable_up_down_counter(OTEL_SUM, [statistic("total")], description="Sum of the values per outcome metric")

    def dropped(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(sum(tallies.dropped for tallies in _every()))]

    meter.create_observable_counter(
        "bundlectl.request_log.dropped", [dropped], unit="{line}", description="Request log lines the runtime could not write (a full disk)"
    )
    meter.create_observable_counter(OTEL_SQUARES, [statistic("squares")], description="Sum of the squared values per outcome metric")
