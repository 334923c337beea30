"""Binding without a registry: case lists, case-by-case matching, and the bundle a report ran."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from bundlectl.bundle.content.case_list import DeclaredCase, case_list_yaml, parse_case_list
from bundlectl.bundle.folder import read_bundle_folder
from bundlectl.errors import InvalidInput
from bundlectl.evidence.binding import bind_report
from bundlectl.evidence.cases import CaseList, match_cases, report_case_list
from bundlectl.evidence.importers import import_report
from bundlectl.evidence.report import CaseResult, Report
from tests.conftest import EXAMPLES
from tests.helpers import FIXTURES

V1 = read_bundle_folder(EXAMPLES / "support-triage-v1")


def fixture(**changes: Any) -> Any:
    document = json.loads((FIXTURES / "promptfoo-support-triage-v1.json").read_text())
    for path, value in changes.items():
        target = document
        *parents, last = path.split(".")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value
    return document


def bind(document: Any) -> Any:
    return bind_report(import_report(json.dumps(document).encode(), "r.json"), V1.record, V1.read_file, "r.json")


def refusal(document: Any) -> str:
    with pytest.raises(InvalidInput) as err:
        bind(document)
    return str(err.value)


def test_the_real_run_binds_with_slices_from_the_suite():
    bound = bind(fixture())
    assert bound.cases == "suite" and bound.figures["cases"] == 108 and bound.figures["passed"] == 96  # 54 cases × 2 prompts
    assert set(bound.figures["slices"]) == {"adversarial", "gold"}


def test_a_provider_naming_the_snapshot_in_its_id_is_this_bundles_model():
    ran_bundle(with_provider({"id": "openai:chat:gpt-4o-2024-08-06"}))
    ran_bundle(with_provider("openai:gpt-4o-2024-08-06"))


def ran_bundle(document: Any) -> None:
    """The model and prompt check alone (binding also wants the suite's own provider list in the report)."""
    from bundlectl.evidence.bound_bundle import check_ran_bundle

    check_ran_bundle(import_report(json.dumps(document).encode(), "r.json"), V1.record, V1.read_file, "r.json")


def with_provider(provider: Any) -> Any:
    """The real run, as if PROVIDER had run it (config.providers, each result, and its prompt's provider)."""
    document = fixture(**{"config.providers": [provider]})
    said = provider if isinstance(provider, str) else provider.get("label") or provider["id"]
    for prompt in document["results"]["prompts"]:
        prompt["provider"] = said
    for result in document["results"]["results"]:
        result["provider"] = provider
    return document


def test_providers_that_are_not_the_bundles_model():
    other = {"id": "openai:chat:gpt-4o-2024-11-20", "label": "triage"}
    assert "provider openai:chat:gpt-4o-2024-11-20 (label 'triage') is not support-triage@2026.11.01-1's model snapshot gpt-4o-2024-08-06" in refusal(
        fixture(**{"config.providers": [other]})
    )
    outside = {"id": "file:///tmp/provider.py", "label": "triage-gpt-4o-2024-08-06"}
    assert "runs /tmp/provider.py, which is not a file of the evals component" in refusal(fixture(**{"config.providers": [outside]}))
    unlabelled = {"id": "file://provider.py"}
    assert "does not say which snapshot it stands in for" in refusal(fixture(**{"config.providers": [unlabelled]}))


@pytest.mark.parametrize(
    ("provider", "words"),
    [
        ({"id": "openai:chat:gpt-4o-mini", "label": "gpt-4o-2024-08-06"}, "is not support-triage@2026.11.01-1's model snapshot"),
        ("openai:gpt-4o-2024-08-06-fake", "its id must end with :gpt-4o-2024-08-06"),
        ({"id": "exec:python3 /tmp/canned.py", "label": "triage-gpt-4o-2024-08-06"}, "runs /tmp/canned.py, which is not a file"),
        ({"id": "exec:sh -c 'cat answers.json'", "label": "triage-gpt-4o-2024-08-06"}, "runs a command that names no file of the evals component"),
        ({"id": "golang:/tmp/main.go", "label": "triage-gpt-4o-2024-08-06"}, "runs /tmp/main.go, which is not a file"),
        (
            {"id": "file:///tmp/elsewhere/evals/provider.py", "label": "triage-gpt-4o-2024-08-06"},
            "runs /tmp/elsewhere/evals/provider.py, which is not a file",
        ),
        ({"id": "file://provider.py", "label": "triage-gpt-4o-2024-08-06-fake"}, "does not say which snapshot it stands in for"),
    ],
    ids=["label-only", "substring", "exec-outside", "exec-shell", "golang-absolute", "absolute-file", "label-substring"],
)
def test_the_model_check_reads_ids_exactly_and_pins_every_stand_in(provider: Any, words: str):
    """Red-team F7: a free-text label, a snapshot inside a longer id, an unpinned exec:/golang: or an absolute file."""
    assert words in refusal(with_provider(provider))


def test_pinned_stand_ins_of_every_kind_bind():
    for provider in ("file://provider.py", "python:provider.py:call_api", "exec:python3 provider.py"):
        ran_bundle(with_provider({"id": provider, "label": "triage-gpt-4o-2024-08-06"}))


def test_a_run_without_any_provider_is_refused():
    """Red-team F7: with no provider anywhere, there was no model check at all."""
    document = with_provider("x")
    document["config"]["providers"] = []
    for result in document["results"]["results"]:
        del result["provider"]
    assert "results.results[0].provider: does not say which provider ran it" in refusal(document)
    from bundlectl.evidence.bound_bundle import check_ran_bundle
    from bundlectl.evidence.report import Ran

    report = import_report((FIXTURES / "promptfoo-support-triage-v1.json").read_bytes(), "r.json")
    with pytest.raises(InvalidInput, match="names no provider"):
        check_ran_bundle(replace(report, ran=Ran(report.ran.prompts, [])), V1.record, V1.read_file, "r.json")


def test_a_repeated_prompt_variant_is_refused():
    """Red-team F4: a copy of results.prompts[0] whose results all pass would count each case twice (48/54 → 102/108)."""
    document = fixture()
    document["results"]["prompts"].append(dict(document["results"]["prompts"][0]))
    twins = [{**result, "promptIdx": 2, "success": True} for result in document["results"]["results"] if result["promptIdx"] == 0]
    document["results"]["results"] += twins
    assert "results.prompts[2]: repeats results.prompts[0]: the same prompt text with the same provider" in refusal(document)


def test_a_result_run_by_another_provider_than_its_prompt_is_refused():
    document = fixture()
    document["results"]["results"][5]["provider"] = {"id": "file://provider.py", "label": "other"}
    assert (
        "results.results[5].provider: was run by provider file://provider.py (label 'other'), but its prompt "
        "results.prompts[1] was run by 'triage-gpt-4o-2024-08-06'" in refusal(document)  # results[5] is gold-03 on prompt 1
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"config.defaultTest.threshold": 0.5}, "config.defaultTest.threshold"),
        ({"config.defaultTest.options": {"transform": "output.replace('technical', 'billing')"}}, "config.defaultTest.options"),
        ({"config.defaultTest.assert": [{"type": "is-json"}]}, "config.defaultTest.assert"),
        ({"config.defaultTest.vars": {"ticket_id": "T-2"}}, "config.defaultTest.vars"),
        ({"config.scenarios": [{"config": [{"vars": {"ticket": "x"}}], "tests": []}]}, "config.scenarios"),
        ({"config.extensions": ["file://hooks.py:extension_hook"]}, "config.extensions"),
        ({"config.derivedMetrics": [{"name": "x", "value": "1"}]}, "config.derivedMetrics"),
        ({"config.env": {"OPENAI_BASE_URL": "http://localhost"}}, "config.env"),
        ({"config.providers": [{"id": "file://provider.py", "label": "triage-gpt-4o-2024-08-06", "transform": "'{}'"}]}, "config.providers"),
    ],
)
def test_a_run_whose_config_is_not_the_suites_is_refused(change: dict[str, Any], field: str):
    """Red-team F2: only config.tests was compared, so `-c suite.yaml -c overlay.yaml` (defaultTest.threshold 0.5)
    turned 48/54 into 54/54; every key of the config that changes a result must be the suite's."""
    assert f"{field}: differs from the suite's (evals/promptfooconfig.yaml)" in refusal(fixture(**change))


