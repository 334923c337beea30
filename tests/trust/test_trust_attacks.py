"""Hostile review of trust (issue 12): attacks by someone with write access to the registry, each with the
promise it tries to break."""

from __future__ import annotations

import base64
import json

import pytest

from bundlectl.registry.read import index_at_head
from bundlectl.trust.sshsig import MAGIC
from bundlectl.trust.wire import string
from tests.conftest import V1, V2, Workspace
from tests.trust.conftest import Keys, ok, set_trust, trust_yaml, write
from tests.trust.test_signed_acts import gate, key, refused_with_nothing_written
from tests.trust.test_signed_tampering import assert_tampering, cut_newest_record, records, store

APPROVALS_ONLY = "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {gates: {approvals: {min: 1}}}\n  production: {gates: {}}\n"


def fake_signature(keys: Keys, name: str) -> bytes:
    """An armored SSHSIG that names `name`'s public key but whose signature is zeros: no private key needed."""
    blob = base64.b64decode(keys.public(name).split()[1])
    raw = string(b"ssh-ed25519") + string(bytes(64))
    body = MAGIC + (1).to_bytes(4, "big") + string(blob) + string(b"bundlectl") + string(b"") + string(b"sha512") + string(raw)
    text = base64.b64encode(body).decode()
    return (
        "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(text[i : i + 70] for i in range(0, len(text), 70)) + "\n-----END SSH SIGNATURE-----"
    ).encode()


def another_machine(ws: Workspace) -> None:
    """This machine forgets the registry, as a fresh clone or a CI runner never knew it: its read index goes."""
    index = ws.storage().index_path()
    for path in (index, index.with_name(index.name + "-wal"), index.with_name(index.name + "-shm")):
        path.unlink(missing_ok=True)


def test_a_record_from_before_trust_carrying_a_forged_signature_never_counts_as_signed(registered: Workspace, keys: Keys):
    """Before trust, mallory writes an approval (a claim) and stores beside it an SSHSIG naming bob's key with a
    signature of zeros. Records before trust are claims whose signatures nobody checked: once trust names bob an
    approver, that approval must not pass for bob's. Writers and `verify` refuse the record (exit 5); the read
    index names no signer for it."""
    ok(registered, "policy", "set", write(registered, "policy.yaml", APPROVALS_ONLY))
    ok(registered, "approve", V2, "--env", "staging", "--actor", "mallory@example.com")
    kept = records(registered)
    summary, payload, _ = kept[-1]
    kept[-1] = (summary, payload, fake_signature(keys, "bob"))
    store(registered, kept, unchanged=len(kept) - 1, move_head=False)
    another_machine(registered)  # the team's machines never saw the record without it
    set_trust(registered, keys, trust_yaml(keys), "alice", "bob")

    digest = registered.json("show", V2)["digest"]
    [approval] = index_at_head(registered.storage()).approvals_for(digest, "staging")
    assert approval.signed_by == frozenset()
    where = f"log record seq {len(kept)} (approval"
    for args in (["gate", V2, "--env", "staging", *key(keys, "pete")], ["promote", V2, "--env", "staging", *key(keys, "pete")], ["verify"]):
        result = registered.run(*args)
        assert_tampering(result, "carries signatures, but trust was not set yet")
        assert where in result.stderr
    assert registered.json("status")["environments"] == []


def test_the_promoter_signing_with_a_second_key_does_not_make_their_own_approval_count(registry: Workspace, keys: Keys):
    """bob approves and promotes: his approval must not count, even when he signs the promotion together with pete
    (the recorded promoter is then "bob@example.com, pete@example.com", two principals, not a third one)."""
    set_trust(registry, keys, trust_yaml(keys, promoters={"staging": ("bob", "pete")}), "alice", "bob")
    ok(registry, "register", "bundles/support-triage-v2", *key(keys, "alice"))
    ok(registry, "policy", "set", write(registry, "policy.yaml", APPROVALS_ONLY), *key(keys, "alice"), *key(keys, "bob"))
    ok(registry, "approve", V2, "--env", "staging", *key(keys, "bob"))
    assert gate(registry, V2, "staging", *key(keys, "bob"))["approvals"]["passed"] is False
    checks = gate(registry, V2, "staging", *key(keys, "bob"), *key(keys, "pete"))
    assert checks["approvals"]["passed"] is False, checks["approvals"]
    assert "not counted (author or promoter): bob@example.com" in checks["approvals"]["detail"]
    refused = registry.run("promote", V2, "--env", "staging", *key(keys, "bob"), *key(keys, "pete"))
    assert refused.exit_code == 1 and "approvals" in refused.output, refused.output
    assert registry.json("status")["environments"] == []


