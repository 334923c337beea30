"""Binding without a registry: case lists, case-by-case matching, and the bundle a report ran."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bundlectl.bundle_folder import read_bundle_folder
from bundlectl.content.case_list import DeclaredCase, case_list_yaml, parse_case_list
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
    assert bound.cases == "suite" and bound.figures["cases"] == 54 and bound.figures["passed"] == 48
    assert set(bound.figures["slices"]) == {"adversarial", "gold"}


def test_a_provider_naming_the_snapshot_in_its_id_is_this_bundles_model():
    provider = {"id": "openai:chat:gpt-4o-2024-08-06"}
    document = fixture(**{"config.providers": [provider]})
    for result in document["results"]["results"]:
        result["provider"] = provider
    assert bind(document).figures["cases"] == 54


def test_providers_that_are_not_the_bundles_model():
    other = {"id": "openai:chat:gpt-4o-2024-11-20", "label": "triage"}
    assert "provider openai:chat:gpt-4o-2024-11-20 (label 'triage') is not support-triage@2026.11.01-1's model snapshot " \
           "gpt-4o-2024-08-06" in refusal(fixture(**{"config.providers": [other]}))
    outside = {"id": "file:///tmp/provider.py", "label": "triage-gpt-4o-2024-08-06"}
    assert "is a file outside the evals component" in refusal(fixture(**{"config.providers": [outside]}))
    unlabelled = {"id": "file://provider.py"}
    assert "does not say which snapshot it stands in for" in refusal(fixture(**{"config.providers": [unlabelled]}))


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
    for text, message in (("- {id: a}\n- {id: a}\n", "case 'a' is listed twice (first on line 1)"),
                          ("- {id: a, weight: 2}\n", "nothing else"), ("{}\n", "non-empty list"),
                          ("- {slice: gold}\n", "needs an `id`"), ("- {id: a}\n- {id: a, id: b}\n", "duplicate key 'id'")):
        with pytest.raises(InvalidInput) as err:
            parse_case_list(text.encode(), "cases.yaml")
        assert message in str(err.value)


def test_a_report_with_a_repeated_case_cannot_declare_a_case_list():
    run_at = datetime(2026, 11, 1, tzinfo=UTC)
    assert report_case_list(Report("eval", "junit", run_at, cases("a", "b")), "j.xml") == [DeclaredCase("a", None),
                                                                                          DeclaredCase("b", None)]
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
    old.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema', '5');"
                      "CREATE TABLE evidence (seq INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL,"
                      " digest TEXT NOT NULL, evals_digest TEXT, kind TEXT NOT NULL, source TEXT NOT NULL, run_at TEXT NOT NULL,"
                      " figures_json TEXT NOT NULL, report_key TEXT NOT NULL, actor TEXT NOT NULL, time TEXT NOT NULL);")
    old.close()
    index = Index.open(path)
    columns = [row[1] for row in index.db.execute("PRAGMA table_info(evidence)")]
    assert "binding_json" in columns and index.head().id is None
