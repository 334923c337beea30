"""The outcomes a serving process recorded, summed in memory per bundle series: what its metrics exporters read.

`Runtime.record` adds each request's values here (a few additions under a lock); OpenTelemetry's
observable instruments and the Prometheus collector read the running totals when they are collected,
so recording costs the same however many exporters there are.
"""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from bundlectl.errors import UsageProblem
from bundlectl.outcomes import COST_USD, ESCALATED, LATENCY_MS, OK, SCHEMA_VALID, value_allowed

Series = tuple[str, str, str, str, str, str]  # outcomes.PROM_LABELS


class Totals(NamedTuple):
    """One metric of one series: count, sum, sum of squares."""

    metric: str
    n: int
    total: float
    squares: float


class OutcomeTallies:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[Series, int] = {}
        self._metrics: dict[Series, dict[str, list[float]]] = {}
        self.dropped = 0  # request log lines the runtime could not write (exported as a counter)

    def drop(self) -> None:
        with self._lock:
            self.dropped += 1

    def add(self, series: Series, values: Mapping[str, float]) -> None:
        with self._lock:
            self._requests[series] = self._requests.get(series, 0) + 1
            metrics = self._metrics.get(series)
            if metrics is None:
                metrics = self._metrics[series] = {}
            for name, value in values.items():
                acc = metrics.get(name)
                if acc is None:
                    acc = metrics[name] = [0, 0.0, 0.0]
                acc[0] += 1
                acc[1] += value
                acc[2] += value * value

    def metric_names(self) -> set[str]:
        """Every metric name counted so far, in any series."""
        with self._lock:
            return {name for metrics in self._metrics.values() for name in metrics}

    def requests(self) -> list[tuple[Series, int]]:
        return self.snapshot()[0]

    def totals(self) -> Iterator[tuple[Series, Totals]]:
        yield from self.snapshot()[1]

    def snapshot(self) -> tuple[list[tuple[Series, int]], list[tuple[Series, Totals]]]:
        """The requests and the metric totals read at one instant: a request recorded meanwhile is in both or in neither."""
        with self._lock:
            return list(self._requests.items()), [(series, Totals(name, int(acc[0]), acc[1], acc[2]))
                                                  for series, metrics in self._metrics.items() for name, acc in metrics.items()]


def outcome_values(ok: bool | None, escalated: bool | None, schema_valid: bool | None, latency_ms: float | None,
                   cost_usd: float | None, metrics: Mapping[str, object]) -> dict[str, float | bool]:
    """The values a request recorded, each a bool or a finite number (a mistake here is the serving code's: UsageProblem)."""
    values: dict[str, object] = {OK: ok, ESCALATED: escalated, SCHEMA_VALID: schema_valid, LATENCY_MS: latency_ms,
                                 COST_USD: cost_usd, **metrics}
    checked: dict[str, float | bool] = {}
    for name, value in values.items():
        if value is None:
            continue
        if not isinstance(value, (bool, int, float)) or abs(value) > sys.float_info.max or not math.isfinite(value):
            raise UsageProblem(f"record(): {name}={value!r} is not a bool or a finite number",
                               "pass true/false for rates and plain numbers for measurements (latency_ms=812)")
        if not value_allowed(name, [value]):
            raise UsageProblem(f"record(): {name}={value!r} cannot be a recorded {name}",
                               f"{OK}, {ESCALATED} and {SCHEMA_VALID} are true or false; {LATENCY_MS} and {COST_USD} are not negative")
        checked[name] = value
    return checked
