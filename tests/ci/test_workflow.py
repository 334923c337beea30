"""The example GitHub Actions workflow (examples/ci/github-actions.yml), run step by step as the runner
would, against a temporary registry: a merge promotes, a compatible pull request is gated, a breaking one
stops at the diff. `uses:` steps (checkout, setup-python, setup-node) are what this machine already is."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import git
import pytest
import yaml

from tests.conftest import EXAMPLES, ROOT, install_promptfoo

WORKFLOW = yaml.safe_load((ROOT / "examples/ci/github-actions.yml").read_text())
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def evaluate(expression: str, context: dict[str, dict[str, str]]) -> Any:
    """The little of GitHub's expression language the workflow uses: `a.b`, 'strings', ==, &&."""
    assert re.fullmatch(r"[\w.' =&/-]+", expression), f"the test cannot evaluate {expression!r}"
    python = re.sub(r"\b(github|vars)\.(\w+)", lambda m: repr(context[m[1]][m[2]]), expression)
    return eval(python.replace("&&", " and "), {"__builtins__": {}})  # noqa: S307 - only the checked grammar above


def substitute(text: str, context: dict[str, dict[str, str]]) -> str:
    return _EXPRESSION.sub(lambda m: str(evaluate(m[1], context)), text)


def run_workflow(repo: Path, context: dict[str, dict[str, str]], overrides: dict[str, str]) -> list[tuple[str, int, str]]:
    """Run the job's steps in order until one fails, as the runner does; (name, exit status, output) each."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.update({key: substitute(str(value), context) for key, value in WORKFLOW["env"].items()})
    env.update(overrides)
    ran = []
    [job] = WORKFLOW["jobs"].values()
    for step in job["steps"]:
        if "uses" in step or step.get("id") in ("install", "comment"):  # the comment step talks to GitHub's API
            continue
        if "if" in step and not evaluate(step["if"], context):
            continue
        done = subprocess.run(["bash", "-e", "-c", substitute(step["run"], context)], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
        ran.append((step["name"], done.returncode, done.stdout + done.stderr))
        if done.returncode != 0:
            break
    return ran


@pytest.fixture
def project(tmp_path: Path) -> git.Repo:
    """A repository whose main branch holds bundles/support-triage (the v1 example), its own origin."""
    root = tmp_path / "project"
    repo = git.Repo.init(root, initial_branch="main")
    shutil.copytree(EXAMPLES / "support-triage-v1", root / "bundles/support-triage")
    repo.git.add(A=True)
    repo.index.commit("support-triage 2026.11.01-1")
    repo.create_remote("origin", str(root)).fetch()
    return repo


def test_the_example_workflow_gates_pull_requests_and_promotes_merges(project: git.Repo, tmp_path: Path):
    install_step = next(s for s in WORKFLOW["jobs"]["bundle"]["steps"] if s.get("id") == "install")
    assert install_step["run"].startswith("pip install 'bundlectl")
    registry = tmp_path / "registry"
    bundlectl = str(Path(sys.executable).parent / "bundlectl")
    assert subprocess.run([bundlectl, "init", "--registry", str(registry)], capture_output=True).returncode == 0
    summary = tmp_path / "summary.md"
    overrides = {"PROMPTFOO": str(install_promptfoo()), "PROMPTFOO_CONFIG_DIR": str(tmp_path / "promptfoo"), "GITHUB_STEP_SUMMARY": str(summary)}
    root = Path(project.working_dir)

    def context(event: str, sha: str) -> dict[str, dict[str, str]]:
        return {
            "github": {
                "event_name": event,
                "base_ref": "main" if event == "pull_request" else "",
                "ref": "refs/heads/main" if event == "push" else "refs/pull/7/merge",
                "sha": sha,
                "actor": "octocat",
            },
            "vars": {"BUNDLECTL_REGISTRY": str(registry)},
        }

    def status() -> list[tuple[str, str]]:
        import json

        shown = subprocess.run([bundlectl, "status", "--json", "--registry", str(registry)], capture_output=True, text=True)
        return [(row["env"], row["version"]) for row in json.loads(shown.stdout)["environments"]]

    # the push of main: validated, registered, evaluated by bundlectl, gated, promoted to staging
    pushed = run_workflow(root, context("push", project.head.commit.hexsha), overrides)
    assert [(name, code) for name, code, _ in pushed] == [
        ("Validate", 0),
        ("Register", 0),
        ("Evaluate", 0),
        ("Report", 0),
        ("Gate", 0),
        ("Promote", 0),
    ]
    assert "::notice title=gate support-triage@2026.11.01-1 → staging::all 3 checks pass" in pushed[4][2]
    assert summary.read_text().startswith("<!-- bundlectl-report -->\n## ✅ PASS: support-triage@2026.11.01-1 → staging")
    assert (root / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert status() == [("staging", "2026.11.01-1")]

    # a compatible pull request (a runbook edit): diffed, registered, evaluated and gated, not promoted
    project.git.checkout("-b", "runbook-edit")
    manifest = root / "bundles/support-triage/bundle.yaml"
    manifest.write_text(manifest.read_text().replace("version: 2026.11.01-1", "version: 2026.11.01-2"))
    (root / "bundles/support-triage/runbook.md").write_text((root / "bundles/support-triage/runbook.md").read_text() + "\nPager: #triage-oncall\n")
    project.git.commit("-am", "runbook: pager channel")
    reviewed = run_workflow(root, context("pull_request", project.head.commit.hexsha), overrides)
    assert [(name, code) for name, code, _ in reviewed] == [
        ("Validate", 0),
        ("Diff against the base branch", 0),
        ("Register", 0),
        ("Evaluate", 0),
        ("Report", 0),
        ("Gate", 0),
    ]
    assert "→ staging" in summary.read_text().split("<!-- bundlectl-report -->")[-1] and "runbook" in summary.read_text()
    assert "changed: runbook" in reviewed[1][2]
    assert status() == [("staging", "2026.11.01-1")]

    # a breaking pull request (v2 narrows the output schema and drops a tool parameter): stops at the diff
    project.git.checkout("main")
    project.git.checkout("-b", "v2")
    shutil.rmtree(root / "bundles/support-triage")
    shutil.copytree(EXAMPLES / "support-triage-v2", root / "bundles/support-triage")
    project.git.add(A=True)
    project.git.commit("-m", "support-triage 2026.11.22-1")
    broken = run_workflow(root, context("pull_request", project.head.commit.hexsha), overrides)
    assert [(name, code) for name, code, _ in broken] == [("Validate", 0), ("Diff against the base branch", 1)]
    assert "breaking changes in schema, tools (--fail-on breaking)" in broken[1][2]
    listed = subprocess.run([bundlectl, "list", "--registry", str(registry)], capture_output=True, text=True).stdout
    assert "2026.11.22-1" not in listed  # the job stopped before registering it

    # the merge of the compatible one promotes it
    project.git.checkout("main")
    project.git.merge("runbook-edit")
    merged = run_workflow(root, context("push", project.head.commit.hexsha), overrides)
    assert [code for _, code, _ in merged] == [0, 0, 0, 0, 0, 0]
    assert status() == [("staging", "2026.11.01-2")]
