"""Attacks on issue 21's validation by a key holder (or anyone) with write access, forging with plain git/S3 and
ssh-keygen: a canary record naming a candidate nobody gated, and records whose signatures no reader checked."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import V1, V2, Workspace
from tests.trust.conftest import Keys, ok
from tests.trust.forge import Forger, canonical
from tests.trust.test_forged_transitions import forged_promotion, refused_by_integrity, version

NAME = "support-triage"


def forged_canary(forger: Forger, ref: str, env: str, action: str, percent: int, signer: str | None = "pete") -> int:
    """A canary record of `ref` beside what is live, with the canary pointer moved to it."""
    bundle, live = forger.registered(version(ref)), forger.pointer(env)
    assert live is not None
    seq = forger.records()[-1]["seq"] + 1
    data = {
        "name": NAME,
        "env": env,
        "digest": bundle["digest"],
        "version": bundle["version"],
        "percent": percent,
        "live_digest": live["digest"],
        "live_version": live["version"],
        "pointer_version": live["pointer_version"],
        "steps": [percent, 100],
        "step_time": 0,
    }
    pointer = {"name": NAME, "env": env, "digest": bundle["digest"], "version": bundle["version"], "percent": percent, "seq": seq}
    return forger.append(action, data, signer, {f"canaries/{NAME}/{env}": pointer}, registry=True)


def test_a_canary_advance_of_a_bundle_no_gate_passed_is_refused_by_every_reader(trusted: Workspace, keys: Keys, runtimes: Any) -> None:
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


def _set_head(forger: Forger, seq: int) -> None:
    """Where a signed append moves the head pointer (an unsigned forgery moves it by hand)."""
    payload = forger.payloads()[-1]
    forger.set_pointer("head", canonical({"seq": seq, "hash": "sha256:" + hashlib.sha256(payload).hexdigest()}))


def test_records_no_allowed_key_signed_never_move_the_runtime_or_pass_status_check(trusted: Workspace, keys: Keys, runtimes: Any) -> None:
    """Mallory holds no key at all, only write access: an unsigned policy without staging's gates, then an unsigned
    promotion of V2 in pete's name. Its judgment passes (the forged policy is in force); only signatures tell."""
    ws, forger = trusted, Forger(trusted, keys)
    ok(ws, "approve", V1, "--env", "staging", "--key", keys.path("carol"))
    ok(ws, "promote", V1, "--env", "staging", "--key", keys.path("pete"))
    runtime = runtimes(ws, follow=False)
    policy = next(r for r in reversed(forger.records()) if r["action"] == "policy")["data"]["policy"]
    policy["environments"]["staging"]["gates"] = {}
    digest = "sha256:" + hashlib.sha256(canonical(policy)).hexdigest()
    seq = forger.append("policy", {"policy": policy, "policy_digest": digest}, None, registry=True)
    _set_head(forger, forged_promotion(forger, V2, "staging", signer=None))
    failure = f"log record seq {seq} (policy"
    refused_by_integrity(ws, ("status", "--check"), failure, "is not signed")
    assert runtime.refresh() is False
    assert runtime.current().version == version(V1)
    assert "is not signed" in (runtime.problem or "")
    refused_by_integrity(ws, ("verify",), failure, "is not signed")


def test_an_approval_whose_signature_does_not_verify_never_lets_the_runtime_follow(trusted: Workspace, keys: Keys, runtimes: Any) -> None:
    """Pete, a promoter, forges carol's approval of V2 (a signature of carol's over other bytes, naming her key) and
    promotes V2 with his own valid signature: the gate counts the approval unless its signature is checked."""
    ws, forger = trusted, Forger(trusted, keys)
    ok(ws, "approve", V1, "--env", "staging", "--key", keys.path("carol"))
    ok(ws, "promote", V1, "--env", "staging", "--key", keys.path("pete"))
    runtime = runtimes(ws, follow=False)
    bundle = forger.registered(version(V2))
    seq = forger.append(
        "approval",
        {"name": NAME, "version": bundle["version"], "digest": bundle["digest"], "env": "staging"},
        "carol",
        registry=True,
        sign_other=b"something carol signed",
    )
    forged_promotion(forger, V2, "staging", signer="pete")
    failure = f"log record seq {seq} (approval"
    refused_by_integrity(ws, ("status", "--check"), failure, "is not signed by a key allowed to")
    assert runtime.refresh() is False
    assert runtime.current().version == version(V1)
    refused_by_integrity(ws, ("verify",), failure)


