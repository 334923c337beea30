"""`bundlectl eval`: a harness run on the bundle's exact files, measured by bundlectl, bound as `run` evidence."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import PROMPTFOO, V1, V2, Workspace
from tests.helpers import add, native_report, promptfoo_report, set_policy, suite_cases

# a harness that writes a native report of every case of v1's suite, stating the bundle it ran
NATIVE_HARNESS = """
import json, os, sys, datetime
cases = json.loads(os.environ["CASES"])
now = datetime.datetime.now(datetime.timezone.utc).isoformat()
measured = {"latency_ms": float(os.environ.get("LATENCY_MS", "900"))}
if "COST_USD" in os.environ:
    measured["cost_usd"] = float(os.environ["COST_USD"])
report = {"format": "bundlectl/evidence-v1", "kind": "eval", "run_at": now, "tool": "harness",
          "bundle_digest": os.environ["BUNDLECTL_BUNDLE_DIGEST"],
          "cases": [{"id": i, "slice": s, "passed": n > 2, **measured} for n, (i, s) in enumerate(cases)]}
assert os.path.isfile(os.path.join(os.environ["BUNDLECTL_BUNDLE_DIR"], "bundle.yaml"))
open("out/report.json" if os.path.isdir("out") else "report.json", "w").write(json.dumps(report))
print("harness ran", len(cases), "cases")
sys.exit(int(os.environ.get("EXIT", "0")))
"""
HARNESSED = "support-triage@2026.11.01-5"


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("CASES", json.dumps(suite_cases("v1")))
    return [sys.executable, "-c", NATIVE_HARNESS]


def register_harnessed(ws: Workspace) -> str:
    """v1 with NATIVE_HARNESS as a file of its evals component, declared as its harness: HARNESSED."""
    folder = ws.root / "bundles/support-triage-v1"
    (folder / "evals/harness.py").write_text(NATIVE_HARNESS)
    text = (folder / "bundle.yaml").read_text().replace("2026.11.01-1", "2026.11.01-5")
    text = re.sub(r"    harness: .*\n", f"    harness: [{json.dumps(sys.executable)}, evals/harness.py]\n", text)
    (folder / "bundle.yaml").write_text(text.replace("files: [evals/provider.py]", "files: [evals/provider.py, evals/harness.py]"))
    result = ws.run("register", str(folder))
    assert result.exit_code == 0, result.output
    return HARNESSED


def test_a_run_is_bound_with_measured_provenance(registered: Workspace, harness: list[str]):
    result = registered.run("eval", V1, "--report", "report.json", "--json", "--", *harness)
    assert result.exit_code == 0, result.output
    bound = json.loads(result.stdout)
    assert bound["provenance"] == "run" and bound["figures"]["passed"] == 51 and bound["exit_status"] == 0
    assert "harness ran 54 cases" in result.stderr  # with --json the tool's output goes to stderr
    listed = registered.json("evidence", "list", V1, "--env", "staging")["evidence"][0]
    run = listed["run"]
    assert run["mode"] == "run" and run["command"][0] == sys.executable and run["exit_status"] == 0
    assert run["host"] and run["started_at"] <= run["report_time"][:19] + "Z" <= run["ended_at"]
    assert listed["run_at"] == run["started_at"] and listed["counts"] is True
    # the starter policy's production gate counts only runs of the harness the bundle declares: this one is not
    strictest = registered.json("evidence", "list", V1)["evidence"][0]
    assert strictest["counts"] is False and "not by the harness the bundle declares" in strictest["why"]


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


def test_provenance_run_counts_only_runs_of_the_declared_harness(registered: Workspace, harness: list[str]):
    """Red-team F11: any command was a `run` (a one-liner rewriting an old report passed provenance: run). Now only a
    run of exactly the harness the bundle declares counts; bundlectl records the executable it ran and its sha256."""
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 50, min_pass_rate: 0.85, provenance: run}}}\n")
    ref = register_harnessed(registered)
    add(registered, ref, native_eval_of(registered, ref))
    gate = registered.run("gate", ref, "--env", "staging", "--json")
    assert gate.exit_code == 1
    check = json.loads(gate.stdout)["checks"][0]
    assert check["name"] == "eval" and "attached, and the gate demands provenance: run" in check["detail"]
    listed = registered.json("evidence", "list", ref, "--env", "staging")["evidence"][0]
    assert listed["counts"] is False and listed["provenance"] == "attached"
    # the same harness given on the command line, but not the declared one: a run, measured, that does not count
    assert registered.run("eval", ref, "--report", "report.json", "--", *harness).exit_code == 0
    listed = registered.json("evidence", "list", ref, "--env", "staging")["evidence"][0]
    assert (listed["provenance"], listed["counts"], listed["run"]["harness"]) == ("run", False, False)
    assert "not by the harness the bundle declares" in listed["why"]
    assert registered.run("gate", ref, "--env", "staging").exit_code == 1
    # the declared harness: `bundlectl eval REF` runs it
    result = registered.run("eval", ref, "--report", "report.json", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["command"] == [sys.executable, "evals/harness.py"]
    listed = registered.json("evidence", "list", ref, "--env", "staging")["evidence"][0]
    run = listed["run"]
    assert (listed["counts"], run["harness"], run["command"]) == (True, True, [sys.executable, "evals/harness.py"])
    assert run["executable"] == os.path.realpath(sys.executable) and run["executable_sha256"].startswith("sha256:")
    assert run["tool_version"] == ".".join(map(str, sys.version_info[:3]))  # `python --version`, not the command's output
    assert registered.run("gate", ref, "--env", "staging").exit_code == 0


def test_a_command_that_fabricates_a_report_does_not_satisfy_provenance_run(git_registered: Workspace, monkeypatch: pytest.MonkeyPatch):
    """Red-team F11: a python one-liner rewrites a 30-day-old promptfoo report (all passing, times now, prompt paths in
    the exported folder) and prints "promptfoo 0.115.0": it binds as a run of that command, its tool_version is
    python's, and it does not count."""
    ws = git_registered
    set_policy(ws, "environments:\n  production: {gates: {eval: {min_cases: 50, min_pass_rate: 0.92, provenance: run}}}\n")
    monkeypatch.setenv("OLD_REPORT", promptfoo_report(ws, "v1", timedelta(days=30)))
    result = ws.run("eval", V1, "--report", "results.json", "--", sys.executable, "-c", FABRICATOR)
    assert result.exit_code == 0, result.output
    run = ws.json("evidence", "list", V1, "--env", "production")["evidence"][0]
    assert (run["counts"], run["run"]["harness"]) == (False, False) and run["run"]["tool_version"] != PROMPTFOO
    gate = ws.run("gate", V1, "--env", "production")
    assert gate.exit_code == 1 and "not by the harness the bundle declares" in gate.output


