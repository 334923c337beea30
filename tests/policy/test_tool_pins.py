"""A policy may pin the tool that runs its reports (issue 21): a fake `promptfoo` earlier on PATH, run as the
bundle's declared harness, turns a failing run into a passing one; under a pin it does not count."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import V1, Workspace
from tests.helpers import promptfoo_report, set_policy

# what a `promptfoo` on PATH does here: answers --version, and writes the report of v1's suite as of now (the
# honest one keeps each case's result; the fake marks every case passed)
TOOL = """#!{python}
import datetime, json, os, secrets, sys
if "--version" in sys.argv:
    print("0.115.0")
    sys.exit(0)
document = json.load(open(os.environ["V1_REPORT"]))
now = datetime.datetime.now(datetime.timezone.utc)
document["results"]["timestamp"] = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
document["evalId"] = "eval-" + secrets.token_hex(2)[:3] + "-" + now.strftime("%Y-%m-%dT%H:%M:%S")
document["config"]["prompts"] = ["file://" + os.environ["BUNDLECTL_BUNDLE_DIR"] + "/prompts/user.j2"]
for result in document["results"]["results"]:
    result["success"] = result["success"] or {fake}
json.dump(document, open(sys.argv[sys.argv.index("-o") + 1], "w"))
"""


def tool(folder: Path, fake: bool) -> str:
    """A `promptfoo` executable in `folder`; its sha256 as evidence records it."""
    folder.mkdir()
    path = folder / "promptfoo"
    path.write_text(TOOL.format(python=sys.executable, fake=fake))
    path.chmod(0o755)
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tools(git_registered: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.setenv("V1_REPORT", promptfoo_report(git_registered, "v1"))
    return tool(tmp_path / "honest", False), tool(tmp_path / "fake", True)


def on_path(monkeypatch: pytest.MonkeyPatch, *folders: Path) -> None:
    monkeypatch.setenv("PATH", os.pathsep.join([*map(str, folders), os.environ["PATH"]]))


def pin(ws: Workspace, sha256: str, version: str | None = None) -> None:
    pinned = {"executable_sha256": sha256, **({"tool_version": version} if version else {})}
    set_policy(
        ws,
        f"environments:\n  production: {{gates: {{eval: {{min_cases: 50, min_pass_rate: 0.5, provenance: run, tools: [{json.dumps(pinned)}]}}}}}}\n",
    )


def test_a_fake_tool_earlier_on_path_does_not_count_under_a_pin(
    git_registered: Workspace, tools: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    ws, (honest, fake) = git_registered, tools
    pin(ws, honest, "0.115.0")
    on_path(monkeypatch, tmp_path / "fake", tmp_path / "honest")
    ran = ws.run("eval", V1, "--json")
    assert ran.exit_code == 0, ran.output
    bound = json.loads(ran.stdout)
    assert bound["figures"]["passed"] == bound["figures"]["cases"]  # the fake's record: every case passed, harness true
    listed = ws.json("evidence", "list", V1, "--env", "production")["evidence"][0]
    assert listed["run"]["harness"] is True and listed["run"]["executable_sha256"] == fake
    assert listed["counts"] is False
    assert listed["why"] == (f"run by {tmp_path / 'fake' / 'promptfoo'} ({fake[:19]}…, version 0.115.0), which none of the gate's tool pins names")
    gate = ws.run("gate", V1, "--env", "production")
    assert gate.exit_code == 1 and "which none of the gate's tool pins names" in gate.output
    assert ws.run("verify").exit_code == 0  # the record is honest about what ran; the pin is what refuses it


def test_the_pinned_tool_counts_and_a_pin_on_another_version_does_not(
    git_registered: Workspace, tools: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    ws, (honest, _) = git_registered, tools
    on_path(monkeypatch, tmp_path / "honest")
    assert ws.run("eval", V1).exit_code in (0, 100)
    pin(ws, honest)
    assert ws.json("evidence", "list", V1, "--env", "production")["evidence"][0]["counts"] is True
    pin(ws, honest, "0.120.0")
    listed = ws.json("evidence", "list", V1, "--env", "production")["evidence"][0]
    assert listed["counts"] is False and "which none of the gate's tool pins names" in listed["why"]


def test_an_attached_report_never_meets_a_pin(git_registered: Workspace, tools: tuple[str, str]):
    ws, (honest, _) = git_registered, tools
    pin(ws, honest)
    assert ws.run("evidence", "add", V1, promptfoo_report(ws, "v1")).exit_code == 0
    listed = ws.json("evidence", "list", V1, "--env", "production")["evidence"][0]
    assert listed["counts"] is False
    assert listed["why"] == "attached, and the gate pins the tool that must run its reports (tools)"


def test_a_malformed_pin_is_refused_and_nothing_is_stored(git_registered: Workspace):
    ws = git_registered
    head = ws.log_head()
    path = ws.root / "pinned.yaml"
    path.write_text(
        "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  production: {gates: {eval: "
        "{min_pass_rate: 0.5, tools: [{executable_sha256: abc}]}}}\n"
    )
    result = ws.run("policy", "set", str(path))
    assert result.exit_code == 1 and "executable_sha256" in result.stderr
    assert ws.log_head() == head