def test_a_truncated_log_stops_every_writer_on_a_fresh_machine_and_is_never_laundered(trusted: Workspace, keys: Keys):
    """The newest record (carol's approval) is cut and the log head moved back, the head pointer left alone. A writer
    that never saw the registry (a CI runner) must refuse with exit 5, on S3 as on git: had it appended, its record
    would move the head pointer on and no later `verify` could see that anything was cut."""
    ok(trusted, "approve", V1, "--env", "staging", *key(keys, "carol"))
    kept = records(trusted)
    cut_newest_record(trusted, kept)
    another_machine(trusted)
    before = trusted.bundlectl_refs() if trusted.backend == "git" else None
    result = trusted.run("approve", V1, "--env", "staging", *key(keys, "bob"))
    assert_tampering(result, "the head pointer")
    if before is not None:
        assert trusted.bundlectl_refs() == before
    assert len(records(trusted)) == len(kept) - 1
    assert_tampering(trusted.run("verify"), "the head pointer")


def test_a_log_cut_back_to_before_trust_stops_every_writer_on_a_fresh_machine(trusted: Workspace, keys: Keys):
    """Everything from the first trust file on is cut: the log is all claims again, but the head pointer says
    trust was set. A fresh machine must not go on writing unsigned records (exit 5, nothing written)."""
    kept = records(trusted)
    first_trust = next(n for n, (_, payload, _) in enumerate(kept) if json.loads(payload)["action"] == "trust")
    store(trusted, kept[:first_trust], move_head=False)
    another_machine(trusted)
    result = trusted.run("register", "bundles/support-triage-v2", "--actor", "mallory@example.com")
    assert_tampering(result, "the head pointer")
    assert len(records(trusted)) == first_trust


def test_one_person_with_two_admin_keys_does_not_reach_a_threshold_of_two(registry: Workspace, keys: Keys):
    """alice's laptop and security key are both admin keys under alice@example.com: a threshold of 2 means two
    admins, so she cannot change the policy or the trust alone, and a trust file whose threshold only one person's
    keys could reach is refused."""
    alice2 = keys.line("alice2", "alice@example.com")
    text = trust_yaml(keys, admins=("alice", "alice2", "bob"), lines={"alice2": alice2})
    refused = registry.run("trust", "set", write(registry, "t.yaml", text), *key(keys, "alice"), *key(keys, "alice2"))
    assert refused.exit_code == 1 and "2 distinct admins" in refused.stderr, refused.output
    set_trust(registry, keys, text, "alice", "bob")
    refused_with_nothing_written(
        registry, ["policy", "set", write(registry, "p.yaml", APPROVALS_ONLY), *key(keys, "alice"), *key(keys, "alice2")], "2 distinct admins"
    )
    ok(registry, "policy", "set", write(registry, "p.yaml", APPROVALS_ONLY), *key(keys, "alice2"), *key(keys, "bob"))
    lone = trust_yaml(keys, admins=("alice", "alice2"), lines={"alice2": alice2})
    refused = registry.run("trust", "set", write(registry, "t2.yaml", lone), *key(keys, "alice"), *key(keys, "bob"))
    assert refused.exit_code == 1 and "number of distinct admins (1 principal)" in refused.stderr, refused.output
    assert registry.run("verify").exit_code == 0


def test_a_mistyped_trust_root_is_a_usage_error_not_a_tampering_alarm(trusted: Workspace):
    """`verify --trust-root` with the digest cut short or without its `sha256:` said "this log's trust began
    elsewhere … restore it from a backup" (exit 5): a typo must not read as an attack. The bare hex is the same pin."""
    root = trusted.json("trust", "show")["root"]
    assert trusted.run("verify", "--trust-root", root.removeprefix("sha256:")).exit_code == 0
    for typo in (root[:19], "", "sha256:" + "Z" * 64, root + "0"):
        result = trusted.run("verify", "--trust-root", typo)
        assert result.exit_code == 2, result.output
        assert "--trust-root must be the full digest" in result.stderr and "bundlectl trust show" in result.stderr
        assert "Traceback" not in result.output


@pytest.mark.parametrize("channel", ["--actor", "BUNDLECTL_ACTOR"])
def test_a_claimed_identity_with_a_blank_line_cannot_make_a_record_no_one_can_read(
    registry: Workspace, monkeypatch: pytest.MonkeyPatch, channel: str
):
    """Before trust, `--actor $'x\\n\\nhello'` went into the git commit's summary line, whose blank line is where
    the payload starts: bundlectl wrote a record it could not read back, and every fresh machine got exit 5.
    A claimed identity is one line of text: anything else is refused, nothing written."""
    before = registry.bundlectl_refs() if registry.backend == "git" else None
    claim = "mallory\n\nhello\x1b[2J"
    args = ["register", "bundles/support-triage-v1"]
    if channel == "--actor":
        args += ["--actor", claim]
    else:
        monkeypatch.setenv("BUNDLECTL_ACTOR", claim)
    result = registry.run(*args)
    assert result.exit_code == 1, result.output
    assert "control characters" in result.stderr and f"({channel})" in result.stderr and "Traceback" not in result.output
    if before is not None:
        assert registry.bundlectl_refs() == before
    assert registry.json("list")["bundles"] == []
    assert registry.run("verify").exit_code == 0
