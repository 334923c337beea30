"""`trust set` / `trust show`: a threshold of admins (its own the first time), the file checked line by line."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Workspace
from tests.trust.conftest import Keys, ok, set_trust, trust_yaml, write


def keys_args(keys: Keys, *names: str) -> list[str]:
    return [a for n in names for a in ("--key", keys.path(n))]


def test_the_first_trust_needs_a_threshold_of_its_own_admins(registry: Workspace, keys: Keys):
    path = write(registry, "trust.yaml", trust_yaml(keys))
    before = registry.bundlectl_refs()
    for signers, message in [
        ((), "must be signed by 2 of the admins"),
        (("alice",), "needs 2 distinct admins (principals); 1 signed"),
        (("alice", "mallory"), "which the trust file does not name, is not among the admins"),
    ]:
        result = registry.run("trust", "set", path, *keys_args(keys, *signers))
        assert result.exit_code == 1, result.output
        assert message in result.stderr and "nothing was written" in result.stderr
    assert registry.bundlectl_refs() == before
    assert registry.run("trust", "show").exit_code == 4
    ok(registry, "trust", "set", path, *keys_args(keys, "alice", "bob"))
    shown = registry.json("trust", "show")
    roles = {role["role"]: role for role in shown["roles"]}
    assert roles["admins"]["threshold"] == 2
    assert [(k["principal"], k["fingerprint"]) for k in roles["admins"]["keys"]] == [
        ("alice@example.com", keys.fingerprint("alice")),
        ("bob@example.com", keys.fingerprint("bob")),
    ]
    assert set(roles) == {"admins", "approvers", "runners", "promoters of production", "promoters of staging"}
    assert shown["digest"].startswith("sha256:") and shown["since"] == shown["seq"]


def test_a_later_trust_needs_the_admins_in_force_not_its_own(registry: Workspace, keys: Keys):
    set_trust(registry, keys, trust_yaml(keys), "alice", "bob")
    takeover = write(registry, "takeover.yaml", trust_yaml(keys, admins=("mallory",), threshold=1))
    before = registry.bundlectl_refs()
    result = registry.run("trust", "set", takeover, *keys_args(keys, "mallory"))
    assert result.exit_code == 1 and "is not among the admins; nothing was written" in result.stderr
    result = registry.run("trust", "set", takeover, *keys_args(keys, "alice"))
    assert result.exit_code == 1 and "needs 2 distinct admins (principals)" in result.stderr
    assert registry.bundlectl_refs() == before
    ok(registry, "trust", "set", takeover, *keys_args(keys, "alice", "bob"))
    assert [r["keys"][0]["principal"] for r in registry.json("trust", "show")["roles"] if r["role"] == "admins"] == ["mallory@example.com"]


@pytest.mark.parametrize(
    "edit, where, message",
    [
        (
            lambda t, k: t.replace("threshold: 2", "threshold: 3"),
            "roles",
            "threshold must be between 1 and the number of distinct admins (2 principals)",
        ),
        (
            lambda t, k: t.replace("bob@example.com ssh-ed25519", "bob@example.com ssh-ed25519 ZZZ"),
            "roles.admins.keys.1",
            "the key of bob@example.com is refused",
        ),
        (lambda t, k: t.replace("carol@example.com", "*@example.com"), "roles.approvers.keys.1", "must be one identity"),
        (
            lambda t, k: t.replace('"carol@example.com ', '"carol@example.com cert-authority '),
            "roles.approvers.keys.1",
            "allowed_signers options (cert-authority) are not supported",
        ),
        (
            lambda t, k: t.replace(k.line("carol"), k.line("alice", "carol@example.com")),
            "roles",
            "is given to both alice@example.com and carol@example.com",
        ),
        (lambda t, k: t + "  auditors: {keys: []}\n", "roles.auditors", "unknown key"),
        (lambda t, k: t.replace("  runners:", "  runners: {keys: [x]}\n  runnerz:"), "roles.runnerz", "unknown key"),
    ],
)
def test_a_bad_trust_file_is_refused_with_its_line_and_field(registry: Workspace, keys: Keys, edit, where, message):
    path = write(registry, "trust.yaml", edit(trust_yaml(keys), keys))
    before = registry.bundlectl_refs()
    result = registry.run("trust", "set", path, *keys_args(keys, "alice", "bob"))
    assert result.exit_code == 1, result.output
    assert "trust.yaml:" in result.stderr and where in result.stderr and message in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert registry.bundlectl_refs() == before


def test_a_dry_run_checks_the_signers_and_stores_nothing(registry: Workspace, keys: Keys):
    path = write(registry, "trust.yaml", trust_yaml(keys))
    before = registry.bundlectl_refs()
    out = ok(registry, "trust", "set", path, "--dry-run", *keys_args(keys, "alice", "bob"))
    assert "alice@example.com, bob@example.com may sign it; dry run: nothing stored" in out
    assert registry.run("trust", "set", path, "--dry-run", *keys_args(keys, "alice")).exit_code == 1
    assert registry.bundlectl_refs() == before


def test_signing_keys_that_cannot_be_used(registry: Workspace, keys: Keys, tmp_path, monkeypatch: pytest.MonkeyPatch):
    path = write(registry, "trust.yaml", trust_yaml(keys))
    result = registry.run("trust", "set", path, "--key", str(tmp_path / "nope"), "--key", keys.path("bob"))
    assert result.exit_code == 2 and "signing key" in result.stderr and "does not exist" in result.stderr
    lonely = tmp_path / "lonely"
    lonely.write_text((tmp_path / "keys" / "alice").read_text())  # a private key without its .pub
    result = registry.run("trust", "set", path, "--key", str(lonely), "--key", keys.path("bob"))
    assert result.exit_code == 2 and "lonely.pub, the public half" in result.stderr and "ssh-keygen -y -f" in result.stderr
    wrong = tmp_path / "wrong"  # a .pub that is not the private key's public half
    wrong.write_text((tmp_path / "keys" / "alice").read_text())
    (tmp_path / "wrong.pub").write_text(keys.public("mallory"))
    lines = trust_yaml(keys, lines={"alice": keys.line("mallory", "alice@example.com")})
    result = registry.run("trust", "set", write(registry, "t2.yaml", lines), "--key", str(wrong), "--key", keys.path("bob"))
    assert result.exit_code == 1 and "ssh-keygen could not sign with" in result.stderr and "nothing was written" in result.stderr
    assert registry.run("trust", "show").exit_code == 4
    monkeypatch.setenv("BUNDLECTL_SIGNING_KEY", f"{keys.path('alice')}:{keys.path('bob')}")
    ok(registry, "trust", "set", path)  # several keys in the variable, joined like PATH


def test_a_public_key_path_signs_through_the_key_next_to_it(registry: Workspace, keys: Keys):
    """What git users give with ssh-agent: the .pub; ssh-keygen finds the private half (agent or beside it)."""
    path = write(registry, "trust.yaml", trust_yaml(keys))
    ok(registry, "trust", "set", path, "--key", keys.path("alice") + ".pub", "--key", keys.path("bob") + ".pub")
    assert json.loads(registry.run("trust", "show", "--json").stdout)["seq"] >= 3
