"""`bundlectl new` earns evidence as scaffolded: a real promptfoo run of its suite binds and passes the starter staging gate."""

from __future__ import annotations

import json

from tests.conftest import Workspace

REF = "faq-bot@0.1.0"


def test_a_new_bundle_earns_evidence_that_passes_the_starter_staging_gate(git_registry: Workspace, promptfoo_env: str):
    assert git_registry.run("new", "faq-bot").exit_code == 0
    registered = git_registry.run("register", "bundles/faq-bot")
    assert registered.exit_code == 0, registered.output
    result = git_registry.run("eval", REF, "--json")
    assert result.exit_code == 0, result.output  # promptfoo exits 0: every case passes
    bound = json.loads(result.stdout)
    assert (bound["source"], bound["provenance"], bound["cases"]) == ("promptfoo", "run", "suite")
    assert bound["figures"]["cases"] == 50 and bound["figures"]["passed"] == 50
    assert bound["figures"]["slices"]["adversarial"]["cases"] == 10
    gate = json.loads(git_registry.run("gate", REF, "--env", "staging", "--json").stdout)
    assert gate["passed"] is True, gate
    production = {c["name"]: c["passed"] for c in json.loads(git_registry.run("gate", REF, "--env", "production", "--json").stdout)["checks"]}
    assert all(production[name] for name in production if name.startswith(("eval", "latency", "cost")))  # evidence enough
    assert git_registry.run("promote", REF, "--env", "staging").exit_code == 0


def test_the_scaffolded_suite_renders_the_prompt_file_and_names_the_snapshot(registry: Workspace):
    assert registry.run("new", "faq-bot").exit_code == 0
    folder = registry.root / "bundles/faq-bot"
    suite = (folder / "evals/promptfooconfig.yaml").read_text()
    manifest = (folder / "bundle.yaml").read_text()
    assert "prompts: [file://../prompts/answer.md]" in suite and "files: [prompts/answer.md]" in manifest
    assert "label: faq-bot-stand-in-for-gpt-4o-mini-2024-07-18" in suite and "snapshot: gpt-4o-mini-2024-07-18" in manifest
    assert "{{question}}" in (folder / "prompts/answer.md").read_text()


def test_new_help_promises_what_works(workspace: Workspace):
    shown = workspace.run("new", "--help").output
    assert "placeholder" not in shown and "bundlectl eval" in shown
