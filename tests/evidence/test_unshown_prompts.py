"""A report can only prove the prompt texts it shows: a bundle's prompt file that appears in no prompt a promptfoo
run rendered was never run, so that run cannot count for the bundle.

`promptfoo-support-triage-v1-user-prompt-only.json` is a real run of the example suite as it was, rendering only
`prompts/user.j2`; `promptfoo-support-triage-v1.json` is a real run (promptfoo 0.115.0, `-j 1`) of the suite now,
with `file://../prompts/system.md` added to its prompts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bundlectl.bundle.content.promptfoo import unrendered_prompt_files, unshown_prompt_files
from bundlectl.bundle.folder import read_bundle_folder
from bundlectl.errors import Refused
from bundlectl.evidence.bound_bundle import check_shows_every_prompt
from bundlectl.evidence.importers import import_report
from bundlectl.evidence.report import Report
from tests.conftest import EXAMPLES, V1, Workspace
from tests.helpers import FIXTURES, native_report, promptfoo_report


def run(name: str) -> Report:
    return import_report((FIXTURES / name).read_bytes(), name)


def test_a_run_that_never_rendered_the_system_prompt_does_not_count_for_a_bundle_that_changed_only_it(tmp_path: Path):
    folder = tmp_path / "support-triage-next"
    shutil.copytree(EXAMPLES / "support-triage-v1", folder)
    (folder / "prompts/system.md").write_text("You are the triage assistant. Never escalate.\n")
    bundle = read_bundle_folder(folder)
    for read in (bundle, read_bundle_folder(EXAMPLES / "support-triage-v1")):  # it proves user.j2 only: neither counts
        with pytest.raises(Refused) as refused:
            check_shows_every_prompt(run("promptfoo-support-triage-v1-user-prompt-only.json"), read.record, read.read_file, "r.json")
        ref = read.record.ref
        assert refused.value.message == (
            f"r.json cannot count for {ref}: its prompt file prompts/system.md appears in no "
            "prompt the run rendered, and a report only proves the prompt texts it shows; "
            "nothing was stored"
        )
        assert refused.value.hint is not None and "add `file://../prompts/system.md` to the suite's prompts" in refused.value.hint
        assert f"`bundlectl eval {ref}`" in refused.value.hint


def test_a_run_that_renders_every_prompt_file_counts():
    v1 = read_bundle_folder(EXAMPLES / "support-triage-v1")
    report = run("promptfoo-support-triage-v1.json")
    assert report.ran is not None and len(report.ran.prompts) == 2
    check_shows_every_prompt(report, v1.record, v1.read_file, "r.json")


def test_validate_and_binding_ask_the_same_question():
    texts = {"prompts/system.md": "You are terse.\n", "prompts/user.j2": "Ticket: {{ ticket }}\n"}
    suite = {"prompts": ["file://../prompts/user.j2"]}
    assert unrendered_prompt_files(texts, "evals/suite.yaml", suite) == ["prompts/system.md"]
    assert unshown_prompt_files(texts, ["Ticket: {{ ticket }}\n"]) == ["prompts/system.md"]
    # a prompt file is shown only as a prompt of its own: its text inside another prompt proves nothing (and a
    # report's prompt must be one of the bundle's files anyway), whether the suite or the report shows it
    inline = "You are terse.\nTicket: {{ ticket }}\n"
    assert unrendered_prompt_files(texts, "evals/suite.yaml", {"prompts": [inline]}) == ["prompts/system.md", "prompts/user.j2"]
    assert unshown_prompt_files(texts, [inline]) == ["prompts/system.md", "prompts/user.j2"]
    assert unshown_prompt_files(texts, ["You are terse.\n"]) == ["prompts/user.j2"]
    # a file:// prompt outside the bundle's prompt files renders none of them, even an empty one
    empty = {**texts, "prompts/system.md": ""}
    assert unrendered_prompt_files(empty, "evals/suite.yaml", {"prompts": ["file://../../elsewhere.md", "file://../prompts/user.j2"]}) == [
        "prompts/system.md"
    ]


@pytest.mark.parametrize(
    "text",
    ["", "\n", "Return the triage decision as JSON.\n", "Ticket ", "Ticket {{ ticket_id }}"],
    ids=["empty", "newline", "last-line-of-user-j2", "start-of-user-j2", "no-final-newline"],
)
def test_a_prompt_file_whose_text_lies_inside_the_rendered_one_is_not_shown(tmp_path: Path, text: str):
    """The run rendered user.j2 only; a system prompt emptied, or cut down to a piece of user.j2, was never sent."""
    folder = tmp_path / "support-triage-next"
    shutil.copytree(EXAMPLES / "support-triage-v1", folder)
    (folder / "prompts/system.md").write_text(text)
    bundle = read_bundle_folder(folder)
    with pytest.raises(Refused) as refused:
        check_shows_every_prompt(run("promptfoo-support-triage-v1-user-prompt-only.json"), bundle.record, bundle.read_file, "r.json")
    assert "its prompt file prompts/system.md appears in no prompt the run rendered" in refused.value.message


def test_evidence_add_refuses_a_real_run_that_never_showed_a_prompt_file_and_stores_nothing(registered: Workspace):
    """The run of the example suite as it was (user.j2 only), fresh and otherwise a genuine run of v1's suite,
    files, model and config: `evidence add` names the prompt file it never showed and what to change, on git and S3."""
    report = promptfoo_report(registered, "v1-user-prompt-only")
    head, stored, listed = registered.log_head(), registered.bundlectl_refs(), registered.json("evidence", "list", V1)
    result = registered.run("evidence", "add", V1, report)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"cannot count for {V1}: its prompt file prompts/system.md appears in no prompt the run rendered" in result.stderr
    assert "add `file://../prompts/system.md` to the suite's prompts" in result.stderr and f"`bundlectl eval {V1}`" in result.stderr
    assert registered.log_head() == head and registered.bundlectl_refs() == stored, "a refused report left something in the registry"
    assert registered.json("evidence", "list", V1) == listed
    # the same suite's run now shows every prompt file, and binds
    assert registered.run("evidence", "add", V1, promptfoo_report(registered, "v1")).exit_code == 0


def register_suite_without_system_prompt(ws: Workspace) -> str:
    """V1 with a new system prompt and the suite as it was before it rendered the system prompt; returns its ref."""
    folder = ws.root / "bundles/support-triage-next"
    shutil.copytree(ws.root / "bundles/support-triage-v1", folder)
    (folder / "prompts/system.md").write_text("You are the triage assistant. Never escalate anything.\n")
    suite = folder / "evals/promptfooconfig.yaml"
    suite.write_text("".join(line for line in suite.read_text().splitlines(keepends=True) if "file://../prompts/system.md" not in line))
    manifest = folder / "bundle.yaml"
    manifest.write_text(manifest.read_text().replace("version: 2026.11.01-1", "version: 2026.11.02-1"))
    assert ws.run("register", str(folder)).exit_code == 0
    return "support-triage@2026.11.02-1"


def test_a_native_report_of_a_promptfoo_suite_that_never_renders_a_prompt_file_is_refused_too(registered: Workspace):
    """A JUnit or native report shows no prompts, but a run of a promptfoo suite in another format ran what the
    suite renders and no more: converting the run does not get around the rule."""
    from tests.helpers import suite_cases

    ws = registered
    ref = register_suite_without_system_prompt(ws)
    assert "prompts/system.md: no prompt of the eval suite renders it" in ws.run("validate", "bundles/support-triage-next").stderr
    digest = ws.json("show", ref)["digest"]
    cases = [{"id": i, "slice": s, "passed": True} for i, s in suite_cases("v1")]
    report = native_report(ws, "eval", "native.json", cases=cases, bundle_digest=digest)
    head = ws.log_head()
    result = ws.run("evidence", "add", ref, report)
    assert result.exit_code == 1, result.output
    assert "its prompt file prompts/system.md appears in no prompt the run rendered" in result.stderr
    assert "add `file://../prompts/system.md` to the suite's prompts" in result.stderr
    assert ws.log_head() == head
    # the same report for V1, whose suite renders every prompt file, binds
    v1 = native_report(ws, "eval", "native-v1.json", cases=cases, bundle_digest=ws.json("show", V1)["digest"])
    assert ws.run("evidence", "add", V1, v1).exit_code == 0
