"""Fixtures for trust: real ssh-keygen keys made in tmp_path, trust files naming them, and registries with trust set."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import V1, V2, Workspace
from tests.helpers import promptfoo_report

PEOPLE = ("alice", "bob", "carol", "pete", "ci", "mallory")


class Keys:
    """One ed25519 key per person (and more on demand), made by ssh-keygen itself."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(exist_ok=True)

    def path(self, name: str, kind: str = "ed25519") -> str:
        path = self.folder / name
        if not path.exists():
            extra = ["-b", "3072"] if kind == "rsa" else []
            subprocess.run(["ssh-keygen", "-q", "-t", kind, *extra, "-N", "", "-C", name, "-f", str(path)], check=True)
        return str(path)

    def public(self, name: str) -> str:
        return " ".join(Path(self.path(name) + ".pub").read_text().split()[:2])

    def line(self, name: str, principal: str | None = None) -> str:
        """An allowed_signers line: PRINCIPAL KEYTYPE BASE64."""
        return f"{principal or name + '@example.com'} {self.public(name)}"

    def fingerprint(self, name: str) -> str:
        out = subprocess.run(["ssh-keygen", "-l", "-f", self.path(name) + ".pub"], capture_output=True, text=True, check=True)
        return out.stdout.split()[1]


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path / "keys")


def trust_yaml(
    keys: Keys,
    admins: tuple[str, ...] = ("alice", "bob"),
    threshold: int = 2,
    approvers: tuple[str, ...] = ("bob", "carol"),
    runners: tuple[str, ...] = ("ci",),
    promoters: dict[str, tuple[str, ...]] | None = None,
    registrants: tuple[str, ...] | None = None,
    lines: dict[str, str] | None = None,
) -> str:
    """A trust file; `lines` gives a person's line explicitly (another key, another principal)."""

    def listed(names: tuple[str, ...]) -> str:
        return "[" + ", ".join(f'"{(lines or {}).get(n) or keys.line(n)}"' for n in names) + "]"

    promoters = {"staging": ("pete", "alice"), "production": ("pete",)} if promoters is None else promoters
    text = (
        f"apiVersion: bundlectl/v1\nkind: Trust\nroles:\n"
        f"  admins: {{threshold: {threshold}, keys: {listed(admins)}}}\n"
        f"  approvers: {{keys: {listed(approvers)}}}\n  runners: {{keys: {listed(runners)}}}\n"
        "  promoters:\n" + "".join(f"    {env}: {listed(names)}\n" for env, names in promoters.items())
    )
    if registrants is not None:
        text += f"  registrants: {{keys: {listed(registrants)}}}\n"
    return text


def write(ws: Workspace, name: str, text: str) -> str:
    path = ws.root / name
    path.write_text(text)
    return str(path)


def ok(ws: Workspace, *args: str) -> str:
    result = ws.run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def set_trust(ws: Workspace, keys: Keys, text: str, *signers: str) -> None:
    ok(ws, "trust", "set", write(ws, "trust.yaml", text), *[a for s in signers for a in ("--key", keys.path(s))])


@pytest.fixture
def trusted(registry: Workspace, keys: Keys) -> Workspace:
    """A registry (each backend) with trust set by alice and bob, then both examples registered by alice with
    fresh eval evidence added by ci, and a staging gate of eval and one approval."""
    set_trust(registry, keys, trust_yaml(keys), "alice", "bob")
    for folder in ("bundles/support-triage-v1", "bundles/support-triage-v2"):
        ok(registry, "register", folder, "--key", keys.path("alice"))
    policy = write(
        registry,
        "policy.yaml",
        "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n"
        "  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}, approvals: {min: 1}}}\n"
        "  production: {after: staging, gates: {approvals: {min: 1}}}\n",
    )
    ok(registry, "policy", "set", policy, "--key", keys.path("alice"), "--key", keys.path("bob"))
    ok(registry, "evidence", "add", V1, promptfoo_report(registry, "v1"), "--key", keys.path("ci"))
    ok(registry, "evidence", "add", V2, promptfoo_report(registry, "v2"), "--key", keys.path("ci"))
    return registry
