"""Canary releases: `promote --canary` through the gate, sticky routing by key with stamps that name the arm, completion by
`promote`, ending by `rollback`, and status, history, audit and verify knowing both arms (on git and S3)."""

import json

import pytest

from bundlectl.digest.canonical import canonical_json
from bundlectl.trust.identity import claimed
from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, write_behind_bundlectl

ENV = ("support-triage", "--env", "staging")


def canary(ws: Workspace, *extra: str) -> dict:
    result = ws.run("promote", V2, "--env", "staging", "--canary", "10", *extra, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_canary_serves_a_sticky_share_and_every_stamp_names_its_arm(v1_live: Workspace, runtimes, tmp_path):
    runtime = runtimes(v1_live, follow=False, request_log=tmp_path / "requests.jsonl")
    started = canary(v1_live, "--steps", "10,50,100", "--step-time", "30m", "--reason", "try the new snapshot")
    assert started["action"] == "canary" and started["percent"] == 10 and started["changed"] is True
    assert started["candidate"]["version"] == "2026.11.22-1" and started["live"]["version"] == "2026.11.01-1"
    assert started["gate"]["passed"] is True  # a candidate passes the gate like any promotion

    assert runtime.current(key="user-1").arm == "live"  # nothing changes between checks
    assert runtime.refresh() is True
    arms = {f"user-{i}": runtime.current(key=f"user-{i}") for i in range(4000)}
    candidates = [k for k, b in arms.items() if b.arm == "candidate"]
    assert 300 < len(candidates) < 500  # 10% of the keys, give or take
    assert {arms[k].version for k in candidates} == {"2026.11.22-1"}
    assert all(runtime.current(key=k).arm == "candidate" for k in candidates)  # sticky
    assert runtime.current().arm == "live"  # no key: the live bundle
    assert arms[candidates[0]].text("prompts/system.md") == (v1_live.root / "bundles/support-triage-v2/prompts/system.md").read_text()

    served = arms[candidates[0]]
    stamp = runtime.stamp("req-candidate", bundle=served)
    assert stamp["bundle.arm"] == "candidate" and stamp["bundle.canary"] == started["seq"]
    assert stamp["bundle.version"] == "2026.11.22-1" and stamp["bundle.pointer_version"] == 1
    live_stamp = runtime.stamp("req-live", bundle=runtime.current(key="x"))
    assert live_stamp["bundle.canary"] == started["seq"]  # both arms of this step say which step routed them

    # a growing share keeps the keys it had (the guard advances it; here the library call it makes)
    from bundlectl.workflows.canary import advance_canary

    advance_canary(v1_live.storage(), "support-triage", "staging", started["seq"], 50, claimed("guard@example.com"))
    assert runtime.refresh() is True
    assert all(runtime.current(key=k).arm == "candidate" for k in candidates)
    assert 1800 < sum(runtime.current(key=k).arm == "candidate" for k in arms) < 2200
    runtime.close()

    log = str(tmp_path / "requests.jsonl")
    audited = v1_live.json("audit", "--request-id", "req-candidate", "--log", log)
    assert audited["arm"] == "candidate" and audited["consistent"] is True and audited["version"] == "2026.11.22-1"
    assert audited["live"]["version"] == "2026.11.01-1" and audited["live"]["candidate"]["version"] == "2026.11.22-1"
    text = v1_live.run("audit", "--request-id", "req-candidate", "--log", log).output
    assert "candidate arm (the canary's candidate)" in text and "that digest was the canary's candidate there" in text
    assert v1_live.json("audit", "--request-id", "req-live", "--log", log)["arm"] == "live"


def test_status_history_and_audit_at_show_both_arms(v1_live: Workspace):
    started = canary(v1_live, "--reason", "try it")
    row = v1_live.json("status")["environments"][0]
    assert row["version"] == "2026.11.01-1"
    assert row["canary"]["version"] == "2026.11.22-1" and row["canary"]["percent"] == 10
    assert row["canary"]["steps"] == [10, 100] and row["canary"]["step_time_s"] == 3600 and row["canary"]["seq"] == started["seq"]
    assert "canary in staging: support-triage@2026.11.22-1" in v1_live.run("status").output

    event = v1_live.json("history", *ENV)["events"][0]
    assert (event["action"], event["percent"], event["from_version"], event["to_version"], event["reason"]) == (
        "canary",
        10,
        "2026.11.01-1",
        "2026.11.22-1",
        "try it",
    )
    assert event["signed"] is False and "(claimed)" in v1_live.run("history", *ENV).output.splitlines()[1]
    at = v1_live.json("audit", "support-triage", "--env", "staging", "--at", event["time"])
    assert at["version"] == "2026.11.01-1" and at["candidate"]["version"] == "2026.11.22-1" and at["candidate"]["percent"] == 10
    assert "canary beside it: support-triage@2026.11.22-1" in v1_live.run("audit", "support-triage", "--env", "staging", "--at", event["time"]).output
    assert v1_live.run("verify").exit_code == 0


def test_promoting_the_candidate_completes_the_canary(v1_live: Workspace, runtimes):
    runtime = runtimes(v1_live, follow=False)
    started = canary(v1_live)
    runtime.refresh()
    promote(v1_live, V2, "staging", "--reason", "canary looked good")
    row = v1_live.json("status")["environments"][0]
    assert row["version"] == "2026.11.22-1" and row["canary"] is None and row["pointer_version"] == 2
    event = v1_live.json("history", *ENV)["events"][0]
    assert event["action"] == "promote" and event["canary_completed"] == started["seq"]
    assert runtime.refresh() is True
    served = runtime.current(key="anyone")
    assert (served.version, served.arm, served.canary) == ("2026.11.22-1", "live", None)
    assert "bundle.canary" not in runtime.stamp("req-after")
    assert v1_live.run("verify").exit_code == 0
    again = v1_live.run("promote", V1, "--env", "staging", "--canary", "5")  # a new canary may start now
    assert again.exit_code == 0, again.output


def test_rollback_ends_the_canary_and_leaves_the_live_bundle_live(v1_live: Workspace, runtimes):
    runtime = runtimes(v1_live, follow=False)
    canary(v1_live)
    runtime.refresh()
    before = v1_live.json("status")["environments"][0]
    dry = v1_live.run("rollback", *ENV, "--dry-run")
    assert dry.exit_code == 0 and "would end the canary of 2026.11.22-1" in dry.output
    ended = v1_live.run("rollback", *ENV, "--reason", "escalations up")
    assert ended.exit_code == 0, ended.output
    assert "ended the canary of 2026.11.22-1" in ended.output and "2026.11.01-1" in ended.output
    after = v1_live.json("status")["environments"][0]
    assert after["canary"] is None and (after["version"], after["pointer_version"]) == (before["version"], before["pointer_version"])
    event = v1_live.json("history", *ENV)["events"][0]
    assert (event["action"], event["percent"], event["reason"]) == ("canary-rollback", 0, "escalations up")
    assert runtime.refresh() is True
    assert all(runtime.current(key=f"k{i}").arm == "live" for i in range(500))
    assert v1_live.run("verify").exit_code == 0
    # with no canary left, rollback is a rollback again: nothing was live before V1 here
    assert "nothing was live in staging before" in v1_live.run("rollback", *ENV).stderr


def test_while_a_canary_runs_nothing_else_moves_the_environment(v1_live: Workspace):
    canary(v1_live)
    refs = v1_live.bundlectl_refs()
    to = v1_live.run("rollback", *ENV, "--to", V1)
    assert to.exit_code == 1
    assert "a canary of 2026.11.22-1 is running in staging at 10%, so moving the live bundle is refused" in to.stderr
    assert "complete it with `bundlectl promote support-triage@2026.11.22-1 --env staging`" in to.stderr
    component = v1_live.run("rollback", *ENV, "--component", "guardrails", "--break-glass", "--reason", "x")
    assert component.exit_code == 1 and "so moving the live bundle is refused" in component.stderr
    same = v1_live.run("promote", V2, "--env", "staging", "--canary", "10")
    assert same.exit_code == 0 and "already the canary of support-triage in staging at 10%; nothing to do" in same.output
    assert v1_live.bundlectl_refs() == refs


def test_a_canary_needs_a_live_bundle_a_passing_gate_no_pause_and_sane_shares(v1_live: Workspace):
    refs = v1_live.bundlectl_refs()
    for args, code, message in [
        (("--canary", "0"), 2, "a canary's share is a whole percentage from 1 to 99"),
        (("--canary", "100"), 2, "100% is a plain promotion"),
        (("--canary", "10", "--steps", "5,25,100"), 2, "--canary 10 is not one of --steps 5,25,100"),
        (("--canary", "10", "--steps", "10,x"), 2, "is not a comma-separated list of percentages"),
        (("--canary", "10", "--step-time", "soon"), 2, "--step-time soon: 'soon' is not a duration"),
        (("--steps", "10,100"), 2, "--steps and --step-time go with --canary PERCENT"),
    ]:
        result = v1_live.run("promote", V2, "--env", "staging", *args)
        assert result.exit_code == code and message in result.output, (args, result.output)
    nowhere = v1_live.run("promote", V2, "--env", "production", "--canary", "10")
    assert nowhere.exit_code == 1 and "nothing of support-triage is live in production" in nowhere.stderr
    live = v1_live.run("promote", V1, "--env", "staging", "--canary", "10")
    assert live.exit_code == 1 and "already live in staging; a canary needs another bundle" in live.stderr
    assert v1_live.run("pause", *ENV, "--reason", "incident").exit_code == 0
    refs = v1_live.bundlectl_refs()
    paused = v1_live.run("promote", V2, "--env", "staging", "--canary", "10")
    assert paused.exit_code == 1 and "staging of support-triage is paused" in paused.stderr
    assert v1_live.bundlectl_refs() == refs
    assert "Traceback" not in nowhere.output + live.output + paused.output


def test_a_candidate_that_fails_the_gate_never_becomes_a_canary(registered: Workspace):
    from tests.helpers import promptfoo_report, set_policy

    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1"))
    promote(registered, V1, "staging")
    refs = registered.bundlectl_refs()
    refused = registered.run("promote", V2, "--env", "staging", "--canary", "10")  # V2 has no evidence
    assert refused.exit_code == 1 and "may not go live in staging: failed" in refused.stderr
    assert registered.bundlectl_refs() == refs


def test_a_canary_pointer_written_behind_bundlectl_fails_verify_and_is_not_followed(v1_live: Workspace, runtimes):
    runtime = runtimes(v1_live, follow=False)
    digest = v1_live.json("show", V2)["digest"]
    forged = canonical_json({"name": "support-triage", "env": "staging", "digest": digest, "version": "2026.11.22-1", "percent": 90, "seq": 99})
    write_behind_bundlectl(v1_live, "pointers/canaries/support-triage/staging", forged)
    result = v1_live.run("verify")
    assert result.exit_code == 5 and "pointer canaries/support-triage/staging exists but the log never set it" in result.stderr
    assert runtime.refresh() is False
    assert runtime.current(key="user-1").arm == "live"
    assert "the canary pointer says canary 2026.11.22-1 at 90% (seq 99) but the log says nothing" in runtime.problem


def test_registry_copy_keeps_the_canary(v1_live: Workspace, tmp_path):
    canary(v1_live)
    target = tmp_path / "copy.git"
    assert v1_live.run("registry", "copy", v1_live.storage().url, str(target)).exit_code == 0
    assert v1_live.run("verify", "--registry", str(target)).exit_code == 0
    copied = json.loads(v1_live.run("status", "--registry", str(target), "--json").stdout)["environments"][0]
    assert copied["canary"]["version"] == "2026.11.22-1"


@pytest.mark.parametrize("edit", ["live", "share"])
def test_a_rewritten_canary_record_fails_verify(git_registered: Workspace, edit: str):
    from tests.helpers import set_policy
    from tests.registry.test_tampering import log_records, rewrite

    ws = git_registered
    set_policy(ws, "environments:\n  staging: {}\n")
    promote(ws, V1, "staging")
    assert ws.run("promote", V2, "--env", "staging", "--canary", "10").exit_code == 0
    from bundlectl.workflows.canary import advance_canary

    advance_canary(ws.storage(), "support-triage", "staging", ws.json("history", *ENV)["events"][0]["seq"], 50, claimed("x@example.com"))
    records = log_records(ws)
    if edit == "live":
        records[-2][2]["data"]["live_version"] = "2026.11.22-1"
        expected = "runs a canary beside 2026.11.22-1 in staging of support-triage, but the log had 2026.11.01-1 live there"
    else:
        records[-1][2]["data"]["percent"] = 5
        expected = "canary-advance of support-triage in staging at 5%, but the share does not grow"
    from tests.cli.test_pause import rechained

    rewrite(ws, rechained(records))
    result = ws.run("verify")
    assert result.exit_code == 5 and expected in result.stderr


def test_a_canary_rollback_rewritten_to_leave_a_share_fails_verify(git_registered: Workspace):
    """A canary-rollback record (and its pointer, to match) rewritten to 30%: the canary would still run, with the log
    saying it ended. Every other share bundlectl never writes is refused by the record's schema or its pointer."""
    from bundlectl.workflows.canary import end_canary
    from tests.cli.test_pause import rechained
    from tests.helpers import set_policy
    from tests.registry.test_tampering import log_records, rewrite

    ws = git_registered
    set_policy(ws, "environments:\n  staging: {}\n")
    promote(ws, V1, "staging")
    assert ws.run("promote", V2, "--env", "staging", "--canary", "10").exit_code == 0
    end_canary(ws.storage(), "support-triage", "staging", claimed("x@example.com"))
    records = log_records(ws)
    assert records[-1][2]["action"] == "canary-rollback"
    records[-1][2]["data"]["percent"] = 30
    rewrite(ws, rechained(records))
    data = records[-1][2]["data"]
    write_behind_bundlectl(
        ws,
        "pointers/canaries/support-triage/staging",
        canonical_json(
            {
                "name": data["name"],
                "env": data["env"],
                "digest": data["digest"],
                "version": data["version"],
                "percent": 30,
                "seq": records[-1][2]["seq"],
            }
        ),
    )
    ws.storage().index_path().unlink()  # a machine that never saw the honest log (a fresh clone)
    result = ws.run("verify")
    assert result.exit_code == 5
    assert "canary-rollback of support-triage in staging at 30%, but a canary-rollback ends it at 0%" in result.stderr
