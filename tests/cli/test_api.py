"""bundlectl.api, the facade every command calls: cheap to import, and usable from Python as it is from the CLI."""

import json
import subprocess
import sys

from bundlectl import api
from tests.conftest import V1, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy


def test_importing_the_facade_imports_no_library_module():
    probe = (
        "import sys, json, bundlectl.api; print(json.dumps(sorted(m for m in sys.modules if m.startswith("
        "('bundlectl', 'click', 'git', 'deepdiff', 'boto3', 'botocore', 'pydantic', 'yaml')))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == ["bundlectl", "bundlectl.api"]


def test_the_facade_from_python(git_registered: Workspace):
    ws = git_registered
    assert [(b.name, b.version) for b in api.list_bundles().bundles] == [("support-triage", "2026.11.01-1"), ("support-triage", "2026.11.22-1")]
    assert api.show(V1).digest == ws.json("show", V1)["digest"]
    assert api.status() == []
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8, max_age: 7d}}}\n")
    add(ws, V1, promptfoo_report(ws, "v1"))
    assert api.gate(V1, "staging").passed
    promote(ws, V1, "staging")
    [live] = api.status("support-triage")
    assert (live.env, live.version, live.healthy) == ("staging", "2026.11.01-1", True)
    assert [e.to_version for e in api.history("support-triage", "staging").events] == ["2026.11.01-1"]
    listing = api.evidence_list(V1, "staging")
    assert (listing.eval_max_age, [e.fresh for e in listing.evidence]) == ("7d", [True])


def test_one_registry_handle_and_one_act_value(git_registered: Workspace, tmp_path, monkeypatch):
    """`registry=` names the registry from anywhere; `act=` carries who acts, why, and whether for real."""
    ws = git_registered
    set_policy(ws, "environments:\n  staging: {}\n")
    promote(ws, V1, "staging")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no repository around: only the handle finds the registry
    registry = api.Registry(str(ws.root))
    assert [b.version for b in api.list_bundles("support-triage", registry=registry).bundles] == ["2026.11.01-1", "2026.11.22-1"]
    before = ws.bundlectl_refs()
    dry = api.pause("support-triage", "staging", registry=registry, act=api.Act(actor="alice@example.com", reason="why", dry_run=True))
    assert dry.dry_run and ws.bundlectl_refs() == before  # a dry run wrote nothing
    paused = api.pause("support-triage", "staging", registry=registry, act=api.Act(actor="alice@example.com", reason="incident"))
    assert paused.seq is not None
    [event] = [e for e in api.history("support-triage", "staging", registry=registry).events if e.seq == paused.seq]
    assert (event.actor, event.reason) == ("alice@example.com", "incident")
