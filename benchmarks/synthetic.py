"""Registries with many events for read benchmarks: real example bundles and evidence, then a long log.

The extra events are real, hash-chained bundlectl payloads (approvals and alternating promotions in
two environments) written with `git fast-import`, so reads see exactly what a long history leaves.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import ROOT, bundlectl_cmd, run  # noqa: E402

from bundlectl.digest.canonical import canonical_json  # noqa: E402
from bundlectl.foundation.clock import event_time  # noqa: E402
from bundlectl.registry.events import Event, parse_event, summary_line  # noqa: E402
from bundlectl.storage.base import StoredEvent  # noqa: E402

V1, V2 = "support-triage@2026.11.01-1", "support-triage@2026.11.22-1"


def fresh_report(example: str, target: Path) -> Path:
    document = json.loads((ROOT / "tests/fixtures" / f"promptfoo-support-triage-{example}.json").read_text())
    moment = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    document["results"]["timestamp"] = moment + ".000Z"
    document["evalId"] = f"eval-{os.urandom(2).hex()[:3]}-{moment}"  # promptfoo stamps both at once; they must agree
    target.write_text(json.dumps(document))
    return target


class Signer(Protocol):
    """Signs a registry with trust set (benchmarks/trust.py): the trust file, the keys per command, the synthetic records."""

    def trust_file(self, work: Path) -> Path: ...

    def key_args(self, command: str) -> list[str]: ...

    def actor(self, action: str) -> str: ...

    def sign(self, payload: bytes, action: str) -> bytes: ...


def build_registry(work: Path, events: int, signer: Signer | None = None) -> dict[str, str]:
    """A registry holding both example bundles with evidence, then `events` events in total (signed with `signer`)."""
    env = {
        **os.environ,
        "BUNDLECTL_CACHE_DIR": str(work / "cache"),
        "BUNDLECTL_ACTOR": "bench@example.com",
        "BUNDLECTL_REGISTRY": str(work / "registry.git"),
    }
    cli = bundlectl_cmd()
    shutil.copytree(ROOT / "bundles", work / "bundles")
    (work / "policy.yaml").write_text(
        "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n"
        "  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n"
        "  production: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n"
    )
    commands = [
        ["policy", "set", "policy.yaml"],
        ["register", "bundles/support-triage-v1"],
        ["register", "bundles/support-triage-v2"],
        ["evidence", "add", V1, str(fresh_report("v1", work / "v1.json"))],
        ["evidence", "add", V2, str(fresh_report("v2", work / "v2.json"))],
    ]
    run([*cli, "init"], work, env)
    if signer is not None:
        commands.insert(0, ["trust", "set", str(signer.trust_file(work))])
    for args in commands:
        run([*cli, *args, *(signer.key_args(args[0]) if signer else [])], work, env)
    append_synthetic(work / "registry.git", events, signer)
    return env


def append_synthetic(repo: Path, total: int, signer: Signer | None = None) -> None:
    """Approvals and alternating promotions in two environments, chained to the real head, via fast-import.

    With a signer, each record is signed as bundlectl signs it and the head pointer names the last one.
    """
    git = ["git", "-C", str(repo)]
    head = subprocess.run([*git, "rev-parse", "refs/bundlectl/log"], capture_output=True, text=True, check=True).stdout.strip()
    messages = subprocess.run(
        [*git, "log", "--reverse", "--format=%B%x00", "refs/bundlectl/log"], capture_output=True, text=True, check=True
    ).stdout.split("\x00")
    stored = [parse_event(StoredEvent("x", m.strip().split("\n\n", 1)[1].strip().encode())) for m in messages if m.strip()]
    last = stored[-1]
    bundles = {e.data["version"]: e.data["digest"] for e in stored if e.action == "register"}
    versions = sorted(bundles)
    seq, prev = last.seq, last.hash
    pointers: dict[str, tuple[str, int, int]] = {}  # env → (version, pointer version, seq), continuing the stored log's
    for stored_event in stored:
        if stored_event.is_move:
            pointers[stored_event.data["env"]] = (stored_event.data["to_version"], stored_event.data["pointer_version"], stored_event.seq)
    # after the real events, 100 ms apart: 100,000 events end within three hours of now, inside what
    # `verify` accepts as clock drift (a record dated more than a day ahead is refused)
    start = datetime.now(UTC)
    stream = bytearray()
    count = max(0, total - seq)
    for i in range(count):
        seq += 1
        env = ("staging", "production")[i % 3 == 2]
        moment = event_time(start + timedelta(milliseconds=100 * seq))
        if i % 3 == 0:
            version = versions[(i // 3) % 2]
            event = Event(
                seq,
                prev,
                moment,
                signer.actor("approval") if signer else f"approver{i % 7}@example.com",
                "approval",
                "benchmark",
                {"name": "support-triage", "version": version, "digest": bundles[version], "env": "production"},
            )
        else:
            before = pointers.get(env)
            version = versions[(i // 3) % 2] if before is None or before[0] != versions[(i // 3) % 2] else versions[1 - (i // 3) % 2]
            pointer_version = (before[1] if before else 0) + 1
            event = Event(
                seq,
                prev,
                moment,
                signer.actor("promote") if signer else "bench@example.com",
                "promote",
                "benchmark",
                {
                    "name": "support-triage",
                    "env": env,
                    "from_digest": bundles[before[0]] if before else None,
                    "from_version": before[0] if before else None,
                    "to_digest": bundles[version],
                    "to_version": version,
                    "pointer_version": pointer_version,
                    "verified": True,
                },
            )
            pointers[env] = (version, pointer_version, seq)
        if signer is not None:
            event = event._replace(signatures=signer.sign(event.payload(), event.action))
        message = f"{summary_line(event)}\n\n{event.record().decode()}\n".encode()
        stream += b"commit refs/bundlectl/log\ncommitter bundlectl <bundlectl@localhost> 1767225600 +0000\n"
        stream += b"data %d\n" % len(message) + message + b"\n"
        if i == 0:
            stream += f"from {head}\n".encode()
        prev = event.hash
    subprocess.run([*git, "fast-import", "--quiet"], input=bytes(stream), check=True)
    for env, (version, pointer_version, pseq) in pointers.items():
        _set_pointer(
            git,
            f"envs/support-triage/{env}",
            {"name": "support-triage", "env": env, "digest": bundles[version], "version": version, "pointer_version": pointer_version, "seq": pseq},
        )
    if signer is not None and count:
        _set_pointer(git, "head", {"seq": seq, "hash": prev})


def _set_pointer(git: list[str], name: str, value: dict[str, object]) -> None:
    blob = (
        subprocess.run([*git, "hash-object", "-w", "--stdin"], input=canonical_json(value), capture_output=True, check=True).stdout.decode().strip()
    )
    subprocess.run([*git, "update-ref", f"refs/bundlectl/pointers/{name}", blob], check=True)


def small_and_big(work: Path, big_events: int) -> tuple[Path, dict[str, str], Path, dict[str, str]]:
    """A 100-event and a `big_events` registry, side by side, each verified and with its index caught up."""
    cli = bundlectl_cmd()
    small_dir, big_dir = work / "small", work / "big"
    small_dir.mkdir()
    big_dir.mkdir()
    small, big = build_registry(small_dir, 100), build_registry(big_dir, big_events)
    for directory, env in ((small_dir, small), (big_dir, big)):
        run([*cli, "verify"], directory, env)  # the synthetic logs are valid registries
        run([*cli, "status", "--json"], directory, env)  # the first read catches the index up
    return small_dir, small, big_dir, big
