"""Attacks on issue 21's validation by a key holder (or anyone) with write access, forging with plain git/S3 and
ssh-keygen: a canary record naming a candidate nobody gated, and records whose signatures no reader checked."""

from __future__ import annotations

from typing import Any

from tests.conftest import V1, V2, Workspace
from tests.trust.conftest import Keys, ok
from tests.trust.forge import Forger
from tests.trust.test_forged_transitions import refused_by_integrity, version

NAME = "support-triage"


def forged_canary(forger: Forger, ref: str, env: str, action: str, percent: int, signer: str | None = "pete") -> int:
    """A canary record of `ref` beside what is live, with the canary pointer moved to it."""
    bundle, live = forger.registered(version(ref)), forger.pointer(env)
    assert live is not None
    seq = forger.records()[-1]["seq"] + 1
    data = {"name": NAME, "env": env, "digest": bundle["digest"], "version": bundle["version"], "percent": percent,
            "live_digest": live["digest"], "live_version": live["version"], "pointer_version": live["pointer_version"],
            "steps": [percent, 100], "step_time": 0}
    pointer = {"name": NAME, "env": env, "digest": bundle["digest"], "version": bundle["version"], "percent": percent,
               "seq": seq}
    return forger.append(action, data, signer, {f"canaries/{NAME}/{env}": pointer}, registry=True)


def test_a_canary_advance_of_a_bundle_no_gate_passed_is_refused_by_every_reader(trusted: Workspace, keys: Keys,
                                                                                 runtimes: Any) -> None:
    ws, forger = trusted, Forger(trusted, keys)
    ok(ws, "approve", V1, "--env", "staging", "--key", keys.path("carol"))
    ok(ws, "promote", V1, "--env", "staging", "--key", keys.path("pete"))
    runtime = runtimes(ws, follow=False)
    assert ws.run("promote", V2, "--env", "staging", "--key", keys.path("pete")).exit_code == 1  # V2 has no approval
    # no canary runs: pete advances one of V2 straight to 99% of the traffic, signed with his own key
    seq = forged_canary(forger, V2, "staging", "canary-advance", 99)
    failure = f"log record seq {seq} (canary-advance"
    refused_by_integrity(ws, ("status", "--check"), failure, "no canary runs there")
    refused_by_integrity(ws, ("approve", V2, "--env", "staging", "--key", keys.path("bob")), failure)
    assert runtime.refresh() is False
    assert runtime.current("user-1").version == version(V1)
    assert "no canary runs there" in (runtime.problem or "")
    refused_by_integrity(ws, ("verify",), failure, "no canary runs there")
