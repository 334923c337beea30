"""The JSON Schemas: current, and an editor and CI contract that says what the CLI enforces, checked with a
real validator (check-jsonschema) on every example and on each hostile case."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bundlectl.foundation.names import schema_url
from bundlectl.policy.starter import STARTER_POLICY
from bundlectl.workflows.schemas import generated_schemas
from tests.conftest import EXAMPLES, ROOT, Workspace

INDEX_DIGEST = "sha256:4c7f1f0d0a5e5a0b8e3f2d6c9b1a7e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a87"


def test_checked_in_schemas_are_current():
    for name, text in generated_schemas().items():
        path = ROOT / "schemas" / name
        assert path.exists(), f"schemas/{name} is missing: run `bundlectl schemas export`"
        assert path.read_text() == text, f"schemas/{name} is stale: run `bundlectl schemas export`"


def test_schema_describes_every_component_kind():
    schema = json.loads(generated_schemas()["bundle.schema.json"])
    components = schema["$defs"]["Components"]
    assert set(components["required"]) == {"model", "prompt", "schema", "retriever", "tools", "guardrails", "evals", "runbook"}
    assert components["additionalProperties"] is False


CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def check_jsonschema(schema: str, files: list[Path]) -> dict[str, list[dict]]:
    """check-jsonschema's verdict on each file: the errors it found (path and message), [] when valid."""
    result = subprocess.run(
        [str(CHECK_JSONSCHEMA), "-o", "json", "--schemafile", str(ROOT / "schemas" / schema), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    assert not report.get("parse_errors"), report["parse_errors"]
    found: dict[str, list[dict]] = {str(f): [] for f in files}
    for error in report.get("errors", []):
        found[error["filename"]].append(error)
    assert (result.returncode == 0) == (report["status"] == "ok")
    return found


def test_each_schema_says_its_draft_and_its_id():
    for name, text in generated_schemas().items():
        schema = json.loads(text)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema" and schema["$id"] == schema_url(name)
    evidence = json.loads(generated_schemas()["evidence.schema.json"])
    assert evidence["properties"]["run_at"]["format"] == "date-time"


def test_new_bundles_name_their_schema_for_editors(workspace: Workspace):
    assert workspace.run("new", "faq-bot").exit_code == 0
    first = (workspace.root / "bundles/faq-bot/bundle.yaml").read_text().splitlines()[0]
    assert first == f"# yaml-language-server: $schema={schema_url('bundle.schema.json')}"


def test_every_example_validates_with_check_jsonschema(workspace: Workspace):
    assert workspace.run("new", "faq-bot").exit_code == 0
    bundles = [*sorted(EXAMPLES.glob("*/bundle.yaml")), workspace.root / "bundles/faq-bot/bundle.yaml"]
    assert len(bundles) >= 3 and all(errors == [] for errors in check_jsonschema("bundle.schema.json", bundles).values())
    page = (ROOT / "docs/reference/policy.md").read_text()
    documented = page[page.index("```yaml\napiVersion: bundlectl/v1\nkind: Policy") :].split("```")[1].removeprefix("yaml\n")
    policies = {"starter.yaml": STARTER_POLICY, "documented.yaml": documented}
    for name, text in policies.items():
        (workspace.root / name).write_text(text)
    assert all(e == [] for e in check_jsonschema("policy.schema.json", [workspace.root / n for n in policies]).values())
    native = workspace.root / "native.json"
    native.write_text(
        json.dumps(
            {
                "format": "bundlectl/evidence-v1",
                "kind": "load",
                "run_at": "2026-11-22T14:05:00Z",
                "metrics": {"latency_p95_ms": 812.5, "requests": 1000},
            }
        )
    )
    assert check_jsonschema("evidence.schema.json", [native]) == {str(native): []}


# Each hostile case: the edit to a valid example, and the JSON path where the schema must put its error.
# Rules no JSON Schema can state stay CLI-only and are tested with the CLI: an `after` naming an undefined
# environment or forming a cycle, a path listed twice, what component files contain, and the constraints
# between components.
HOSTILE_BUNDLES = {
    "floating-alias": ("snapshot: gpt-4o-2024-08-06", "snapshot: gpt-4o", "$.components.model.snapshot"),
    "latest-alias": ("snapshot: gpt-4o-2024-08-06", "snapshot: claude-3-5-sonnet-latest", "$.components.model.snapshot"),
    "hot": ("temperature: 0.2", "temperature: [hot]", "$.components.model.params.temperature"),
    "no-tokens": ("max_tokens: 400", "max_tokens: 0", "$.components.model.params.max_tokens"),
    "misspelt": ("    snapshot: gpt-4o-2024-08-06", "    snapshot: gpt-4o-2024-08-06\n    snapshott: x", "$.components.model"),
    "escape": ("    file: runbook.md", "    file: ../runbook.md", "$.components.runbook.file"),
    "absolute": ("    file: runbook.md", "    file: /etc/passwd", "$.components.runbook.file"),
    "backslash": ("    file: runbook.md", "    file: docs\\runbook.md", "$.components.runbook.file"),
    "no-content": ("    file: runbook.md", "    description: nothing here", "$.components.runbook"),
    "uri-without-digest": ("    file: runbook.md", "    uri: https://wiki.example.com/runbook", "$.components.runbook"),
    "unpinned-index": (f"    digest: {INDEX_DIGEST}\n", "", "$.components.retriever"),
    "empty-absent": ("  tools:\n    file: tools/manifest.json", "  tools: {absent: ''}", "$.components.tools.absent"),
    "bad-name": ("  name: support-triage", "  name: Support_Triage", "$.metadata.name"),
    "number-version": ('    version: "2"', "    version: 2", "$.components.schema.version"),
}

HOSTILE_POLICIES = {
    "days": ("max_age: 7d", "max_age: 7 days", "$.environments.staging.gates.eval.max_age"),
    "arabic-digits": ("max_age: 7d", "max_age: ٧d", "$.environments.staging.gates.eval.max_age"),
    "no-env": (
        "environments:\n  staging:\n    gates:\n      eval: {min_cases: 20, min_pass_rate: 0.80, max_age: 7d}\n",
        "environments: {}\n",
        "$.environments",
    ),
    "env-name": ("  staging:\n", "  Staging:\n", "$.environments"),
    "pass-rate": ("min_pass_rate: 0.80", "min_pass_rate: 1.5", "$.environments.staging.gates.eval.min_pass_rate"),
    "misspelt": ("max_age: 7d", "maxage: 7d", "$.environments.staging.gates.eval"),
}

POLICY = (
    "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging:\n    gates:\n      eval: {min_cases: 20, min_pass_rate: 0.80, max_age: 7d}\n"
)


def _mutated(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def test_hostile_bundles_are_refused_by_the_cli_and_by_the_schema_at_the_same_field(workspace: Workspace):
    folders = {}
    for case, (old, new, _) in HOSTILE_BUNDLES.items():
        folders[case] = workspace.root / "hostile" / case
        shutil.copytree(EXAMPLES / "support-triage-v1", folders[case])
        manifest = folders[case] / "bundle.yaml"
        manifest.write_text(_mutated(manifest.read_text(), old, new))
    cli = workspace.run("validate", "--json", *map(str, folders.values()))
    assert cli.exit_code == 1
    refused_by_cli = {Path(r["path"]).name for r in json.loads(cli.stdout)["results"] if not r["valid"]}
    assert refused_by_cli == set(HOSTILE_BUNDLES)
    verdicts = check_jsonschema("bundle.schema.json", [f / "bundle.yaml" for f in folders.values()])
    for case, folder in folders.items():
        errors = verdicts[str(folder / "bundle.yaml")]
        assert errors, f"{case}: the schema accepts what the CLI refuses"
        assert HOSTILE_BUNDLES[case][2] in {e["path"] for e in errors}, (case, errors)
        slot_level = [e for e in errors if e["path"].count(".") == 2 and e["path"].startswith("$.components.")]
        assert not any("is not valid under any of the given schemas" in e["message"] for e in slot_level), (case, errors)


def test_a_misspelt_key_is_named_by_the_schema_not_hidden_behind_a_oneof(workspace: Workspace):
    folder = workspace.root / "typo"
    shutil.copytree(EXAMPLES / "support-triage-v1", folder)
    text = (folder / "bundle.yaml").read_text()
    (folder / "bundle.yaml").write_text(_mutated(text, "    file: runbook.md", "    file: runbook.md\n    fiel: x"))
    [error] = check_jsonschema("bundle.schema.json", [folder / "bundle.yaml"])[str(folder / "bundle.yaml")]
    assert error["path"] == "$.components.runbook" and "'fiel' was unexpected" in error["message"]


def test_hostile_policies_are_refused_by_the_cli_and_by_the_schema_at_the_same_field(git_registry: Workspace):
    files = {}
    for case, (old, new, _) in HOSTILE_POLICIES.items():
        files[case] = git_registry.root / f"policy-{case}.yaml"
        files[case].write_text(_mutated(POLICY, old, new), encoding="utf-8")
        result = git_registry.run("policy", "set", str(files[case]), "--dry-run")
        assert result.exit_code == 1, (case, result.output)
    verdicts = check_jsonschema("policy.schema.json", list(files.values()))
    for case, path in files.items():
        assert HOSTILE_POLICIES[case][2] in {e["path"] for e in verdicts[str(path)]}, (case, verdicts[str(path)])


@pytest.mark.parametrize(
    "change,path",
    [
        ({"run_at": "yesterday"}, "$.run_at"),
        ({"kind": "vibes"}, "$.kind"),
        ({"cases": [{"id": "a", "passed": True, "latency_ms": -1}]}, "$.cases[0].latency_ms"),
        ({"bundle_digest": "sha256:abc"}, "$.bundle_digest"),
    ],
)
def test_hostile_native_reports_are_refused_by_the_cli_and_by_the_schema(workspace: Workspace, change: dict, path: str):
    report = workspace.root / "report.json"
    report.write_text(
        json.dumps(
            {"format": "bundlectl/evidence-v1", "kind": "eval", "run_at": "2026-11-22T14:05:00Z", "cases": [{"id": "a", "passed": True}], **change}
        )
    )
    assert workspace.run("evals", "cases", str(report), "--format", "native").exit_code == 1
    assert path in {e["path"] for e in check_jsonschema("evidence.schema.json", [report])[str(report)]}
