import pytest
from pydantic import ValidationError

from bundlectl.bundle.manifest.models import Manifest
from bundlectl.bundle.manifest.pins import is_pinned_snapshot
from bundlectl.foundation.validation_problems import field_location


def manifest(**components):
    base = {
        "model": {"provider": "openai", "snapshot": "gpt-4o-2024-08-06"},
        "prompt": {"file": "p.md"},
        "schema": {"file": "s.json"},
        "retriever": {"absent": "no retrieval"},
        "tools": {"absent": "no tools"},
        "guardrails": {"file": "g.yaml"},
        "evals": {"suite": "e.yaml"},
        "runbook": {"file": "r.md"},
    }
    base.update(components)
    return {"apiVersion": "bundlectl/v1", "kind": "Bundle", "metadata": {"name": "x", "version": "1.0", "owner": "o"}, "components": base}


def errors(data):
    with pytest.raises(ValidationError) as err:
        Manifest.model_validate(data)
    return [(".".join(str(p) for p in field_location(e["loc"])), e["msg"]) for e in err.value.errors()]


@pytest.mark.parametrize("snapshot", ["gpt-4o-2024-08-06", "claude-sonnet-4-5-20250929", "gemini-1.5-pro-002", "gpt-4-0613", "mistral-large-2411"])
def test_pinned_snapshots(snapshot):
    assert is_pinned_snapshot(snapshot)


@pytest.mark.parametrize("snapshot", ["gpt-4o", "claude-3-5-sonnet-latest", "llama3:8b", "gemini-pro", "o1-2024-12-17-latest"])
def test_floating_aliases(snapshot):
    assert not is_pinned_snapshot(snapshot)


def test_floating_alias_refused_unless_allowed():
    found = errors(manifest(model={"provider": "openai", "snapshot": "gpt-4o"}))
    assert found[0][0] == "components.model.snapshot"  # the line of `snapshot:`, not of `model:`
    assert "floating alias" in found[0][1] and "allow_floating" in found[0][1]
    ok = Manifest.model_validate(manifest(model={"provider": "openai", "snapshot": "gpt-4o", "allow_floating": True}))
    assert ok.components.model.allow_floating


def test_unknown_keys_are_errors_everywhere():
    data = manifest(prompt={"file": "p.md", "temprature": 1})
    data["metadata"]["ownr"] = "x"
    locs = {loc for loc, _ in errors(data)}
    assert locs == {"metadata.ownr", "components.prompt.temprature"}


def test_missing_component_is_an_error_absent_must_be_explicit():
    data = manifest()
    del data["components"]["retriever"]
    assert errors(data) == [("components.retriever", "Field required")]


def test_absent_needs_a_reason_and_nothing_else():
    assert errors(manifest(tools={"absent": ""}))[0][0] == "components.tools.absent"
    assert errors(manifest(tools={"absent": "none", "file": "t.json"}))[0][0] == "components.tools.file"


def test_external_uri_needs_digest():
    found = errors(manifest(retriever={"index": "s3://kb/idx/", "embedding_model": "e"}))
    assert "needs a `digest" in found[0][1]
    digest = "sha256:" + "a" * 64
    Manifest.model_validate(manifest(retriever={"index": "s3://kb/idx/", "digest": digest, "embedding_model": "e"}))


def test_digest_without_external_uri_is_refused():
    assert "only for external URIs" in errors(manifest(prompt={"file": "p.md", "digest": "sha256:" + "a" * 64}))[0][1]


@pytest.mark.parametrize(
    "path,message",
    [
        ("../secrets.txt", "leaves the bundle folder"),
        ("a/../../b", "leaves the bundle folder"),
        ("/etc/passwd", "is absolute"),
        ("C:/x", "is absolute"),
        ("~/x", "is absolute"),
        ("a\\b", "backslashes"),
    ],
)
def test_paths_must_stay_inside_the_bundle(path, message):
    found = errors(manifest(runbook={"file": path}))
    assert found[0][0] == "components.runbook.file" and message in found[0][1]


def test_paths_are_normalised():
    loaded = Manifest.model_validate(manifest(runbook={"file": "./docs//r.md"}))
    assert loaded.components.runbook.file == "docs/r.md"


def test_component_without_content_is_refused():
    assert "needs `file`, `files` or `uri`" in errors(manifest(prompt={"version": "1"}))[0][1]
