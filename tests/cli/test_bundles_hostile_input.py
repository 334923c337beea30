"""Bad input: one or two lines naming file, line and field; exit 1; no traceback; nothing registered."""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, Workspace
from tests.foundation.test_safeyaml import billion_laughs


def make_bundle(ws: Workspace, name: str = "bad") -> Path:
    target = ws.root / "bundles" / name
    shutil.copytree(EXAMPLES / "support-triage-v1", target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def refused(ws: Workspace, folder: Path) -> str:
    head = ws.log_head()
    refs = ws.bundlectl_refs()
    for command in (["validate", str(folder)], ["register", str(folder)]):
        result = ws.run(*command)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output
        assert result.stderr.startswith("error: ") or result.stderr.startswith("✗ ")
    assert ws.log_head() == head and ws.bundlectl_refs() == refs  # nothing written
    return result.stderr


def test_duplicate_key(registry: Workspace):
    folder = make_bundle(registry)
    edit(folder / "bundle.yaml", "  owner: ops-triage@example.com\n", "  owner: ops-triage@example.com\n  owner: someone@else\n")
    assert "bundle.yaml:9: duplicate key 'owner' (first defined on line 8)" in refused(registry, folder)


def test_alias_bomb(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "bundle.yaml").write_text(billion_laughs())
    assert "alias bomb" in refused(registry, folder)


def test_wrong_type_names_line_and_field(registry: Workspace):
    folder = make_bundle(registry)
    edit(folder / "bundle.yaml", 'version: "2"', "version: 2")
    message = refused(registry, folder)
    assert 'bundle.yaml:21: components.schema.version: must be a string; quote it: "2"' in message


def test_floating_model_alias(registry: Workspace):
    folder = make_bundle(registry)
    edit(folder / "bundle.yaml", "snapshot: gpt-4o-2024-08-06", "snapshot: gpt-4o")
    message = refused(registry, folder)
    assert "bundle.yaml:14: components.model.snapshot: snapshot 'gpt-4o' is a floating alias" in message  # its own line


def test_unknown_key(registry: Workspace):
    folder = make_bundle(registry)
    edit(folder / "bundle.yaml", "  runbook:\n    file: runbook.md", "  runbook:\n    file: runbook.md\n    fiel: x")
    assert "components.runbook.fiel: unknown key" in refused(registry, folder)


def test_non_utf8_manifest(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "bundle.yaml").write_bytes((folder / "bundle.yaml").read_bytes().replace(b"Routes", b"R\xffoutes"))
    assert "bundle.yaml:9: is not valid UTF-8" in refused(registry, folder)


def test_binary_manifest(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "bundle.yaml").write_bytes(b"apiVersion: x\n\x00\x01\x02")
    assert "bundle.yaml:2: is a binary file" in refused(registry, folder)


def test_huge_manifest(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "bundle.yaml").write_text("# " + "x" * (2 * 1024 * 1024) + "\n")
    assert "over the 1048576-byte limit" in refused(registry, folder)


def test_binary_prompt_file(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "prompts/system.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert "prompts/system.md:3: is a binary file" in refused(registry, folder)


def test_malformed_tool_manifest(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "tools/manifest.json").write_text('[{"type": "function", "function": {"name": "x",}}]')
    assert "tools/manifest.json:1: is not valid JSON" in refused(registry, folder)


def test_tool_manifest_of_the_wrong_shape(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "tools/manifest.json").write_text('{"functions": []}')
    assert "is not a tool manifest" in refused(registry, folder)


def test_symlink_leading_out(registry: Workspace, tmp_path: Path):
    folder = make_bundle(registry)
    secret = tmp_path / "secret.md"
    secret.write_text("top secret")
    (folder / "runbook.md").unlink()
    (folder / "runbook.md").symlink_to(secret)
    message = refused(registry, folder)
    assert "components.runbook.file: 'runbook.md' is a symlink leading outside the bundle folder" in message


def test_symlink_inside_is_fine(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "docs").mkdir()
    shutil.move(folder / "runbook.md", folder / "docs/runbook.md")
    (folder / "runbook.md").symlink_to("docs/runbook.md")
    assert registry.run("validate", str(folder)).exit_code == 0


def test_path_escape_in_manifest(registry: Workspace):
    folder = make_bundle(registry)
    edit(folder / "bundle.yaml", "file: runbook.md", "file: ../support-triage-v2/runbook.md")
    assert "leaves the bundle folder" in refused(registry, folder)


def test_missing_file(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "runbook.md").unlink()
    assert "bundle.yaml:39: components.runbook.file: 'runbook.md' does not exist" in refused(registry, folder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")
def test_fifo_is_not_read(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "runbook.md").unlink()
    os.mkfifo(folder / "runbook.md")
    assert "is not a regular file or folder" in refused(registry, folder)


def test_manifest_that_is_not_a_mapping(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "bundle.yaml").write_text("- just\n- a list\n")
    assert "must be a YAML mapping" in refused(registry, folder)


def test_missing_manifest(registry: Workspace):
    folder = registry.root / "bundles" / "empty"
    folder.mkdir()
    assert "bundle.yaml: not found" in refused(registry, folder)


def test_constraint_broken_in_a_folder(registry: Workspace):
    folder = make_bundle(registry)
    edit(
        folder / "bundle.yaml",
        "requires: {tools: [create_ticket, escalate_to_human]",
        "requires: {tools: [create_ticket, escalate_to_human, refund_status]",
    )
    assert "the prompt calls tool refund_status, which the tools component does not provide" in refused(registry, folder)


def test_schema_version_constraint_in_a_folder(registry: Workspace):
    folder = make_bundle(registry)
    edit(folder / "bundle.yaml", 'schema_version: "2"', 'schema_version: "3"')
    assert "the prompt is written for output schema version 3, but the schema component is version 2" in refused(registry, folder)


@pytest.mark.parametrize(
    "params,message",
    [
        ("{temperature: [hot]}", "bundle.yaml:15: components.model.params.temperature: must be a number from 0 to 2; got ['hot']"),
        ("{temperature: 2.5}", "components.model.params.temperature: must be a number from 0 to 2; got 2.5"),
        ("{temperature: true}", "components.model.params.temperature: must be a number from 0 to 2; got True"),
        ("{temperature: .nan}", "components.model.params.temperature: must be a number from 0 to 2; got nan"),
        ('{top_p: "0.9"}', "components.model.params.top_p: must be a number from 0 to 1; got '0.9'"),
        ("{max_tokens: 0}", "components.model.params.max_tokens: must be an integer of at least 1; got 0"),
        ("{max_tokens: 400.5}", "components.model.params.max_tokens: must be an integer of at least 1; got 400.5"),
        ("{seed: null}", "components.model.params.seed: must be an integer; got null (leave the key out"),
        ("{stop: []}", "components.model.params.stop: must be a string or a non-empty list of strings; got []"),
    ],
)
def test_well_known_model_params_are_typed_and_bounded(registry: Workspace, params: str, message: str):
    folder = make_bundle(registry)
    edit(folder / "bundle.yaml", "params: {temperature: 0.2, max_tokens: 400, top_p: 1.0}", f"params: {params}")
    assert message in refused(registry, folder)


def test_other_model_params_stay_free_and_integers_keep_their_digest(registry: Workspace):
    folder = make_bundle(registry)
    edit(
        folder / "bundle.yaml",
        "params: {temperature: 0.2, max_tokens: 400, top_p: 1.0}",
        "params: {temperature: 1, reasoning: {effort: high}, stop: [END], logit_bias: {'50256': -100}}",
    )
    shown = registry.json("show", str(folder))["components"]["model"]
    # written as the integer 1 and digested as 1, never converted to 1.0 (which would move the digest)
    assert shown["fields"]["params"] == {"temperature": 1, "reasoning": {"effort": "high"}, "stop": ["END"], "logit_bias": {"50256": -100}}


@pytest.mark.parametrize(
    "schema,field,words",
    [
        ('{"type": "strin"}', "type", "'strin' is not valid"),
        ('{"type": "object", "properties": {"a": {"minLength": -1}}}', "properties/a/minLength", "-1"),
        ('{"type": "object", "required": "answer"}', "required", "'answer' is not of type 'array'"),
    ],
)
def test_schema_component_must_be_a_valid_json_schema(registry: Workspace, schema: str, field: str, words: str):
    folder = make_bundle(registry)
    (folder / "schemas" / "triage-output.schema.json").write_text(schema)
    message = refused(registry, folder)
    assert f"schemas/triage-output.schema.json: {field}: is not a valid JSON Schema:" in message and words in message


def test_schema_component_with_an_unknown_draft(registry: Workspace):
    folder = make_bundle(registry)
    (folder / "schemas" / "triage-output.schema.json").write_text('{"$schema": "https://example.com/my-draft", "type": "object"}')
    assert "$schema: $schema 'https://example.com/my-draft' is not a JSON Schema draft this tool knows" in refused(registry, folder)


@pytest.mark.parametrize(
    "old,new,expected",
    [
        (
            "    snapshot: gpt-4o-2024-08-06",
            "    snapshott: gpt-4o-2024-08-06",
            "bundle.yaml:14: components.model.snapshott: unknown key; did you mean 'snapshot'?",
        ),
        ("  owner: ops-triage@example.com", "  ownr: ops-triage@example.com", "metadata.ownr: unknown key; did you mean 'owner'?"),
        ("  tools:\n    file: tools/manifest.json", "  tools:\n    absnet: no tools", "components.tools.absnet: unknown key; did you mean 'absent'?"),
    ],
)
def test_a_misspelt_key_says_which_was_meant(registry: Workspace, old: str, new: str, expected: str):
    folder = make_bundle(registry)
    edit(folder / "bundle.yaml", old, new)
    assert expected in refused(registry, folder)