def test_what_promptfoo_adds_to_the_config_is_not_a_difference():
    document = fixture(
        **{
            "config.description": "edited",
            "config.outputPath": ["/elsewhere.json"],
            "config.sharing": False,
            "config.tags": {"team": "x"},
            "config.metadata": {"k": 1},
            "config.evaluateOptions": {},
        }
    )
    assert bind(document).figures["passed"] == 96


def test_a_case_moved_to_another_slice_is_refused():
    document = fixture()
    result = document["results"]["results"][0]
    result["testCase"]["metadata"]["slice"] = "gold" if result["testCase"]["metadata"]["slice"] != "gold" else "adversarial"
    assert "is in slice" in refusal(document) and "in evals/promptfooconfig.yaml" in refusal(document)


def cases(*ids: str, variant: int = 0) -> list[CaseResult]:
    return [CaseResult(i, None, True, variant=variant, where=f"r[{n}]") for n, i in enumerate(ids)]


def test_each_case_once_per_prompt_and_provider():
    declared = CaseList("suite", "suite.yaml", [DeclaredCase("a", "gold"), DeclaredCase("b", None)])
    run_at = datetime(2026, 11, 1, tzinfo=UTC)
    two = Report("eval", "promptfoo", run_at, cases("a", "b") + cases("a", "b", variant=1), variants=2)
    matched = match_cases(two, declared, "r.json")
    assert [c.slice for c in matched] == ["gold", None, "gold", None]
    short = Report("eval", "promptfoo", run_at, cases("a", "b") + cases("a", variant=1), variants=2)
    with pytest.raises(InvalidInput, match=r"case 'b' of the suite \(suite.yaml\) is missing from the report"):
        match_cases(short, declared, "r.json")
    stray = Report("eval", "promptfoo", run_at, cases("a", "b", variant=2), variants=2)
    with pytest.raises(InvalidInput, match="names prompt 2, but the run has 2"):
        match_cases(stray, declared, "r.json")


