"""Runtime fixtures: a registry with something live, runtimes that are always closed, and a proxy that can hang."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.runtime.blackhole import BlackHoleProxy


@pytest.fixture
def proxy(s3_endpoint: str) -> Iterator[BlackHoleProxy]:
    hole = BlackHoleProxy(s3_endpoint)
    yield hole
    hole.close()


def wait_until(condition: Callable[[], bool], within: float) -> float:
    """Seconds until `condition()` held; fails if it did not within `within` seconds (a did-not-hang bound)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s")
        time.sleep(0.01)
    return time.monotonic() - started
