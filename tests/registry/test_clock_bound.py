"""A writer ahead of a trusted clock is refused (issue 21): S3 answers with its own time (the Date header); git has
no clock, so there only the log head bounds a writer (tests/trust/test_clock_skew.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import bundlectl.integrity.clock_bound as clock_bound
from tests.conftest import Workspace


def clock_ahead(monkeypatch: pytest.MonkeyPatch, minutes: int) -> None:
    real = clock_bound.now

    def ahead() -> datetime:
        return real() + timedelta(minutes=minutes)

    monkeypatch.setattr(clock_bound, "now", ahead)


def test_a_writer_ahead_of_the_buckets_clock_is_refused_and_writes_nothing(registry: Workspace, monkeypatch: pytest.MonkeyPatch):
    head = registry.storage().log_head()
    clock_ahead(monkeypatch, 10)
    result = registry.run("register", "bundles/support-triage-v1")
    if registry.backend == "git":  # no trusted clock: the head is behind this writer, which is fine
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 1
    assert "this machine's clock is 10m ahead of the registry's" in result.stderr and "nothing was written" in result.stderr
    assert registry.storage().log_head() == head


def test_a_writer_within_the_bound_writes(registry: Workspace, monkeypatch: pytest.MonkeyPatch):
    clock_ahead(monkeypatch, 1)
    assert registry.run("register", "bundles/support-triage-v1").exit_code == 0
