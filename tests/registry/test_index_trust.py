"""The read index is a cache of the log: damage is rebuilt, edits are caught before they decide anything."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from bundlectl.digest.canonical import canonical_json
from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy, write_behind_bundlectl

POINTER = "pointers/envs/support-triage/staging"


@pytest.fixture
def live(git_registered: Workspace) -> Workspace:
    """v1 then v2 promoted to staging: v2 is live, v1 one step back."""
    ws = git_registered
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(ws, V1, promptfoo_report(ws, "v1"))
    add(ws, V2, promptfoo_report(ws, "v2"))
    promote(ws, V1, "staging")
    promote(ws, V2, "staging")
    assert ws.run("verify").exit_code == 0
    return ws


def index_path(ws: Workspace) -> Path:
    return Path(ws.storage().index_path())


def edit_index(ws: Workspace, statement: str) -> None:
    db = sqlite3.connect(index_path(ws))
    db.execute(statement)
    db.commit()
    db.close()


def log_head(ws: Workspace) -> str:
    return ws.repo.git.rev_parse("refs/bundlectl/log")


def test_an_edited_pointer_row_makes_promote_refuse_and_verify_name_the_index(live: Workspace):
    edit_index(live, "UPDATE pointers SET version='2026.11.01-1', digest=(SELECT digest FROM bundles WHERE version='2026.11.01-1')")
    before = log_head(live)
    result = live.run("promote", V1, "--env", "staging")
    assert result.exit_code == 5, result.output
    assert "pointer envs/support-triage/staging says 2026.11.22-1" in result.stderr
    assert "the read index built from the log says 2026.11.01-1" in result.stderr
    assert "already live" not in result.output and log_head(live) == before
    verified = live.run("verify")
    assert verified.exit_code == 5 and "disagrees with the log (table pointers)" in verified.stderr
    assert f"delete {index_path(live)}" in verified.stderr


def test_an_edited_policy_in_the_index_fails_verify(live: Workspace):
    edit_index(live, "UPDATE meta SET value=json_set(value, '$.environments.staging.gates.eval.min_pass_rate', 0) WHERE key='policy'")
    result = live.run("verify")
    assert result.exit_code == 5 and "disagrees with the log (table meta)" in result.stderr


def test_an_edited_evidence_row_fails_verify(live: Workspace):
    edit_index(live, "UPDATE evidence SET figures_json=json_set(figures_json, '$.pass_rate', 1.0)")
    result = live.run("verify")
    assert result.exit_code == 5 and "disagrees with the log (table evidence)" in result.stderr


@pytest.mark.parametrize("damage", ["not a database", "head seq not a number", "table dropped"])
def test_a_damaged_index_is_rebuilt_from_the_log(live: Workspace, damage: str):
    path = index_path(live)
    if damage == "not a database":
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.write_bytes(b"not a database" * 100)
    elif damage == "head seq not a number":
        edit_index(live, "UPDATE meta SET value='abc' WHERE key='seq'")
    else:
        edit_index(live, "DROP TABLE pointers")
    status = live.json("status")
    assert [(e["env"], e["version"]) for e in status["environments"]] == [("staging", "2026.11.22-1")]
    assert live.run("verify").exit_code == 0
    assert sqlite3.connect(path).execute("SELECT count(*) FROM pointers").fetchone() == (1,)


def test_a_hand_moved_pointer_is_not_overwritten_by_the_next_promote(live: Workspace):
    pointer = json.loads(live.repo.git.cat_file("blob", "refs/bundlectl/" + POINTER))
    v1 = {b["version"]: b["digest"] for b in live.json("list")["bundles"]}["2026.11.01-1"]
    forged = {**pointer, "digest": v1, "version": "2026.11.01-1", "pointer_version": 99}
    write_behind_bundlectl(live, POINTER, canonical_json(forged))
    before = log_head(live)
    result = live.run("promote", V1, "--env", "staging")
    assert result.exit_code == 5 and "pointer envs/support-triage/staging says 2026.11.01-1" in result.stderr
    assert log_head(live) == before
    assert json.loads(live.repo.git.cat_file("blob", "refs/bundlectl/" + POINTER)) == forged  # the evidence stays


def test_a_log_ref_at_an_annotated_tag_is_an_integrity_failure(live: Workspace):
    head = log_head(live)
    tag = subprocess.run(
        ["git", "mktag"],
        cwd=live.root,
        capture_output=True,
        check=True,
        text=True,
        input=f"object {head}\ntype commit\ntag t\ntagger a <a@example.com> 0 +0000\n\nm\n",
    ).stdout.strip()
    live.repo.git.update_ref("refs/bundlectl/log", tag)
    status = live.run("status")
    assert status.exit_code == 5 and f"the registry log head {tag[:12]} is not a record" in status.stderr
    verified = live.run("verify")
    assert verified.exit_code == 5 and "is not a record" in verified.stderr
