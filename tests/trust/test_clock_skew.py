"""One skewed clock poisons no one (issue 21): an approver a year ahead writes one record, by hand (ssh-keygen and
plain git or S3 calls); later writers stamp their own time, readers count the record at the time of the next one,
and `verify` names it once instead of failing forever."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bundlectl.digest.canonical import canonical_json, sha256_of
from bundlectl.foundation.clock import event_time
from tests.conftest import V1, V2, Workspace
from tests.trust.conftest import Keys, ok
from tests.trust.test_signed_tampering import history, records, sign, store  # noqa: F401 (history is a fixture)

YEAR_AHEAD = event_time(datetime.now(UTC) + timedelta(days=365))


@pytest.fixture
def skewed(history: Workspace, keys: Keys) -> Workspace:  # noqa: F811
    """The history, then carol's approval of V2 for production, dated a year ahead and appended by hand."""
    kept = records(history)
    last = json.loads(kept[-1][1])
    approval = {
        "seq": last["seq"] + 1,
        "prev": sha256_of(kept[-1][1]),
        "time": YEAR_AHEAD,
        "actor": "carol@example.com",
        "action": "approval",
        "reason": None,
        "registry": last["registry"],
        "data": {"name": "support-triage", "version": "2026.11.22-1", "digest": history.json("show", V2)["digest"], "env": "production"},
    }
    payload = canonical_json(approval)
    store(history, [*kept, (f"record {approval['seq']}", payload, sign(keys, "carol", payload))], unchanged=len(kept))
    return history


def test_verify_names_the_skewed_record_once_and_passes(skewed: Workspace):
    result = skewed.run("verify")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert f"(approval by carol@example.com) is dated {YEAR_AHEAD}" in warnings[0]
    assert "fix that machine's clock" in warnings[0]
    assert skewed.json("verify")["skewed"] == [warnings[0].removeprefix("warning: ")]


def test_later_writers_stamp_their_own_time_and_a_pause_is_not_hidden_from_audit(skewed: Workspace, keys: Keys):
    before = datetime.now(UTC)
    ok(skewed, "pause", "support-triage", "--env", "staging", "--reason", "incident", "--key", keys.path("pete"))
    newest = json.loads(records(skewed)[-1][1])
    assert newest["action"] == "pause" and newest["time"] < YEAR_AHEAD
    assert before - timedelta(minutes=1) <= datetime.fromisoformat(newest["time"].replace("Z", "+00:00"))
    soon = event_time(datetime.now(UTC) + timedelta(minutes=1))
    audited = json.loads(skewed.run("audit", "support-triage", "--at", soon, "--env", "staging", "--json").stdout)
    assert audited["paused"]["reason"] == "incident"
    from bundlectl.registry.index import Index

    index = Index(skewed.storage().index_path())  # this machine's read index, which the gate and audit answer from
    approval = index.approvals_for(skewed.json("show", V2)["digest"], "production")[0]
    assert approval.time == newest["time"]  # counted at the time of the record after it


def test_a_writer_behind_the_log_head_is_refused_and_writes_nothing(history: Workspace, keys: Keys):  # noqa: F811
    """The newest record is an hour ahead of this machine: on git, this machine's clock is taken as the wrong one; on S3
    the bucket's clock tells, and here it agrees with this machine."""
    kept = records(history)
    last = json.loads(kept[-1][1])
    ahead = event_time(datetime.now(UTC) + timedelta(hours=1))
    approval = {
        **json.loads(kept[-2][1]),
        "seq": last["seq"] + 1,
        "prev": sha256_of(kept[-1][1]),
        "time": ahead,
        "actor": "carol@example.com",
        "action": "approval",
        "reason": None,
        "data": {"name": "support-triage", "version": "2026.11.01-1", "digest": history.json("show", V1)["digest"], "env": "production"},
    }
    approval.pop("run_url", None)
    payload = canonical_json(approval)
    store(history, [*kept, (f"record {approval['seq']}", payload, sign(keys, "carol", payload))], unchanged=len(kept))
    head = history.storage().log_head()
    refused = history.run("approve", V2, "--env", "production", "--key", keys.path("bob"))
    if history.backend == "s3":  # the bucket's Date header agrees with this machine: the record is the skewed one
        assert refused.exit_code == 0, refused.output
        assert json.loads(records(history)[-1][1])["time"] < ahead  # this machine's time; readers cap the record
        return
    assert refused.exit_code == 1
    assert "this machine's clock is" in refused.stderr and f"behind the newest record of the log ({ahead})" in refused.stderr
    assert "nothing was written" in refused.stderr
    assert history.storage().log_head() == head


def test_a_canary_started_after_the_skewed_record_runs_on_this_machines_time(skewed: Workspace, keys: Keys):
    """Before: the canary was stamped a year ahead (after the skewed record), so `--step-time 0m` held for 8759h."""
    ok(skewed, "promote", V2, "--env", "staging", "--canary", "10", "--step-time", "0m", "--key", keys.path("pete"))
    canary = skewed.json("status")["environments"][0]["canary"]
    since = datetime.fromisoformat(canary["since"].replace("Z", "+00:00"))
    assert canary["since"] < YEAR_AHEAD and since <= datetime.now(UTC)
