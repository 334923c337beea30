"""`bundlectl pause` reaches running runtimes within their poll interval: `current()` raises Paused until `resume`."""

from __future__ import annotations

import time

import pytest

from bundlectl.digest.canonical import canonical_json
from bundlectl.runtime import Paused
from tests.conftest import V2, Workspace
from tests.helpers import promote, write_behind_bundlectl
from tests.runtime.conftest import wait_until

POLL = 0.3
ENV = ("support-triage", "--env", "staging")


def is_paused(runtime) -> bool:
    try:
        runtime.current()
    except Paused:
        return True
    return False


def test_pause_and_resume_reach_a_running_runtime_within_the_poll_interval(v1_live: Workspace, runtimes):
    runtime = runtimes(v1_live, poll_interval=POLL)
    assert runtime.current().version == "2026.11.01-1" and runtime.paused is None
    assert v1_live.run("pause", *ENV, "--reason", "wrong refund policy quoted", "--actor", "oncall@example.com").exit_code == 0
    seen_after = wait_until(lambda: is_paused(runtime), within=POLL + 1.0)
    assert seen_after <= POLL + 1.0
    with pytest.raises(Paused) as err:
        runtime.current()
    paused = err.value
    assert (paused.name, paused.env, paused.reason, paused.by) == ("support-triage", "staging", "wrong refund policy quoted", "oncall@example.com")
    assert "support-triage in staging is paused (by oncall@example.com at " in paused.message
    assert "`bundlectl resume support-triage --env staging` ends the pause" in paused.hint
    assert runtime.paused.reason == "wrong refund policy quoted" and runtime.problem is None
    with pytest.raises(Paused):
        runtime.stamp("req-while-paused")  # nothing is stamped with a bundle that was not served

    assert v1_live.run("resume", *ENV).exit_code == 0
    wait_until(lambda: not is_paused(runtime), within=POLL + 1.0)
    assert runtime.current().version == "2026.11.01-1" and runtime.paused is None


def test_a_runtime_started_while_paused_refuses_until_resumed_and_then_serves_what_was_rolled_back_to(v1_live: Workspace, runtimes):
    promote(v1_live, V2, "staging")
    assert v1_live.run("pause", *ENV, "--reason", "incident 7").exit_code == 0
    runtime = runtimes(v1_live, follow=False)
    with pytest.raises(Paused) as err:
        runtime.current()
    assert err.value.reason == "incident 7"
    assert v1_live.run("rollback", *ENV, "--reason", "back while paused").exit_code == 0
    assert runtime.refresh() is True
    assert is_paused(runtime)  # the rollback was followed, and the pause still holds
    assert v1_live.run("resume", *ENV).exit_code == 0
    assert runtime.refresh() is True
    assert (runtime.current().version, runtime.current().pointer_version) == ("2026.11.01-1", 3)


def pause_pointer(ws: Workspace) -> bytes:
    return ws.storage().read_pointer("pauses/support-triage/staging").value


def test_a_replayed_resume_does_not_end_a_pause(v1_live: Workspace, runtimes):
    runtime = runtimes(v1_live, follow=False)
    assert v1_live.run("pause", *ENV, "--reason", "first").exit_code == 0
    assert v1_live.run("resume", *ENV).exit_code == 0
    old_resume = pause_pointer(v1_live)
    assert v1_live.run("pause", *ENV, "--reason", "second").exit_code == 0
    assert runtime.refresh() is True and runtime.paused.reason == "second"
    write_behind_bundlectl(v1_live, "pointers/pauses/support-triage/staging", old_resume)
    assert runtime.refresh() is False
    assert is_paused(runtime)
    assert "refused a replayed or stale pause pointer: resumed at seq" in runtime.problem


def test_an_unpause_the_log_does_not_back_does_not_end_a_pause(v1_live: Workspace, runtimes):
    runtime = runtimes(v1_live, follow=False)
    assert v1_live.run("pause", *ENV, "--reason", "incident").exit_code == 0
    assert runtime.refresh() is True and is_paused(runtime)
    seq = v1_live.json("history", *ENV)["events"][0]["seq"]
    forged = canonical_json({"name": "support-triage", "env": "staging", "paused": False, "seq": seq + 5})
    write_behind_bundlectl(v1_live, "pointers/pauses/support-triage/staging", forged)
    assert runtime.refresh() is False and is_paused(runtime)
    assert f"the pause pointer says resumed at seq {seq + 5} but the log says paused at seq {seq}" in runtime.problem


