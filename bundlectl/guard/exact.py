"""Exact running sums: what the guard's figures are added up with, so a constant metric sums to a constant.

A plain float `+=` rounds at every step, and the order of additions (batches, files, processes) changes the
result: n copies of 0.002 do not sum to n × 0.002, and two arms with the same values get means an ulp apart.
`ExactSum` keeps Shewchuk's non-overlapping partials (the algorithm behind `math.fsum`): `add` is exact, and
`extend` (a batch at C speed) carries the remainder `fsum` rounded away, so the sum holds twice a float's precision
and its value is the correctly rounded sum of everything added, whatever the order (short of a tie at 106 bits).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

# a difference smaller than this share of the metric's size is float noise in its figures, not a measurement
RESOLUTION = 1e-9


class ExactSum:
    """A sum kept exactly: `add` one value (serving code, per request), `extend` many (a batch of a log)."""

    __slots__ = ("_partials",)

    def __init__(self, values: Iterable[float] = ()) -> None:
        self._partials: list[float] = []
        self.extend(values)

    def add(self, x: float) -> None:
        partials, i = self._partials, 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            high = x + y
            low = y - (high - x)
            if low:
                partials[i] = low
                i += 1
            x = high
        partials[i:] = [x]

    def extend(self, values: Iterable[float]) -> None:
        """Many values at once, at C speed: `fsum` of the partials and the values, and the remainder it left out."""
        chunk = list(values)
        if not chunk:
            return
        terms = [*self._partials, *chunk]
        high = math.fsum(terms)
        terms.append(-high)
        low = math.fsum(terms)  # what `high` rounded away: the two together carry the sum to 106 bits and beyond
        self._partials = [p for p in (low, high) if p]

    @property
    def value(self) -> float:
        return math.fsum(self._partials)

    def __float__(self) -> float:
        return self.value
