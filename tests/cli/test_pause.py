"""`pause` / `resume`: the kill switch is a logged event that blocks promotion (not rollback) and shows everywhere."""

import json
from pathlib import Path

import pytest

from bundlectl.digest.canonical import canonical_json, sha256_of
from tests.conftest import V1, V2, Workspace
from tests.helpers import promote, set_policy, write_behind_bundlectl
from tests.registry.test_tampering import log_records, rewrite

ENV = ("support-triage", "--env", "staging")


@pytest.fixture
def live(v1_live: Workspace) -> Workspace:
    """V1 then V2 promoted to staging, on each backend."""
    promote(v1_live, V2, "staging")
    return v1_live


def paused_state(ws: Workspace) -> dict | None:
    (row,) = [r for r in ws.json("status")["environments"] if r["env"] == "staging"]
    return row["paused"]


def test_a_paused_environment_refuses_promotion_but_not_rollback_until_resumed(live: Workspace):
    result = live.run("pause", *ENV, "--reason", "answers cite the wrong policy")
    assert result.exit_code == 0, result.output
    assert "paused support-triage in staging" in result.output and "2026.11.22-1 stays live" in result.output
    assert paused_state(live)["reason"] == "answers cite the wrong policy"

    before = live.bundlectl_refs()
    refused = live.run("promote", V1, "--env", "staging")
    assert refused.exit_code == 1
    assert "staging of support-triage is paused (by tester@example.com at " in refused.stderr
    assert "answers cite the wrong policy); nothing was changed" in refused.stderr
    assert "resume it first with `bundlectl resume support-triage --env staging`" in refused.stderr
    assert live.bundlectl_refs() == before
    assert live.run("promote", V1, "--env", "staging", "--dry-run").exit_code == 1  # a dry run says so too

    rolled = live.run("rollback", *ENV, "--reason", "back to the known good one while paused")
    assert rolled.exit_code == 0, rolled.output
    assert live.json("status")["environments"][0]["version"] == "2026.11.01-1"
    assert paused_state(live)["reason"] == "answers cite the wrong policy"  # a rollback does not end the pause

    resumed = live.run("resume", *ENV)
    assert resumed.exit_code == 0 and "resumed support-triage in staging: runtimes serve 2026.11.01-1 again" in resumed.output
    assert paused_state(live) is None
    promote(live, V2, "staging")
    assert live.run("verify").exit_code == 0


def test_pause_needs_a_reason_and_a_live_bundle_and_writes_nothing_otherwise(live: Workspace):
    before = live.bundlectl_refs()
    missing = live.run("pause", *ENV)
    assert missing.exit_code == 2 and "Missing option '--reason'" in missing.output
    blank = live.run("pause", *ENV, "--reason", "  ")
    assert blank.exit_code == 1 and "a pause of support-triage in staging needs a reason" in blank.stderr
    nowhere = live.run("pause", "support-triage", "--env", "prodution", "--reason", "typo in the env")
    assert nowhere.exit_code == 4
    assert "nothing of support-triage is live in prodution, so there is nothing to pause" in nowhere.stderr
    assert live.run("resume", "support-triage", "--env", "prodution").exit_code == 4
    dry = live.run("pause", *ENV, "--reason", "just looking", "--dry-run")
    assert dry.exit_code == 0 and "would pause support-triage in staging (dry run: nothing changed)" in dry.output
    assert live.bundlectl_refs() == before
    assert "Traceback" not in missing.output + blank.output + nowhere.output


def test_pausing_twice_and_resuming_what_is_not_paused_are_no_ops(live: Workspace):
    not_paused = live.run("resume", *ENV)
    assert not_paused.exit_code == 0 and "is not paused; nothing to do" in not_paused.output
    first = live.json("pause", *ENV, "--reason", "first")
    assert first["changed"] is True and first["paused"] is True and first["version"] == "2026.11.22-1"
    count = live.event_count()
    again = live.run("pause", *ENV, "--reason", "second")
    assert again.exit_code == 0 and "already paused (by tester@example.com (claimed) at" in again.output and ": first); nothing to do" in again.output
    assert live.event_count() == count
    assert live.json("pause", *ENV, "--reason", "third")["before"]["reason"] == "first"


