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
from bundlectl.foundation.outcomes import COST_USD, ESCALATED, LATENCY_MS, OK, SCHEMA_VALID, value_allowed
from bundlectl.guard.exact import ExactSum

Series = tuple[str, str, str, str, str, str]  # outcomes.PROM_LABELS


class Totals(NamedTuple):
    """One metric of one series: count, sum, sum of squares."""

    metric: str
    n: int
    total: float
    squares: float


class _Running:
    """One metric's exact totals: values wait in a list and are folded into the sums a batch at a time (at C speed)."""

    __slots__ = ("n", "pending", "total", "squares")
    FOLD = 256

    def __init__(self) -> None:
        self.n, self.total, self.squares = 0, ExactSum(), ExactSum()
        self.pending: list[float] = []

    def fold(self) -> None:
        values, self.pending = self.pending, []
        self.total.extend(values)
        self.squares.extend(v * v for v in values)


class OutcomeTallies:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[Series, int] = {}
        self._metrics: dict[Series, dict[str, _Running]] = {}
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
                running = metrics.get(name)
                if running is None:
                    running = metrics[name] = _Running()
                running.n += 1
                running.pending.append(float(value))
                if len(running.pending) >= _Running.FOLD:
                    running.fold()

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
            for metrics in self._metrics.values():
                for running in metrics.values():
                    running.fold()
            return list(self._requests.items()), [
                (series, Totals(name, running.n, running.total.value, running.squares.value))
                for series, metrics in self._metrics.items()
                for name, running in metrics.items()
            ]


def outcome_values(
    ok: bool | None,
    escalated: bool | None,
    schema_valid: bool | None,
    latency_ms: float | None,
    cost_usd: float | None,
    metrics: Mapping[str, object],
) -> dict[str, float | bool]:
    """The values a request recorded, each a bool or a finite number (a mistake here is the serving code's: UsageProblem)."""
    values: dict[str, object] = {OK: ok, ESCALATED: escalated, SCHEMA_VALID: schema_valid, LATENCY_MS: latency_ms, COST_USD: cost_usd, **metrics}
    checked: dict[str, float | bool] = {}
    for name, value in values.items():
        if value is None:
            continue
        # the square too: the exporters' sums of squares (and the guard's) must stay numbers (1e200 squared is inf)
        if not isinstance(value, (bool, int, float)) or abs(value) > sys.float_info.max or not math.isfinite(float(value) * float(value)):
            raise UsageProblem(
                f"record(): {name}={value!r} is not a bool or a finite number",
                "pass true/false for rates and plain numbers for measurements (latency_ms=812)",
            )
        if not value_allowed(name, [value]):
            raise UsageProblem(
                f"record(): {name}={value!r} cannot be a recorded {name}",
                f"{OK}, {ESCALATED} and {SCHEMA_VALID} are true or false; {LATENCY_MS} and {COST_USD} are not negative",
            )
        checked[name] = value
    return checked