FABRICATOR = """
import json, os, datetime, secrets
document = json.load(open(os.environ["OLD_REPORT"]))
now = datetime.datetime.now(datetime.timezone.utc)
document["results"]["timestamp"] = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
document["evalId"] = "eval-" + secrets.token_hex(2)[:3] + "-" + now.strftime("%Y-%m-%dT%H:%M:%S")
document["config"]["prompts"] = ["file://" + os.environ["BUNDLECTL_BUNDLE_DIR"] + "/prompts/user.j2"]
for result in document["results"]["results"]:
    result["success"] = True
json.dump(document, open("results.json", "w"))
print("promptfoo 0.115.0")
"""


def native_eval_of(ws: Workspace, ref: str) -> str:
    """A native eval report of every case of v1's suite naming REF's digest, as if attached after a run elsewhere."""
    cases = [{"id": i, "slice": s, "passed": True} for i, s in suite_cases("v1")]
    return native_report(ws, "eval", "attached.json", cases=cases, bundle_digest=ws.json("show", ref)["digest"])


def test_under_provenance_run_attached_load_and_cost_reports_do_not_override_the_run(
    git_registered: Workspace, harness: list[str], monkeypatch: pytest.MonkeyPatch
):
    """Red-team F8: a run measured p95 3000 ms and $0.50 a case; native load and cost reports attached afterwards
    (dated an hour before the run) said 100 ms and $0.001, and the gate read those."""
    ws = git_registered
    set_policy(
        ws,
        "environments:\n  production: {gates: {eval: {min_cases: 50, min_pass_rate: 0.9, max_age: 7d, "
        "provenance: run}, latency: {max_p95_ms: 2500, max_age: 7d}, "
        "cost: {max_cost_per_task_usd: 0.01, max_age: 7d}}}\n",
    )
    ref = register_harnessed(ws)
    monkeypatch.setenv("LATENCY_MS", "3000")
    monkeypatch.setenv("COST_USD", "0.5")
    assert ws.run("eval", ref, "--report", "report.json").exit_code == 0
    add(ws, ref, native_report(ws, "load", "load.json", metrics={"latency_p95_ms": 100}))
    add(ws, ref, native_report(ws, "cost", "cost.json", metrics={"cost_per_task_usd": 0.001}))
    checks = {c["name"]: c for c in json.loads(ws.run("gate", ref, "--env", "production", "--json").stdout)["checks"]}
    assert checks["eval.pass_rate"]["passed"] and checks["eval.fresh"]["passed"]
    assert (checks["latency.p95_ms"]["value"], checks["latency.p95_ms"]["passed"]) == (3000.0, False)
    assert "from the eval report" in checks["latency.p95_ms"]["detail"]
    assert (checks["cost.per_task_usd"]["value"], checks["cost.per_task_usd"]["passed"]) == (0.5, False)
    assert ws.run("gate", ref, "--env", "production").exit_code == 1
    listed = {e["kind"]: e for e in ws.json("evidence", "list", ref, "--env", "production")["evidence"]}
    assert listed["load"]["counts"] is False and "not a run of the declared harness" in listed["load"]["why"]
    assert listed["eval"]["counts"] is True and "run by the bundle's declared harness" in listed["eval"]["why"]