def test_case_lists_are_read_strictly_and_written_back():
    listed = [DeclaredCase("t::a", "gold"), DeclaredCase('t::b["x"]', None)]
    assert parse_case_list(case_list_yaml(listed).encode(), "cases.yaml") == listed
    for text, message in (
        ("- {id: a}\n- {id: a}\n", "case 'a' is listed twice (first on line 1)"),
        ("- {id: a, weight: 2}\n", "nothing else"),
        ("{}\n", "non-empty list"),
        ("- {slice: gold}\n", "needs an `id`"),
        ("- {id: a}\n- {id: a, id: b}\n", "duplicate key 'id'"),
    ):
        with pytest.raises(InvalidInput) as err:
            parse_case_list(text.encode(), "cases.yaml")
        assert message in str(err.value)


def test_a_report_with_a_repeated_case_cannot_declare_a_case_list():
    run_at = datetime(2026, 11, 1, tzinfo=UTC)
    assert report_case_list(Report("eval", "junit", run_at, cases("a", "b")), "j.xml") == [DeclaredCase("a", None), DeclaredCase("b", None)]
    with pytest.raises(InvalidInput, match="case 'a' appears twice"):
        report_case_list(Report("eval", "junit", run_at, cases("a", "a")), "j.xml")


def test_an_index_of_the_previous_schema_is_rebuilt_with_the_new_columns():
    """Evidence rows gained a column: an index file written by the previous version must not break reads."""
    import sqlite3
    import tempfile
    from pathlib import Path

    from bundlectl.registry.index import Index

    path = Path(tempfile.mkdtemp()) / "index.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema', '5');"
        "CREATE TABLE evidence (seq INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL,"
        " digest TEXT NOT NULL, evals_digest TEXT, kind TEXT NOT NULL, source TEXT NOT NULL, run_at TEXT NOT NULL,"
        " figures_json TEXT NOT NULL, report_key TEXT NOT NULL, actor TEXT NOT NULL, time TEXT NOT NULL);"
    )
    old.close()
    index = Index.open(path)
    columns = [row[1] for row in index.db.execute("PRAGMA table_info(evidence)")]
    assert "binding_json" in columns and index.head().id is None
