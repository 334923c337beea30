"""Read commands must not import what they do not use (README: Benchmarks): checked in a fresh interpreter."""

import json
import subprocess
import sys

from tests.conftest import Workspace

PROBE = """
import sys, json
from bundlectl.cli.main import cli
try:
    cli.main(args=sys.argv[1:], prog_name="bundlectl")
except SystemExit:
    pass
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'git', 'deepdiff', 'boto3', 'botocore', 'pydantic', 'yaml'})
print(json.dumps(heavy), file=sys.stderr)
"""


def heavy_imports(ws: Workspace, *args: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ws.root, capture_output=True, text=True, check=False)
    return json.loads(result.stderr.strip().splitlines()[-1])


def test_list_and_show_import_nothing_heavy(git_registered: Workspace):
    registered = git_registered
    assert heavy_imports(registered, "list", "--json") == []
    assert heavy_imports(registered, "show", "support-triage@2026.11.01-1", "--json") == []


def test_status_and_history_import_nothing_heavy(git_registered: Workspace):
    registered = git_registered
    from tests.helpers import add, promote, promptfoo_report, set_policy

    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(registered, "support-triage@2026.11.01-1", promptfoo_report(registered, "v1"))
    promote(registered, "support-triage@2026.11.01-1", "staging")
    assert heavy_imports(registered, "status", "--json") == []
    assert heavy_imports(registered, "history", "support-triage", "--env", "staging", "--json") == []
