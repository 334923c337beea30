"""bundlectl.api, the facade every command calls: cheap to import, and usable from Python as it is from the CLI."""

import json
import subprocess
import sys

from bundlectl import api
from tests.conftest import V1, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy


def test_importing_the_facade_imports_no_library_module():
    probe = ("import sys, json, bundlectl.api; print(json.dumps(sorted(m for m in sys.modules if m.startswith("
             "('bundlectl', 'click', 'git', 'deepdiff', 'boto3', 'botocore', 'pydantic', 'yaml')))))")
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
