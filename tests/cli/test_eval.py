"""`bundlectl eval`: a harness run on the bundle's exact files, measured by bundlectl, bound as `run` evidence."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, V1, V2, Workspace
from tests.helpers import add, promptfoo_report, set_policy, suite_cases

PROMPTFOO = "0.115.0"
# a harness that writes a native report of every case of v1's suite, stating the bundle it ran
NATIVE_HARNESS = """
import json, os, sys, datetime
cases = json.loads(os.environ["CASES"])
now = datetime.datetime.now(datetime.timezone.utc).isoformat()
report = {"format": "bundlectl/evidence-v1", "kind": "eval", "run_at": now, "tool": "harness",
          "bundle_digest": os.environ["BUNDLECTL_BUNDLE_DIGEST"],
          "cases": [{"id": i, "slice": s, "passed": n > 2, "latency_ms": 900} for n, (i, s) in enumerate(cases)]}
assert os.path.isfile(os.path.join(os.environ["BUNDLECTL_BUNDLE_DIR"], "bundle.yaml"))
open("out/report.json" if os.path.isdir("out") else "report.json", "w").write(json.dumps(report))
print("harness ran", len(cases), "cases")
sys.exit(int(os.environ.get("EXIT", "0")))
"""


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("CASES", json.dumps(suite_cases("v1")))
    return [sys.executable, "-c", NATIVE_HARNESS]


def test_a_run_is_bound_with_measured_provenance(registered: Workspace, harness: list[str]):
    result = registered.run("eval", V1, "--report", "report.json", "--json", "--", *harness)
    assert result.exit_code == 0, result.output
    bound = json.loads(result.stdout)
    assert bound["provenance"] == "run" and bound["figures"]["passed"] == 51 and bound["exit_status"] == 0
    assert "harness ran 54 cases" in result.stderr  # with --json the tool's output goes to stderr
    listed = registered.json("evidence", "list", V1)["evidence"][0]
    run = listed["run"]
    assert run["mode"] == "run" and run["command"][0] == sys.executable and run["exit_status"] == 0
    assert run["host"] and run["started_at"] <= run["report_time"][:19] + "Z" <= run["ended_at"]
    assert listed["run_at"] == run["started_at"] and listed["counts"] is True


def test_the_tools_exit_status_is_bundlectls_once_bound(registered: Workspace, harness: list[str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EXIT", "100")
    result = registered.run("eval", V1, "--report", "report.json", "--", *harness)
    assert result.exit_code == 100, result.output
    assert "harness ran 54 cases" in result.stdout and "bound eval evidence (native, run" in result.stdout


def test_a_copied_report_is_not_a_run(registered: Workspace):
    old = promptfoo_report(registered, "v1")
    head = registered.log_head()
    result = registered.run("eval", V1, "--report", "results.json", "--", "cp", old, "results.json")
    assert result.exit_code == 1 and "the command did not write it" in result.stderr
    assert registered.log_head() == head


def test_no_report_or_no_way_to_find_it(registered: Workspace):
    nothing = registered.run("eval", V1, "--report", "none.json", "--", "true")
    assert nothing.exit_code == 1 and "exited 0 and wrote no report at none.json" in nothing.stderr
    unknown = registered.run("eval", V1, "--", "true")
    assert unknown.exit_code == 2 and "pass --report FILE" in unknown.stderr
    missing = registered.run("eval", V1, "--report", "r.json", "--", "no-such-tool-here")
    assert missing.exit_code == 2 and "cannot run 'no-such-tool-here'" in missing.stderr


def test_provenance_run_counts_only_runs(registered: Workspace, harness: list[str]):
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 50, min_pass_rate: 0.85, provenance: run}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1"))
    gate = registered.run("gate", V1, "--env", "staging", "--json")
    assert gate.exit_code == 1
    check = json.loads(gate.stdout)["checks"][0]
    assert check["name"] == "eval" and "attached, and the gate demands provenance: run" in check["detail"]
    listed = registered.json("evidence", "list", V1, "--env", "staging")["evidence"][0]
    assert listed["counts"] is False and listed["provenance"] == "attached"
    assert registered.run("eval", V1, "--report", "report.json", "--", *harness).exit_code == 0
    assert registered.run("gate", V1, "--env", "staging").exit_code == 0


# --- real tools ----------------------------------------------------------------------------------------------


def test_pytest_with_a_declared_case_list(registered: Workspace):
    """A pytest suite: `evals cases` writes its case list from one run; later runs must report exactly those cases."""
    folder = registered.root / "bundles/support-triage-v1"
    (folder / "evals/test_triage.py").write_text(
        "import os, pytest\n\n"
        "@pytest.mark.parametrize('ticket', ['refund', 'invoice', 'outage'])\n"
        "def test_routes(ticket):\n    assert os.environ['BUNDLECTL_BUNDLE_DIGEST'].startswith('sha256:')\n\n"
        "def test_escalates():\n    assert False, 'no escalation yet'\n")
    first = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "evals/test_triage.py",
                            "--junitxml=first.xml"], cwd=folder, env={**os.environ, "BUNDLECTL_BUNDLE_DIGEST": "sha256:x"},
                           capture_output=True)
    assert first.returncode == 1, first.stdout
    cases = registered.run("evals", "cases", str(folder / "first.xml"))
    assert cases.exit_code == 0 and "- {id: \"evals.test_triage::test_routes[refund]\"}" in cases.stdout
    (folder / "evals/cases.yaml").write_text(cases.stdout.replace('test_escalates"}', 'test_escalates", slice: "adversarial"}'))
    (folder / "first.xml").unlink()
    text = (folder / "bundle.yaml").read_text().replace(
        "suite: evals/promptfooconfig.yaml\n    files: [evals/provider.py]",
        "suite: evals/test_triage.py\n    cases: evals/cases.yaml").replace("2026.11.01-1", "2026.11.01-7")
    (folder / "bundle.yaml").write_text(text)
    assert registered.run("register", str(folder)).exit_code == 0
    result = registered.run("eval", "support-triage@2026.11.01-7", "--json", "--", sys.executable, "-m", "pytest",
                            "-p", "no:cacheprovider", "evals/test_triage.py", "--junitxml=junit.xml")
    assert result.exit_code == 1, result.output  # pytest's own status: one test failed
    bound = json.loads(result.stdout)
    assert (bound["source"], bound["provenance"], bound["cases"]) == ("junit", "run", "cases")
    assert bound["figures"]["slices"]["adversarial"] == {"cases": 1, "passed": 0, "pass_rate": 0.0}
    run = registered.json("evidence", "list", "support-triage@2026.11.01-7")["evidence"][0]["run"]
    assert run["tool"] == "pytest" and run["tool_version"] and run["exit_status"] == 1


def install_promptfoo() -> Path:
    """promptfoo 0.115.0, installed once into the cache by the script the demo uses; a machine without npm fails here."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.fail("promptfoo cannot be installed: Node.js 20 and npm are needed for the real promptfoo tests")
    install = subprocess.run(["bash", str(ROOT / "examples/install-promptfoo.sh")], capture_output=True, text=True, timeout=1200)
    assert install.returncode == 0, f"installing promptfoo {PROMPTFOO} failed:\n{install.stderr[-2000:]}"
    return Path(install.stdout.strip())


