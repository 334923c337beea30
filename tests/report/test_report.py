"""`bundlectl report` read as a reviewer and as CI would: the JSON figures, the Markdown for a pull request,
determinism, and refusals that write nothing."""

from __future__ import annotations

import dataclasses
import json
import re

from bundlectl import api
from bundlectl.report.markdown import LIMIT, MARKER, fenced, render_markdown, text
from tests.conftest import V1, V2, Workspace
from tests.helpers import add, native_eval, set_policy
from tests.report.conftest import MARKUP, POLICY


def report_json(ws: Workspace, ref: str = V2) -> dict:
    return ws.json("report", ref, "--env", "staging")


def test_a_passing_promotion_reports_its_verdict_changes_cases_operations_and_rollback(passing: Workspace) -> None:
    report = report_json(passing)
    assert report["verdict"]["passed"] is True and report["verdict"]["failed"] == []
    assert report["live"]["version"] == "2026.11.01-1"
    assert {"model", "prompt", "schema", "tools"} <= set(report["changes"]["changed"])
    model = report["changes"]["components"]["model"]
    assert {"path": "snapshot", "change": "changed", "old": "gpt-4o-2024-08-06", "new": "gpt-4o-2024-11-20"} in model["fields"]
    every, *slices = report["cases"]["slices"]
    # live failed its first 3 cases, the candidate none: 3 fixed, nothing regressed, and 3 pairs are no proof
    assert (every["slice"], every["fixed"], every["regressed"], every["p_value"]) == ("all cases", every["fixed"], [], 0.25)
    assert len(every["fixed"]) == 3 and every["reading"] == "better: within noise (p = 0.25)"
    assert sum(s["paired"] for s in slices) == every["paired"] == 54  # live's suite has 54 cases, the candidate's 62
    assert len(report["cases"]["only_candidate"]) == 8 and report["cases"]["only_live"] == []
    assert report["operations"]["candidate"]["daily_usd"] == 36.0  # 0.0018 × 20,000 tasks
    assert report["operations"]["candidate"]["daily_usd_at_volume"] == 360.0
    assert report["operations"]["live"]["latency_p95_ms"] == 700.0
    assert report["rollback"]["target_version"] == "2026.11.01-1" and report["rollback"]["rehearsed_at"] is None
    assert [(t["action"], t["to_version"]) for t in report["timeline"]] == [("promote", "2026.11.01-1")]
    checks = {c["name"]: c for c in report["gate"]["checks"]}
    assert checks["cost.daily_projection_usd"]["value"] == report["operations"]["candidate"]["daily_usd"]  # as the gate projects it


def test_a_refused_promotion_names_its_failing_checks_and_the_regression_the_pairs_show(refused: Workspace) -> None:
    report = report_json(refused)
    assert report["verdict"]["passed"] is False
    assert {c["name"] for c in report["verdict"]["failed"]} == {"eval.pass_rate", "regression"}
    every = report["cases"]["slices"][0]
    assert (len(every["regressed"]), len(every["fixed"]), len(every["still_failing"])) == (17, 0, 3)
    assert every["p_value"] == 2 / 2**17 and every["reading"].startswith("worse: significant")


def test_the_same_registry_state_gives_the_same_report_and_reading_it_writes_nothing(passing: Workspace) -> None:
    before = passing.bundlectl_refs()
    first = passing.run("report", V2, "--env", "staging").output
    second = passing.run("report", V2, "--env", "staging").output
    assert first == second and first.startswith("<!DOCTYPE html>")
    assert passing.bundlectl_refs() == before
    as_of = report_json(passing)["as_of"]
    assert as_of.startswith(passing.json("history", "support-triage", "--env", "staging")["events"][0]["time"][:19])


