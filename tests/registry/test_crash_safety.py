"""A process killed at any write step leaves the registry as before or as after; verify passes."""

import subprocess
import sys

import pytest

from bundlectl.foundation.faults import EVENT_WRITTEN, LOG_MOVED, OBJECTS_STORED
from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promptfoo_report, set_policy


def run_killed(ws: Workspace, fault: str, *args: str) -> int:
    import os

    env = {**os.environ, "BUNDLECTL_FAULT": fault}
    return subprocess.run([sys.executable, "-m", "bundlectl", *args], cwd=ws.root, env=env, capture_output=True).returncode


def seq(ws: Workspace) -> int:
    return ws.event_count()


def prepare(ws: Workspace) -> dict[str, list[str]]:
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    report = promptfoo_report(ws, "v1")
    add(ws, V1, report)
    policy = ws.root / "other-policy.yaml"
    policy.write_text("apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {gates: {eval: {min_cases: 10, min_pass_rate: 0.8}}}\n")
    return {
        "register": ["register", "bundles/support-triage-v2-copy"],
        "evidence add": ["evidence", "add", V2, promptfoo_report(ws, "v2")],
        "policy set": ["policy", "set", str(policy)],
        "approve": ["approve", V1, "--env", "staging", "--actor", "bob@example.com"],
        "promote": ["promote", V1, "--env", "staging"],
    }


CASES = [(c, f) for c in ("register", "evidence add") for f in (OBJECTS_STORED, EVENT_WRITTEN, LOG_MOVED)] + [
    (c, f) for c in ("policy set", "approve", "promote") for f in (EVENT_WRITTEN, LOG_MOVED)
]


@pytest.mark.parametrize("command,fault", CASES)
def test_kill_at_each_write_point(registered: Workspace, command: str, fault: str):
    import shutil

    copy = registered.root / "bundles/support-triage-v2-copy"
    shutil.copytree(registered.root / "bundles/support-triage-v2", copy)
    (copy / "bundle.yaml").write_text((copy / "bundle.yaml").read_text().replace("2026.11.22-1", "2026.11.22-2"))
    commands = prepare(registered)
    before = seq(registered)
    assert run_killed(registered, fault, *commands[command]) == -9
    after_kill = seq(registered)
    assert after_kill == before + (1 if fault == LOG_MOVED else 0)  # before, or after: never in between
    verified = registered.run("verify")
    assert verified.exit_code == 0, verified.output
    finished = registered.run(*commands[command])  # the same command completes (or is a no-op) afterwards
    assert finished.exit_code == 0, finished.output
    assert seq(registered) == before + 1
    assert registered.run("verify").exit_code == 0


ROLLBACKS = {
    "whole": ["rollback", "support-triage", "--env", "staging"],
    "component": ["rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--break-glass", "--reason", "x"],
}


@pytest.mark.parametrize("kind", list(ROLLBACKS))
@pytest.mark.parametrize("fault", [EVENT_WRITTEN, LOG_MOVED])
def test_kill_rollback_at_each_write_point(registered: Workspace, kind: str, fault: str):
    from tests.helpers import promote

    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1"))
    add(registered, V2, promptfoo_report(registered, "v2"))
    promote(registered, V1, "staging")
    promote(registered, V2, "staging")
    before = seq(registered)
    assert run_killed(registered, fault, *ROLLBACKS[kind]) == -9
    assert seq(registered) == before + (1 if fault == LOG_MOVED else 0)
    live = registered.json("status")["environments"][0]["version"]
    after = "2026.11.01-1" if kind == "whole" else "2026.11.22-1+rb.guardrails"
    assert live == ("2026.11.22-1" if fault == EVENT_WRITTEN else after)
    assert registered.run("verify").exit_code == 0
