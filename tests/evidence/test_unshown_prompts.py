"""A report can only prove the prompt texts it shows: a bundle's prompt file that appears in no prompt a promptfoo
run rendered was never run, so that run cannot count for the bundle (docs/reference/evidence-formats.md).

`promptfoo-support-triage-v1-user-only.json` is a real promptfoo run of the example suite as it was before it
rendered `prompts/system.md` (its only prompt is `prompts/user.j2`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from bundlectl.bundle.content.promptfoo import unrendered_prompt_files, unshown_prompt_files
from tests.conftest import V1, Workspace
from tests.evidence.test_attacks import refused
from tests.helpers import promptfoo_report

USER_ONLY = "v1-user-only"


def user_only_bundle(ws: Workspace, version: str, system: str | None = None) -> str:
    """The v1 example whose suite renders only prompts/user.j2, as `version` (with another system prompt if given)."""
    folder = ws.root / f"bundles/support-triage-{version}"
    shutil.copytree(ws.root / "bundles/support-triage-v1", folder)
    suite = folder / "evals/promptfooconfig.yaml"
    suite.write_text(suite.read_text().replace("- file://../prompts/system.md\n", ""))
    if system is not None:
        (folder / "prompts/system.md").write_text(system)
    (folder / "bundle.yaml").write_text((folder / "bundle.yaml").read_text().replace("2026.11.01-1", version))
    assert ws.run("register", str(folder)).exit_code == 0
    return f"support-triage@{version}"


def test_a_run_of_the_previous_version_does_not_count_for_a_system_prompt_it_never_rendered(registered: Workspace):
    before = user_only_bundle(registered, "2026.10.01-1")
    after = user_only_bundle(registered, "2026.10.02-1", system="You are the triage assistant. Never escalate.\n")
    assert registered.json("show", before)["digest"] != registered.json("show", after)["digest"]
    for ref in (after, before):  # the run proves user.j2 only: it counts for neither version
        error = refused(registered, ref, promptfoo_report(registered, USER_ONLY),
                        f"cannot count for {ref}: its prompt file prompts/system.md appears in no prompt the run rendered",
                        "a report only proves the prompt texts it shows; nothing was stored",
                        "add `file://../prompts/system.md` to the suite's prompts")
        assert f"`bundlectl eval {ref}`" in error
    assert registered.json("evidence", "list", after)["evidence"] == []


def test_a_run_that_renders_every_prompt_file_counts(registered: Workspace):
    result = registered.json("evidence", "add", V1, promptfoo_report(registered, "v1"))
    assert result["created"] and result["cases"] == "suite"
    listed = registered.json("evidence", "list", V1)["evidence"]
    assert len(listed) == 1 and listed[0]["fresh"] is True


def test_validate_and_binding_ask_the_same_question():
    texts = {"prompts/system.md": "You are terse.\n", "prompts/user.j2": "Ticket: {{ ticket }}\n"}
    suite = {"prompts": ["file://../prompts/user.j2"]}
    assert unrendered_prompt_files(texts, "evals/suite.yaml", suite) == ["prompts/system.md"]
    assert unshown_prompt_files(texts, ["Ticket: {{ ticket }}\n"]) == ["prompts/system.md"]
    # a prompt that carries the system prompt's text inline renders it, whether the suite or the report shows it
    inline = "You are terse.\nTicket: {{ ticket }}\n"
    assert unrendered_prompt_files(texts, "evals/suite.yaml", {"prompts": [inline]}) == []
    assert unshown_prompt_files(texts, [inline]) == []


def test_the_examples_render_every_prompt_file():
    root = Path(__file__).parents[2] / "bundles"
    for example in ("support-triage-v1", "support-triage-v2"):
        suite = (root / example / "evals/promptfooconfig.yaml").read_text()
        assert "file://../prompts/system.md" in suite and "file://../prompts/user.j2" in suite