def test_history_status_and_audit_show_the_pause(live: Workspace):
    assert live.run("pause", *ENV, "--reason", "incident 42", "--actor", "oncall@example.com").exit_code == 0
    during = live.json("history", *ENV)["events"][0]["time"]
    assert live.run("resume", *ENV, "--reason", "fixed upstream").exit_code == 0

    events = live.json("history", *ENV)["events"]
    assert [e["action"] for e in events] == ["resume", "pause", "promote", "promote"]
    pause = events[1]
    assert pause["actor"] == "oncall@example.com" and pause["reason"] == "incident 42"
    assert pause["from_version"] == pause["to_version"] == "2026.11.22-1" and pause["from_digest"] == pause["to_digest"]
    assert events[0]["reason"] == "fixed upstream"
    assert [e["action"] for e in live.json("history", *ENV, "--limit", "2")["events"]] == ["resume", "pause"]
    table = live.run("history", *ENV).output
    assert "pause" in table and "incident 42" in table and "resume" in table

    at_pause = live.json("audit", "support-triage", "--env", "staging", "--at", during)
    assert at_pause["version"] == "2026.11.22-1"
    assert at_pause["paused"] == {"since": during, "by": "oncall@example.com", "by_signed": False, "reason": "incident 42", "seq": pause["seq"]}
    audited = live.run("audit", "support-triage", "--env", "staging", "--at", during)
    assert "staging was paused then (by oncall@example.com (claimed)" in audited.stderr
    assert live.json("audit", "support-triage", "--env", "staging", "--at", events[0]["time"])["paused"] is None
    assert live.json("audit", "support-triage", "--env", "staging", "--at", events[2]["time"])["paused"] is None

    live.run("pause", *ENV, "--reason", "again")
    row = live.json("status")["environments"][0]
    assert row["paused"]["reason"] == "again" and row["paused"]["by"] == "tester@example.com"
    assert "PAUSED by tester@example.com (claimed): again" in live.run("status").output


def test_a_pause_pointer_the_log_never_set_fails_verify(live: Workspace):
    forged = canonical_json({"name": "support-triage", "env": "staging", "paused": False, "seq": 99})
    write_behind_bundlectl(live, "pointers/pauses/support-triage/staging", forged)
    result = live.run("verify")
    assert result.exit_code == 5 and "pointer pauses/support-triage/staging exists but the log never set it" in result.stderr


def test_an_unpause_written_behind_bundlectl_fails_verify(live: Workspace):
    assert live.run("pause", *ENV, "--reason", "incident").exit_code == 0
    (seq,) = [e["seq"] for e in live.json("history", *ENV)["events"] if e["action"] == "pause"]
    forged = canonical_json({"name": "support-triage", "env": "staging", "paused": False, "seq": seq})
    write_behind_bundlectl(live, "pointers/pauses/support-triage/staging", forged)
    result = live.run("verify")
    assert result.exit_code == 5 and "pointer pauses/support-triage/staging says" in result.stderr
    assert "paused=False" in result.stderr and "paused=True" in result.stderr
    refused = live.run("resume", *ENV)  # a writer never builds on a pointer that disagrees with the log
    assert refused.exit_code == 5
    assert (
        f"pointer pauses/support-triage/staging says resumed at seq {seq}, but the read index built from the log says "
        f"paused at seq {seq}" in refused.stderr
    )


def rechained(records: list[tuple[str, str, dict]]) -> list[tuple[str, str, dict]]:
    """The records renumbered with their prev hashes recomputed: a consistent history, as a careful attacker writes it."""
    prev = None
    for number, (_, _, payload) in enumerate(records, start=1):
        payload.update(seq=number, prev=prev)
        prev = sha256_of(canonical_json(payload))
    return records


def test_a_rewritten_log_that_promotes_while_paused_fails_verify(git_registered: Workspace):
    ws = git_registered
    set_policy(ws, "environments:\n  staging: {}\n")
    promote(ws, V1, "staging")
    assert ws.run("pause", *ENV, "--reason", "incident").exit_code == 0
    assert ws.run("resume", *ENV).exit_code == 0
    promote(ws, V2, "staging")
    records = [r for r in log_records(ws) if r[2]["action"] != "resume"]
    rewrite(ws, rechained(records))
    result = ws.run("verify")
    assert result.exit_code == 5
    assert "promotes staging of support-triage while it is paused" in result.stderr


def test_a_forged_pause_record_naming_another_bundle_fails_verify(git_registered: Workspace):
    ws = git_registered
    set_policy(ws, "environments:\n  staging: {}\n")
    promote(ws, V1, "staging")
    assert ws.run("pause", *ENV, "--reason", "incident").exit_code == 0
    records = log_records(ws)
    records[-1][2]["data"].update(version="2026.11.22-1", digest=ws.json("show", V2)["digest"])
    rewrite(ws, records)
    result = ws.run("verify")
    assert result.exit_code == 5
    assert "pauses staging of support-triage at 2026.11.22-1 (pointer version 1), but the log had it at 2026.11.01-1" in result.stderr


def test_registry_copy_keeps_the_pause(live: Workspace, tmp_path: Path):
    assert live.run("pause", *ENV, "--reason", "incident").exit_code == 0
    target = tmp_path / "copy.git"
    source = live.storage().url
    assert live.run("registry", "copy", source, str(target)).exit_code == 0
    assert live.run("verify", "--registry", str(target)).exit_code == 0
    copied = json.loads(live.run("status", "--registry", str(target), "--json").stdout)["environments"][0]
    assert copied["paused"]["reason"] == "incident"