def test_without_provenance_run_the_newest_measurement_wins_whatever_its_kind(git_registered: Workspace, monkeypatch: pytest.MonkeyPatch):
    """A load report an hour older than the eval run no longer wins over the run just because it is a load report."""
    ws = git_registered
    set_policy(ws, "environments:\n  staging: {gates: {latency: {max_p95_ms: 2500, max_age: 7d}}}\n")
    ref = register_harnessed(ws)
    monkeypatch.setenv("CASES", json.dumps(suite_cases("v1")))
    monkeypatch.setenv("LATENCY_MS", "3000")
    assert ws.run("eval", ref, "--report", "report.json").exit_code == 0
    add(ws, ref, native_report(ws, "load", "load.json", metrics={"latency_p95_ms": 100}))
    check = json.loads(ws.run("gate", ref, "--env", "staging", "--json").stdout)["checks"][0]
    assert (check["value"], check["passed"]) == (3000.0, False) and "from the eval report" in check["detail"]
    add(ws, ref, native_report(ws, "load", "newer-load.json", timedelta(0), metrics={"latency_p95_ms": 100}))
    check = json.loads(ws.run("gate", ref, "--env", "staging", "--json").stdout)["checks"][0]
    assert (check["value"], check["passed"]) == (100, True) and "from the load report" in check["detail"]


# --- real tools ----------------------------------------------------------------------------------------------


