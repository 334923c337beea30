"""Acts signed in a sandbox copy never count in the registry it copies: the id every record names (issue 21).

The attack, as a key holder would make it: `registry copy . SANDBOX`, approve and promote there, then bring
the sandbox back, with `registry copy` or with plain git (fetching its refs over the original's).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bundlectl.digest.canonical import canonical_json, sha256_of
from tests.conftest import V1, Workspace
from tests.trust.conftest import Keys, ok
from tests.trust.test_signed_tampering import records, sign, store, verify_elsewhere


def key(keys: Keys, name: str) -> list[str]:
    return ["--key", keys.path(name)]


def sandbox_of(ws: Workspace, tmp_path: Path) -> str:
    return f"s3://{ws.storage().bucket}/sandbox" if ws.backend == "s3" else str(tmp_path / "sandbox.git")


def acted_in_sandbox(trusted: Workspace, keys: Keys, tmp_path: Path) -> tuple[str, str, str]:
    """The production url and id, and a sandbox where carol approved V1 for staging and pete promoted it."""
    production = trusted.storage().url if trusted.backend == "s3" else str(trusted.root)
    sandbox = sandbox_of(trusted, tmp_path)
    made = ok(trusted, "registry", "copy", production, sandbox)
    assert "is a sandbox with an id of its own: acts made there never count in" in made
    ok(trusted, "approve", V1, "--env", "staging", *key(keys, "carol"), "--registry", sandbox)
    ok(trusted, "promote", V1, "--env", "staging", *key(keys, "pete"), "--registry", sandbox)
    return production, sandbox, trusted.json("verify")["registry"]


def test_a_sandbox_has_its_own_id_and_names_what_it_copies(trusted: Workspace, keys: Keys, tmp_path: Path):
    production, sandbox, original = acted_in_sandbox(trusted, keys, tmp_path)
    copied = trusted.json("verify", "--registry", sandbox)
    assert copied["copy_of"] == original and copied["registry"] not in (None, original)
    shown = trusted.run("verify", "--registry", sandbox)
    assert f"a sandbox copy of {original} made after its seq" in shown.stdout
    assert trusted.run("verify", "--registry-id", original).exit_code == 0
    bad = trusted.run("verify", "--registry-id", "not-an-id")
    assert bad.exit_code == 2 and "--registry-id must be a registry id (32 hex digits)" in bad.stderr


def test_registry_copy_refuses_to_bring_sandbox_acts_back(trusted: Workspace, keys: Keys, tmp_path: Path):
    production, sandbox, _ = acted_in_sandbox(trusted, keys, tmp_path)
    head = trusted.storage().log_head()
    back = trusted.run("registry", "copy", sandbox, production)
    assert back.exit_code == 1 and "is not empty; a sandbox copy goes into an empty registry; nothing was copied" in back.stderr
    migrated = trusted.run("registry", "copy", "--migrate", sandbox, production)
    assert migrated.exit_code == 1
    assert "acts made in a sandbox copy never count in the registry it copies; nothing was copied" in migrated.stderr
    assert trusted.storage().log_head() == head
    assert trusted.json("status")["environments"] == []  # staging never moved here


def bring_back(ws: Workspace, sandbox: str) -> None:
    """The sandbox's registry over the original's with plain tools: git fetch of its refs, or every S3 key copied."""
    if ws.backend == "git":
        ws.repo.git.fetch(sandbox, "+refs/bundlectl/*:refs/bundlectl/*")
        return
    storage = ws.storage()
    client, prefix = storage.client, storage.prefix
    listed = client.list_objects_v2(Bucket=storage.bucket, Prefix="sandbox/")
    for item in listed["Contents"]:
        key = prefix + item["Key"][len("sandbox/") :]
        client.copy_object(Bucket=storage.bucket, Key=key, CopySource={"Bucket": storage.bucket, "Key": item["Key"]})


def test_a_sandbox_brought_back_with_plain_tools_is_refused_here_and_fails_a_pinned_verify_elsewhere(
    trusted: Workspace, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    _, sandbox, original = acted_in_sandbox(trusted, keys, tmp_path)
    before = trusted.storage().log_head()
    bring_back(trusted, sandbox)
    assert trusted.storage().log_head() != before
    here = trusted.run("status")
    assert here.exit_code == 5
    another = f"this machine read registry {original} here; its log now says it is registry"
    if trusted.backend == "git":  # the sandbox's commits are its own: a rewritten log, or first seen as another registry
        rewritten = "the registry log was rewritten: the head this machine last saw (seq 8" in here.stderr
        assert rewritten or another in here.stderr, here.stderr
    else:  # the same records under the same keys: the log grew, into another registry
        assert another in here.stderr
        assert "records made in another registry were brought into this one" in here.stderr
    refused = trusted.run("approve", V1, "--env", "staging", *key(keys, "bob"))
    assert refused.exit_code == 5
    pinned = verify_elsewhere(trusted, tmp_path, monkeypatch, "--registry-id", original)
    assert pinned.exit_code == 5 and f"not the pinned registry {original}" in pinned.stderr
    unpinned = verify_elsewhere(trusted, tmp_path / "other", monkeypatch)
    assert unpinned.exit_code == 0 and f"a sandbox copy of {original}" in unpinned.stdout


def test_a_record_signed_for_another_registry_never_verifies_here(trusted: Workspace, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A promoter's record, signed with ssh-keygen and appended behind bundlectl's back, naming another registry."""
    kept = records(trusted)
    last = json.loads(kept[-1][1])
    forged = {
        **last,
        "seq": last["seq"] + 1,
        "prev": sha256_of(kept[-1][1]),
        "actor": "carol@example.com",
        "action": "approval",
        "reason": None,
        "registry": "0" * 32,
        "data": {"name": "support-triage", "version": "2026.11.01-1", "digest": trusted.json("show", V1)["digest"], "env": "staging"},
    }
    forged.pop("run_url", None)
    payload = canonical_json(forged)
    store(trusted, [*kept, (f"record {forged['seq']}", payload, sign(keys, "carol", payload))], unchanged=len(kept))
    result = verify_elsewhere(trusted, tmp_path, monkeypatch)
    assert result.exit_code == 5
    assert f"log record seq {forged['seq']} (approval" in result.stderr
    assert f"was made for registry {'0' * 32}, not this one ({last['registry']})" in result.stderr