@pytest.fixture(scope="session")
def promptfoo() -> str:
    return str(install_promptfoo())


def test_real_promptfoo_runs_of_both_example_bundles(git_registered: Workspace, promptfoo: str,
                                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for name, value in (("PROMPTFOO_DISABLE_TELEMETRY", "1"), ("PROMPTFOO_DISABLE_UPDATE", "1"),
                        ("PROMPTFOO_CONFIG_DIR", str(tmp_path / "promptfoo"))):
        monkeypatch.setenv(name, value)
    set_policy(git_registered, "environments:\n  staging: {gates: {eval: {min_cases: 50, min_pass_rate: 0.85, provenance: run}}}\n")
    for ref, passed in ((V1, 48), (V2, 62)):
        result = git_registered.run("eval", ref, "--json", "--", promptfoo, "eval", "-c", "evals/promptfooconfig.yaml",
                                    "-o", "results.json", "--no-cache", "--no-progress-bar")
        assert result.exit_code in (0, 100), result.output  # promptfoo exits 100 when a case fails
        bound = json.loads(result.stdout)
        assert (bound["source"], bound["provenance"], bound["cases"]) == ("promptfoo", "run", "suite")
        assert bound["figures"]["passed"] == passed
        run = git_registered.json("evidence", "list", ref)["evidence"][0]["run"]
        assert run["tool"] == "promptfoo" and run["tool_version"] == PROMPTFOO and run["run_id"].startswith("eval-")
        assert git_registered.run("gate", ref, "--env", "staging").exit_code == 0
    assert git_registered.run("verify").exit_code == 0
    assert ROOT.exists()