def test_pytest_with_a_declared_case_list(registered: Workspace):
    """A pytest suite: `evals cases` writes its case list from one run; later runs must report exactly those cases."""
    folder = registered.root / "bundles/support-triage-v1"
    (folder / "evals/test_triage.py").write_text(
        "import os, pytest\n\n"
        "@pytest.mark.parametrize('ticket', ['refund', 'invoice', 'outage'])\n"
        "def test_routes(ticket):\n    assert os.environ['BUNDLECTL_BUNDLE_DIGEST'].startswith('sha256:')\n\n"
        "def test_escalates():\n    assert False, 'no escalation yet'\n"
    )
    first = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "evals/test_triage.py", "--junitxml=first.xml"],
        cwd=folder,
        env={**os.environ, "BUNDLECTL_BUNDLE_DIGEST": "sha256:x"},
        capture_output=True,
    )
    assert first.returncode == 1, first.stdout
    cases = registered.run("evals", "cases", str(folder / "first.xml"))
    assert cases.exit_code == 0 and '- {id: "evals.test_triage::test_routes[refund]"}' in cases.stdout
    (folder / "evals/cases.yaml").write_text(cases.stdout.replace('test_escalates"}', 'test_escalates", slice: "adversarial"}'))
    (folder / "first.xml").unlink()
    text = (
        (folder / "bundle.yaml")
        .read_text()
        .replace("suite: evals/promptfooconfig.yaml\n    files: [evals/provider.py]", "suite: evals/test_triage.py\n    cases: evals/cases.yaml")
        .replace("2026.11.01-1", "2026.11.01-7")
    )
    (folder / "bundle.yaml").write_text(text)
    assert registered.run("register", str(folder)).exit_code == 0
    result = registered.run(
        "eval",
        "support-triage@2026.11.01-7",
        "--json",
        "--",
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "evals/test_triage.py",
        "--junitxml=junit.xml",
    )
    assert result.exit_code == 1, result.output  # pytest's own status: one test failed
    bound = json.loads(result.stdout)
    assert (bound["source"], bound["provenance"], bound["cases"]) == ("junit", "run", "cases")
    assert bound["figures"]["slices"]["adversarial"] == {"cases": 1, "passed": 0, "pass_rate": 0.0}
    run = registered.json("evidence", "list", "support-triage@2026.11.01-7")["evidence"][0]["run"]
    assert run["tool"] == "pytest" and run["tool_version"] and run["exit_status"] == 1


def test_real_promptfoo_runs_of_both_example_bundles(git_registered: Workspace, promptfoo_env: str):
    """`bundlectl eval REF` runs the harness each example declares; under provenance: run those runs count."""
    set_policy(git_registered, "environments:\n  staging: {gates: {eval: {min_cases: 50, min_pass_rate: 0.85, provenance: run}}}\n")
    for ref, passed in ((V1, 96), (V2, 124)):  # every case on each of the two prompt files
        result = git_registered.run("eval", ref, "--json")
        assert result.exit_code in (0, 100), result.output  # promptfoo exits 100 when a case fails
        bound = json.loads(result.stdout)
        assert (bound["source"], bound["provenance"], bound["cases"]) == ("promptfoo", "run", "suite")
        assert bound["figures"]["passed"] == passed and bound["command"][:2] == ["promptfoo", "eval"]
        listed = git_registered.json("evidence", "list", ref, "--env", "staging")["evidence"][0]
        run = listed["run"]
        assert run["tool"] == "promptfoo" and run["tool_version"] == PROMPTFOO and run["run_id"].startswith("eval-")
        assert run["harness"] is True and listed["counts"] is True
        assert run["executable"] == os.path.realpath(promptfoo_env) and run["executable_sha256"].startswith("sha256:")
        assert git_registered.run("gate", ref, "--env", "staging").exit_code == 0
    assert git_registered.run("verify").exit_code == 0


def refused_run(ws: Workspace, exit_code: int, *args: str) -> str:
    """`bundlectl eval` refuses (exit_code, no traceback) and stores nothing; its error output."""
    head, refs = ws.log_head(), ws.bundlectl_refs()
    result = ws.run("eval", *args)
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    assert ws.log_head() == head and ws.bundlectl_refs() == refs, "a refused run left something in the registry"
    return result.stderr


