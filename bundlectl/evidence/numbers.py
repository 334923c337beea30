"""The bounds on what a report may measure: finite, not negative, and not absurd.

A latency over a day or a cost over $1,000 for one case is not a measurement but a typo or an attack,
and a NaN would sort anywhere and pass any threshold; each refuses the report, naming the field.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from bundlectl.errors import InvalidInput, Problem

MAX_LATENCY_MS = 24 * 60 * 60 * 1000.0  # one day
MAX_COST_USD = 1000.0  # for one case, or per task
MAX_COUNT = 10**12
EARLIEST_RUN = datetime(2000, 1, 1, tzinfo=UTC)


def _number(value: object, source: str, field: str, limit: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput([Problem(source, f"{value!r} is not a number", field=field)])
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput([Problem(source, f"{value} is not a finite number", field=field)])
    if value < 0:
        raise InvalidInput([Problem(source, f"{value} is negative", field=field)])
    if value > limit:
        raise InvalidInput([Problem(source, f"{_shown(value)} is over {what}, which no honest run measures", field=field)])
    return value


def _shown(value: float) -> str:
    """A number for a message; an integer too large for a float is shown by its digits, never converted."""
    if isinstance(value, int):
        digits = str(value)
        return digits if len(digits) <= 15 else f"{digits[0]}.{digits[1:4]}e+{len(digits) - 1} (an integer of {len(digits)} digits)"
    return f"{value:g}"


def latency_ms(value: object, source: str, field: str) -> float:
    return _number(value, source, field, MAX_LATENCY_MS, "a day (86,400,000 ms)")


def cost_usd(value: object, source: str, field: str) -> float:
    return _number(value, source, field, MAX_COST_USD, "$1,000")


def count(value: object, source: str, field: str) -> float:
    return _number(value, source, field, MAX_COUNT, "10^12")


def run_time(moment: datetime, source: str, field: str) -> datetime:
    if moment < EARLIEST_RUN:
        raise InvalidInput([Problem(source, f"run time {moment.isoformat()} is before 2000", field=field)])
    return moment
