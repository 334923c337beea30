"""`kill -9` of a deliverer in the middle of a batch, then a restart: every event still arrives, in order (a record
sent twice carries the same webhook-id, which is how receivers deduplicate)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.conftest import Workspace
from tests.webhooks.conftest import endpoint, subscribe

EVENTS = 16


def test_a_deliverer_killed_mid_batch_loses_nothing(git_registered: Workspace, receivers, monkeypatch):
    ws = git_registered
    monkeypatch.setenv("BUNDLECTL_WEBHOOK_DEADLINE", "0")  # no quick attempts: the backlog is the deliverer's
    receiver = receivers(delay=0.05)
    assert subscribe(ws, {"ops": endpoint(receiver)}).exit_code == 0
    from tests.helpers import set_policy

    set_policy(ws, "environments:\n  staging: {gates: {}}\n")
    assert ws.run("promote", "support-triage@2026.11.01-1", "--env", "staging").exit_code == 0
    for turn in range(EVENTS // 2 - 1):
        for act in ("pause", "resume"):
            assert ws.run(act, "support-triage", "--env", "staging", "--reason", f"drill {turn}").exit_code == 0
    head = ws.json("webhooks", "log")["endpoints"][0]
    assert head["behind"] == EVENTS and receiver.got == []

    deliverer = subprocess.Popen(
        [sys.executable, "-m", "bundlectl", "webhooks", "deliver", "--follow", "--batch", "100"],
        cwd=ws.root,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(receiver.got) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(deliverer.pid, signal.SIGKILL)
    finally:
        deliverer.wait()
    got_before = len(receiver.got)
    assert 5 <= got_before < EVENTS  # killed mid-batch: no state written for this batch yet

    result = ws.run("webhooks", "deliver", "--json")
    assert result.exit_code == 0, result.output
    seqs = [d.verified()["data"]["seq"] for d in receiver.got]
    unique = list(dict.fromkeys(seqs))
    assert len(unique) == EVENTS and unique == sorted(unique)
    ids = [d.headers["webhook-id"] for d in receiver.got]
    assert len(set(ids)) == EVENTS  # each redelivered record kept its id
    assert ws.json("webhooks", "log")["endpoints"][0]["behind"] == 0