def test_a_promptfoo_command_runs_the_exported_suite_alone(git_registered: Workspace, tmp_path: Path):
    """Red-team F2/F3: `-c suite -c overlay.yaml` (defaultTest.threshold 0.5 passes every case) and `-c` pointing at a
    copy of the suite elsewhere (next to a provider.py that knows the answers) are refused before anything runs."""
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("prompts: []\ndefaultTest:\n  threshold: 0.5\n")
    error = refused_run(
        git_registered, 1, V1, "--", "promptfoo", "eval", "-c", "evals/promptfooconfig.yaml", "-c", str(overlay), "-o", "results.json"
    )
    assert f"the promptfoo command names `-c {overlay}`" in error and "runs its own suite, evals/promptfooconfig.yaml" in error
    error = refused_run(
        git_registered, 1, V1, "--", "npx", "-y", "promptfoo@0.115.0", "eval", "-c", "evals/promptfooconfig.yaml", str(overlay), "-o", "results.json"
    )
    assert f"`-c {overlay}`" in error
    elsewhere = tmp_path / "elsewhere/evals/promptfooconfig.yaml"
    error = refused_run(git_registered, 1, V1, "--", "promptfoo", "eval", f"--config={elsewhere}", "-o", "results.json")
    assert f"`-c {elsewhere}`" in error
    assert "names no config" in refused_run(git_registered, 1, V1, "--", "promptfoo", "eval", "-o", "results.json")


def test_a_harness_that_edits_the_exported_bundle_is_refused(git_registered: Workspace, harness: list[str]):
    """Red-team F3: a careless harness runs a working copy's provider.py by copying it over the exported one."""
    edit = "open('evals/provider.py', 'a').write('# edited\\n')\n" + NATIVE_HARNESS
    error = refused_run(git_registered, 1, V1, "--report", "report.json", "--", sys.executable, "-c", edit)
    assert "changed evals/provider.py of the exported bundle while it ran" in error


def test_real_promptfoo_run_with_an_overlay_config_is_refused(git_registered: Workspace, promptfoo_env: str, tmp_path: Path):
    """Red-team F2 with the real tool: promptfoo merges `-c suite -c overlay.yaml`; hidden behind a wrapper, the report's
    config.defaultTest.threshold gives it away (the suite really gives 48/54; the overlay made it 54/54)."""
    set_policy(git_registered, "environments:\n  production: {gates: {eval: {min_cases: 50, min_pass_rate: 0.92}}}\n")
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("prompts: []\ndefaultTest:\n  threshold: 0.5\n")
    wrapper = f"promptfoo eval -c evals/promptfooconfig.yaml -c {overlay} -o results.json --no-cache --no-progress-bar"
    error = refused_run(git_registered, 1, V1, "--report", "results.json", "--", "sh", "-c", wrapper)
    assert "config.defaultTest.threshold: differs from the suite's (evals/promptfooconfig.yaml): 0.5 in the report" in error
    assert git_registered.run("gate", V1, "--env", "production").exit_code == 1


def test_real_promptfoo_run_of_a_copy_of_the_suite_elsewhere_is_refused(git_registered: Workspace, promptfoo_env: str, tmp_path: Path):
    """Red-team F3 with the real tool: a copy of the bundle elsewhere whose provider.py knows the answers gives 54/54;
    `file://provider.py` reads the same, but the report names the prompt file it read, outside the exported bundle."""
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(git_registered.root / "bundles/support-triage-v1", elsewhere)
    (elsewhere / "evals/provider.py").write_text(
        "import json\ndef call_api(prompt, options, context):\n"
        "    return {'output': json.dumps({'queue': 'billing', 'escalate': False}), 'cost': 0.001}\n"
    )
    wrapper = f"promptfoo eval -c {elsewhere}/evals/promptfooconfig.yaml -o results.json --no-cache --no-progress-bar"
    error = refused_run(git_registered, 1, V1, "--report", "results.json", "--", "sh", "-c", wrapper)
    assert f"config.prompts[0]: ran the prompt file {elsewhere}/prompts/user.j2, outside the exported bundle" in error