def test_the_markdown_stays_under_githubs_limit_with_details_and_markup_inert(passing: Workspace) -> None:
    found = api.report(V2, "staging")
    markdown = render_markdown(found)
    assert markdown.startswith(MARKER) and "## ✅ PASS" in markdown and "<details>" in markdown
    assert "<script>" not in re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1$", "", markdown)  # outside code blocks, markup is escaped
    assert found.changes is not None
    prompt = found.changes.components["prompt"]
    huge = {**prompt.text_diffs, **{f"prompts/{n}.md": "+" + "`" * 5 + "x" * 90_000 + "\n" for n in range(8)}}
    ids = [f"case-{n:05d}-{MARKUP}" for n in range(10_000)]
    assert found.cases is not None
    every = dataclasses.replace(found.cases.slices[0], regressed=ids, fixed=ids, still_failing=ids)
    swollen = dataclasses.replace(
        found,
        changes=dataclasses.replace(found.changes, components={**found.changes.components, "prompt": dataclasses.replace(prompt, text_diffs=huge)}),
        cases=dataclasses.replace(found.cases, slices=[every, *found.cases.slices[1:]]),
    )
    markdown = render_markdown(swollen)
    assert len(markdown) < LIMIT
    assert "## ✅ PASS" in markdown and "### Gate" in markdown and "### Case by case against live" in markdown
    outside_code = re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1$", "", markdown)  # a prompt's </details> in a diff is only text
    assert outside_code.count("<details>") == outside_code.count("</details>") > 0
    assert "<script>" not in outside_code
    assert "left out to stay under GitHub's comment limit" in markdown


def test_markdown_text_cannot_open_html_links_mentions_or_end_its_code_block() -> None:
    escaped = text(MARKUP)
    for live in ("<script>", "<img", "</details>", "@octocat", "|", "**", "`"):
        assert live not in escaped
    body = "```\n<script>x</script>\n````"
    block = fenced(body, "diff")
    assert block.startswith("`````diff\n") and block.endswith("\n`````")


def test_a_first_release_has_nothing_to_compare_and_says_so(git_registered: Workspace) -> None:
    set_policy(git_registered, POLICY)
    add(git_registered, V2, native_eval(git_registered, "v2", "v2.json", cost_usd=0.0018))
    report = report_json(git_registered)
    assert report["verdict"]["passed"] is True and report["live"] is None and report["changes"] is None
    assert report["cases"] is None and report["cases_note"] == "nothing else is live in this environment to compare with"
    assert "Nothing else is live" in git_registered.run("report", V2, "--env", "staging", "--format", "markdown").output


def test_writing_to_a_file_reports_what_was_written(passing: Workspace) -> None:
    out = passing.root / "report.md"
    result = passing.run("report", V2, "--env", "staging", "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary == {"file": str(out), "format": "markdown", "characters": len(out.read_text()), "passed": True}
    assert out.read_text().startswith(MARKER)
    assert not list(passing.root.glob(".*.tmp"))


def test_bad_input_is_refused_with_the_reason_and_no_file_is_written(passing: Workspace) -> None:
    out = passing.root / "report.html"
    unknown_env = passing.run("report", V2, "--env", "prod", "-o", str(out))
    assert unknown_env.exit_code == 1 and "prod" in unknown_env.output and not out.exists()
    unknown_ref = passing.run("report", "support-triage@9.9.9", "--env", "staging", "-o", str(out), "--json")
    assert unknown_ref.exit_code == 4 and json.loads(unknown_ref.stdout)["error"]["kind"] == "not_found"
    assert not out.exists()
    nowhere = passing.root / "missing" / "report.html"
    unwritable = passing.run("report", V2, "--env", "staging", "-o", str(nowhere))
    assert unwritable.exit_code == 2 and "cannot write the report to" in unwritable.output
    assert not nowhere.parent.exists()
    both = passing.run("report", V2, "--env", "staging", "--json", "--format", "html")
    assert both.exit_code == 2 and "two different outputs" in both.output


def test_the_live_bundle_reported_after_its_promotion_is_compared_with_what_it_replaced(passing: Workspace) -> None:
    report = report_json(passing, V1)
    assert report["live"] is None and report["rollback"]["target_version"] is None  # nothing was live before V1
    assert passing.run("promote", V2, "--env", "staging").exit_code == 0
    report = report_json(passing)
    assert report["live"]["version"] == "2026.11.01-1" and report["rollback"]["target_version"] == "2026.11.01-1"
    assert [t["action"] for t in report["timeline"]] == ["promote", "promote"]