def test_a_deleted_pause_pointer_does_not_end_a_pause(git_registered: Workspace, runtimes):
    from tests.helpers import set_policy

    ws = git_registered
    set_policy(ws, "environments:\n  staging: {}\n")
    promote(ws, "support-triage@2026.11.01-1", "staging")
    runtime = runtimes(ws, follow=False)
    assert ws.run("pause", *ENV, "--reason", "incident").exit_code == 0
    assert runtime.refresh() is True
    ws.repo.git.update_ref("-d", "refs/bundlectl/pointers/pauses/support-triage/staging")
    assert runtime.refresh() is False and is_paused(runtime)
    assert "refused a replayed or stale pause pointer: never paused is older than paused at seq" in runtime.problem


def test_serving_from_the_background_keeps_up_with_promotions(v1_live: Workspace, runtimes):
    runtime = runtimes(v1_live, poll_interval=POLL)
    promote(v1_live, V2, "staging")
    promoted = time.monotonic()
    wait_until(lambda: runtime.current().version == "2026.11.22-1", within=POLL + 1.0)
    assert time.monotonic() - promoted <= POLL + 1.0


def test_a_pause_reaches_a_runtime_that_refuses_the_new_bundle(v1_live: Workspace, runtimes):
    from bundlectl import api

    runtime = runtimes(v1_live, follow=False)
    served = {e.digest for c in runtime.current().record.components.values() for e in c.files.values()}
    digest = next(e.digest for c in api.show(V2).components.values() for e in c.files.values() if e.digest not in served)
    promote(v1_live, V2, "staging")
    write_behind_bundlectl(v1_live, f"objects/blobs/{digest.split(':')[1]}", b"damaged")
    assert runtime.refresh() is False and "does not match its digest" in runtime.problem
    assert v1_live.run("pause", *ENV, "--reason", "the new bundle is broken").exit_code == 0
    runtime.refresh()
    with pytest.raises(Paused) as err:  # the kill switch works whatever else is wrong with the registry
        runtime.current()
    assert err.value.reason == "the new bundle is broken"
    assert "does not match its digest" in runtime.problem and "still serving 2026.11.01-1" in runtime.problem
    assert v1_live.run("resume", *ENV).exit_code == 0
    runtime.refresh()
    assert runtime.current().version == "2026.11.01-1"  # resumed, still on the last bundle it could verify


@pytest.mark.parametrize("registry", ["s3"], indirect=True)  # on git, `pause` itself refuses while a pointer disagrees
def test_a_pause_reaches_a_runtime_while_its_pointer_is_replayed(v1_live: Workspace, runtimes):
    runtime = runtimes(v1_live, follow=False)
    old = v1_live.storage().read_pointer("envs/support-triage/staging").value
    promote(v1_live, V2, "staging")
    assert runtime.refresh() is True
    write_behind_bundlectl(v1_live, "pointers/envs/support-triage/staging", old)
    assert runtime.refresh() is False
    assert v1_live.run("pause", *ENV, "--reason", "incident").exit_code == 0
    runtime.refresh()
    assert is_paused(runtime) and runtime.paused.reason == "incident"
    assert runtime.problem is not None


def test_a_pointer_tampered_in_another_environment_does_not_stop_the_kill_switch(git_registered: Workspace, runtimes):
    from tests.helpers import set_policy

    ws = git_registered
    set_policy(ws, "environments:\n  staging: {}\n  dev: {}\n")
    promote(ws, "support-triage@2026.11.01-1", "staging")
    promote(ws, "support-triage@2026.11.01-1", "dev")
    runtime = runtimes(ws, follow=False)
    dev = ws.storage().read_pointer("envs/support-triage/dev").value
    promote(ws, V2, "dev")
    assert ws.run("pause", *ENV, "--reason", "incident").exit_code == 0
    write_behind_bundlectl(ws, "pointers/envs/support-triage/dev", dev)  # damage in another environment
    assert runtime.refresh() is True  # the runtime checks its own two pointers against the log
    assert is_paused(runtime) and runtime.paused.reason == "incident"
