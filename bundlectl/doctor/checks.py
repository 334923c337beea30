"""The checks `bundlectl doctor` runs: git, identity, the registry, trust, clock skew, harness tools, the cache folder.

Each check is a plain function returning a `Finding`; none of them writes anything, and none fails the others.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bundlectl.errors import BundlectlError
from bundlectl.foundation.clock import now_utc, parse_time

Status = Literal["ok", "warn", "fail"]
MAX_SKEW = timedelta(seconds=30)  # event times never go backwards, so a clock behind the log stamps the next event late


@dataclass(frozen=True)
class Finding:
    name: str
    status: Status
    detail: str
    hint: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DoctorReport:
    findings: list[Finding]

    @property
    def healthy(self) -> bool:
        return all(f.status != "fail" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "checks": [f.to_json() for f in self.findings]}


def git_tool() -> Finding:
    found = shutil.which("git")
    if found is None:
        return Finding("git", "fail", "git is not on PATH", "install git: bundlectl's default registry lives in a git repository")
    version = _output(["git", "--version"])
    return Finding("git", "ok", version or found)


def identity(explicit: str | None = None) -> Finding:
    from bundlectl.trust.identity import acting_identity, ci_identity

    try:
        who = acting_identity(explicit, ci_identity()[0])
    except BundlectlError as exc:
        return Finding("identity", "fail", exc.message, exc.hint)
    if who.startswith("login:"):
        return Finding(
            "identity",
            "warn",
            f"no identity is set, so events are recorded as {who!r}",
            "set one: `git config --global user.email you@example.com` (or BUNDLECTL_ACTOR, or --actor)",
        )
    return Finding("identity", "ok", f"{who} (claimed until trust is set)")


def registry_and_trust(open_registry: Callable[[], Any], where: str, now: datetime) -> list[Finding]:
    """Whether the registry opens and reads, whether it has trust set, and this clock against its newest record."""
    from bundlectl.registry.read import index_at_head

    try:
        storage = open_registry()
        index = index_at_head(storage, allow_empty=True)
    except BundlectlError as exc:
        return [Finding("registry", "fail", exc.message, exc.hint or "create one with `bundlectl init`")]
    records = index.head().seq
    if records == 0:
        return [Finding("registry", "warn", f"{where}: no registry yet", "create one with `bundlectl init`")]
    found = [Finding("registry", "ok", f"{where}: {records} records")]
    since = index.trust_since()
    found.append(
        Finding("trust", "ok", f"trust set since record {since}: every act is signed")
        if since
        else Finding(
            "trust",
            "warn",
            "no trust set: identities in the log are claims",
            "see the Trust guide (`bundlectl trust set FILE`) to prove who did what",
        )
    )
    latest = index.latest_time()
    if latest is None:
        found.append(Finding("clock", "ok", "the registry has no records yet to compare this clock with"))
    else:
        ahead = parse_time(latest) - now
        found.append(
            Finding(
                "clock",
                "warn",
                f"this clock is {ahead.total_seconds():.0f} s behind the registry's newest record ({latest})",
                "synchronise it (NTP): records of this machine would carry times later than its clock",
            )
            if ahead > MAX_SKEW
            else Finding("clock", "ok", f"newest record {latest}; this clock is not behind it")
        )
    return found


def harness_tools() -> list[Finding]:
    from bundlectl.evidence.promptfoo_install import PROMPTFOO_VERSION, cached_install_complete, cached_promptfoo, promptfoo_hint

    found = []
    on_path, cached = shutil.which("promptfoo"), cached_promptfoo()
    if on_path:
        found.append(Finding("promptfoo", "ok", f"{on_path} ({_output([on_path, '--version']) or 'version unknown'})"))
    elif cached_install_complete(cached):
        found.append(Finding("promptfoo", "warn", f"not on PATH, but cached at {cached}", promptfoo_hint()))
    else:
        found.append(
            Finding(
                "promptfoo",
                "warn",
                f"promptfoo {PROMPTFOO_VERSION} is not installed: `bundlectl eval` of a promptfoo suite cannot run",
                promptfoo_hint(),
            )
        )
    node = shutil.which("node")
    found.append(
        Finding("node", "ok", _output(["node", "--version"]) or node)
        if node
        else Finding("node", "warn", "Node.js is not on PATH (promptfoo needs Node.js 20)", "install Node.js 20 and npm")
    )
    ssh_keygen = shutil.which("ssh-keygen")
    found.append(
        Finding("ssh-keygen", "ok", ssh_keygen)
        if ssh_keygen
        else Finding("ssh-keygen", "warn", "ssh-keygen is not on PATH: signing with --key needs it (trust)", "install OpenSSH's client tools")
    )
    return found


def cache_folder() -> Finding:
    from bundlectl.digest.filehash import cache_dir

    folder = cache_dir()
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK):
        return Finding("cache", "fail", f"{folder} cannot be written ({probe} is not writable)", "set BUNDLECTL_CACHE_DIR to a folder you can write")
    return Finding("cache", "ok", f"{folder}" + ("" if folder.exists() else " (made on first use)"))


def diagnose(open_registry: Callable[[], Any], where: str, actor: str | None = None, now: datetime | None = None) -> DoctorReport:
    """Every check; OPEN_REGISTRY opens the registry WHERE names (the one a command here would use)."""
    return DoctorReport([git_tool(), identity(actor), *registry_and_trust(open_registry, where, now or now_utc()), *harness_tools(), cache_folder()])


def _output(command: list[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout.strip() else None