def test_a_record_dated_hours_ahead_never_holds_back_the_kill_switch_or_a_rollback(trusted: Workspace, keys: Keys) -> None:
    """The runner key, which may only add evidence, appends one evidence record dated 6 hours ahead (validly signed:
    verify passes). Writers refused every act behind it for 6 hours, `pause` and `rollback` included."""
    ws, forger = trusted, Forger(trusted, keys)
    for ref in (V1, V2):
        ok(ws, "approve", ref, "--env", "staging", "--key", keys.path("carol"))
        ok(ws, "promote", ref, "--env", "staging", "--key", keys.path("pete"))
    evidence = next(r for r in reversed(forger.records()) if r["action"] == "evidence")["data"]
    ahead = (datetime.now(UTC) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    forger.append("evidence", evidence, "ci", registry=True, at=ahead)
    approve = ws.run("approve", V1, "--env", "production", "--key", keys.path("carol"))
    if ws.backend == "s3":  # the bucket's Date header shows the record is the skewed one: every writer passes it over
        assert approve.exit_code == 0, approve.output
    else:  # git has no clock to tell who is wrong: other acts wait for the next act that stops harm
        assert approve.exit_code == 1 and "behind the newest record" in approve.stderr
    ok(ws, "pause", NAME, "--env", "staging", "--key", keys.path("pete"), "--reason", "incident")
    ok(ws, "rollback", NAME, "--env", "staging", "--key", keys.path("pete"))
    pause = next(r for r in forger.records() if r["action"] == "pause")
    assert pause["time"] < ahead  # stamped with this machine's time: readers cap the skewed record instead
    ok(ws, "approve", V2, "--env", "production", "--key", keys.path("carol"))  # dated after the pause: nothing waits
    assert ws.run("verify").exit_code == 0


def test_a_break_glass_component_rollback_to_a_bundle_never_live_there_is_refused(trusted: Workspace, keys: Keys, runtimes: Any) -> None:
    """Pete calls a move to V2 (never approved, so its gate fails) a break-glass rollback of one component: a break-glass
    rollback skips the gate, and nothing checked that its target is the live bundle with that component taken from one
    live there before."""
    ws, forger = trusted, Forger(trusted, keys)
    ok(ws, "approve", V1, "--env", "staging", "--key", keys.path("carol"))
    ok(ws, "promote", V1, "--env", "staging", "--key", keys.path("pete"))
    runtime = runtimes(ws, follow=False)
    bundle, before = forger.registered(version(V2)), forger.pointer("staging")
    assert before is not None
    seq = forger.records()[-1]["seq"] + 1
    data = {
        "name": NAME,
        "env": "staging",
        "from_digest": before["digest"],
        "from_version": before["version"],
        "to_digest": bundle["digest"],
        "to_version": bundle["version"],
        "pointer_version": before["pointer_version"] + 1,
        "components": ["prompt"],
        "break_glass": True,
        "verified": False,
    }
    pointer = {
        "name": NAME,
        "env": "staging",
        "digest": bundle["digest"],
        "version": bundle["version"],
        "pointer_version": data["pointer_version"],
        "seq": seq,
    }
    forger.append("rollback", data, "pete", {f"envs/{NAME}/staging": pointer}, registry=True)
    failure = f"log record seq {seq} (rollback"
    refused_by_integrity(ws, ("status", "--check"), failure, "is not the live bundle")
    assert runtime.refresh() is False
    assert runtime.current().version == version(V1)
    refused_by_integrity(ws, ("verify",), failure, "is not the live bundle")
