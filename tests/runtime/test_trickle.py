"""The S3 registry behind a proxy that trickles its answers one byte at a time, each well within the read timeout:
a check ends at its deadline, serving never waits, and a pause issued once the registry recovers is seen."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.conftest import Workspace
from tests.runtime.conftest import wait_until
from tests.runtime.test_outage import slowest_call
from tests.runtime.trickle import TrickleProxy

pytestmark = pytest.mark.parametrize("registry", ["s3"], indirect=True)

TIMEOUT = 1.0  # per connect or read
BYTE_EVERY = 0.6  # below TIMEOUT: a per-read timeout never fires
DEADLINE = 2.0  # the whole check
POLL = 0.3


@pytest.fixture
def trickle(s3_endpoint: str) -> Iterator[TrickleProxy]:
    proxy = TrickleProxy(s3_endpoint)
    yield proxy
    proxy.close()


def test_a_trickling_registry_cannot_hold_a_check_past_its_deadline(v1_live: Workspace, trickle: TrickleProxy, runtimes):
    runtime = runtimes(v1_live, endpoint_url=trickle.url, timeout=TIMEOUT, check_deadline=DEADLINE, follow=False)
    trickle.trickle(BYTE_EVERY)
    started = time.monotonic()
    assert runtime.refresh() is False
    assert time.monotonic() - started < DEADLINE + 1.0
    wait_until(lambda: trickle.trickled > 0, within=5)  # the answer was (or, on a slow machine, is about to be) trickling
    assert "did not finish within its 2 s deadline" in runtime.problem
    assert "still serving 2026.11.01-1 (pointer version 1)" in runtime.problem
    assert runtime.current().version == "2026.11.01-1"
    trickle.recover()  # the abandoned check ends with the registry's answer: nothing is left waiting
    wait_until(lambda: runtime._abandoned.running == 0, within=TIMEOUT + 2)


def test_a_pause_after_the_registry_recovers_is_seen_within_the_poll_interval(v1_live: Workspace, trickle: TrickleProxy, runtimes):
    runtime = runtimes(v1_live, endpoint_url=trickle.url, timeout=TIMEOUT, check_deadline=DEADLINE, poll_interval=POLL)
    trickle.trickle(BYTE_EVERY)
    worst, _ = slowest_call(runtime, 2 * DEADLINE + POLL)  # two checks abandoned meanwhile
    assert worst < 0.05, worst  # serving never waited on the check
    assert "deadline" in runtime.problem
    trickle.recover()
    assert v1_live.run("pause", "support-triage", "--env", "staging", "--reason", "incident").exit_code == 0
    wait_until(lambda: runtime.paused is not None, within=POLL + 1.0)
    wait_until(lambda: runtime.problem is None, within=POLL + 1.0)
    wait_until(lambda: runtime._abandoned.running == 0, within=TIMEOUT + 2)
