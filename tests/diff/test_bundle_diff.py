import json

import pytest

from bundlectl.diff.bundles import diff_bundles
from bundlectl.diff.kinds import guardrail_details, tools_details
from bundlectl.registry.refs import BundleSource, resolve
from tests.conftest import EXAMPLES, V1, V2, Workspace


def source(name: str) -> BundleSource:
    return resolve(str(EXAMPLES / name), EXAMPLES, lambda: None)


def test_examples_differ_in_exactly_the_changed_components():
    result = diff_bundles(source("support-triage-v1"), source("support-triage-v2"))
    assert result.changed == ["model", "prompt", "schema", "tools", "guardrails", "evals", "runbook"]
    assert result.unchanged == ["retriever"]
    model = {c.path: (c.old, c.new) for c in result.components["model"].fields}
    assert model == {"snapshot": ("gpt-4o-2024-08-06", "gpt-4o-2024-11-20"), "params.temperature": (0.2, 0.1)}


def test_unchanged_components_are_skipped_without_reading_content():
    a, b = source("support-triage-v1"), source("support-triage-v2")
    reads = []
    for s in (a, b):
        inner = s.read_file
        s.read_file = lambda rel, inner=inner: reads.append(rel) or inner(rel)
    diff_bundles(a, b, ["runbook", "retriever"])
    assert reads == ["runbook.md", "runbook.md"]
    diff_bundles(a, a)
    assert reads == ["runbook.md", "runbook.md"]


def test_unknown_component_filter_is_a_usage_error():
    from bundlectl.errors import UsageProblem

    with pytest.raises(UsageProblem):
        diff_bundles(source("support-triage-v1"), source("support-triage-v2"), ["modle"])


def reader(files):
    return lambda path: json.dumps(files[path]).encode()


def test_tools_added_removed_and_parameter_changes_openai_and_mcp():
    old = [
        {"type": "function", "function": {"name": "a", "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "gone", "parameters": {}}},
    ]
    new = {
        "tools": [{"name": "a", "inputSchema": {"type": "object", "properties": {"x": {"type": "integer"}}}}, {"name": "fresh", "inputSchema": {}}]
    }
    details = tools_details(["t.json"], ["t.json"], reader({"t.json": old}), reader({"t.json": new}))
    assert details["tools_added"] == ["fresh"] and details["tools_removed"] == ["gone"]
    assert details["tools_changed"] == [
        {"name": "a", "changes": [{"parameter": "x", "change": "type changed", "breaking": True, "old": "string", "new": "integer"}]}
    ]
    assert details["breaking"]


def test_guardrail_values_moved_with_direction():
    old = {"abstention": {"min_confidence": 0.5}, "limits": {"max_chars": 100}, "pii": {"redact": True}, "words": ["a"]}
    new = {"abstention": {"min_confidence": 0.4}, "limits": {"max_chars": 50}, "pii": {"redact": False}, "words": ["a", "b"]}
    values = guardrail_details(["g.json"], ["g.json"], reader({"g.json": old}), reader({"g.json": new}))["values"]
    assert {v["path"]: (v["old"], v["new"], v["direction"]) for v in values} == {
        "abstention.min_confidence": (0.5, 0.4, "loosened"),
        "limits.max_chars": (100, 50, "tightened"),
        "pii.redact": (True, False, "disabled"),
        "words[1]": (None, "b", "added"),
    }


def test_diff_json_contract(registered: Workspace):
    document = registered.json("diff", V1, V2)
    assert set(document) >= {"a", "b", "changed", "components"}
    assert set(document["a"]) >= {"name", "version", "digest"}
    assert document["components"]["schema"]["breaking"] is True
    changes = {(c["path"], c["change"]) for c in document["components"]["schema"]["schema_changes"] if c["breaking"]}
    assert changes == {("$.confidence", "new required field"), ("$.language", "field removed"), ("$.priority", "enum values removed")}
    evals = document["components"]["evals"]
    assert evals["cases"] == {"old": 54, "new": 62} and len(evals["tests_added"]) == 8


def test_diff_human_output_names_what_changed(registered: Workspace):
    output = registered.run("diff", V1, V2).output
    assert "changed: model, prompt, schema, tools, guardrails, evals, runbook   unchanged: retriever" in output
    assert "snapshot: gpt-4o-2024-08-06 → gpt-4o-2024-11-20" in output
    assert "abstention.min_confidence: 0.55 → 0.65 (tightened)" in output
    assert "+ tool refund_status" in output and "parameter tags: new required field (breaking)" in output
    assert "+5. Answer only with JSON that matches the output schema." in output


def test_diff_of_identical_bundles(registered: Workspace):
    result = registered.run("diff", V1, "bundles/support-triage-v1")
    assert result.exit_code == 0 and "no component changed" in result.output
