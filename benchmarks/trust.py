"""Trust benchmarks (issue 12), each a ratio against a baseline measured in the same run.

- `verify` (CLI, end to end) of a 10,000-event log with trust set, every record signed, vs the same log
  unsigned (target ≤ 3×)
- promote latency (CLI, end to end) on a registry with trust set, signing with `ssh-keygen -Y sign`, vs
  an unsigned promote

The long logs are built as benchmarks/synthetic.py builds them: real bundlectl commands for the first
records (with --key once trust is set), then real, hash-chained payloads via `git fast-import`. The
synthetic records are signed in-process with the same SSHSIG format ssh-keygen writes (10,000 runs of
ssh-keygen would take minutes to set up and measure nothing that verify does).
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bundlectl_cmd, median_interleaved, report, run  # noqa: E402
from synthetic import V1, V2, build_registry  # noqa: E402

from bundlectl.trust.sshsig import NAMESPACE  # noqa: E402
from bundlectl.trust.wire import string  # noqa: E402

EVENTS = 10_000
PEOPLE = ("alice", "bob", "carol", "pete", "ci")


class Team:
    """ed25519 keys made by ssh-keygen, a trust file naming them, and an in-process signer for synthetic records."""

    def __init__(self, folder: Path) -> None:
        from cryptography.hazmat.primitives.serialization import load_ssh_private_key

        folder.mkdir()
        self.folder = folder
        self.private: dict[str, Any] = {}
        for name in PEOPLE:
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(folder / name)], check=True)
            self.private[name] = load_ssh_private_key((folder / name).read_bytes(), None)

    def line(self, name: str) -> str:
        return f'"{name}@example.com {" ".join((self.folder / f"{name}.pub").read_text().split()[:2])}"'

    def trust_file(self, work: Path) -> Path:
        path = work / "trust.yaml"
        path.write_text(
            f"apiVersion: bundlectl/v1\nkind: Trust\nroles:\n"
            f"  admins: {{threshold: 2, keys: [{self.line('alice')}, {self.line('bob')}]}}\n"
            f"  approvers: {{keys: [{self.line('carol')}]}}\n  runners: {{keys: [{self.line('ci')}]}}\n"
            f"  promoters: {{staging: [{self.line('pete')}], production: [{self.line('pete')}]}}\n"
        )
        return path

    def key_args(self, command: str) -> list[str]:
        names = {"trust": ["alice", "bob"], "policy": ["alice", "bob"], "register": ["alice"], "evidence": ["ci"], "promote": ["pete"]}[command]
        return [a for name in names for a in ("--key", str(self.folder / name))]

    def actor(self, action: str) -> str:
        return {"approval": "carol", "promote": "pete"}[action] + "@example.com"

    def sign(self, payload: bytes, action: str) -> bytes:
        """The armored SSHSIG `ssh-keygen -Y sign -n bundlectl` would write (PROTOCOL.sshsig), made in-process."""
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        key = self.private[{"approval": "carol", "promote": "pete"}[action]]
        public = string(b"ssh-ed25519") + string(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        fields = string(NAMESPACE.encode()) + string(b"") + string(b"sha512")
        signature = key.sign(b"SSHSIG" + fields + string(hashlib.sha512(payload).digest()))
        blob = b"SSHSIG" + (1).to_bytes(4, "big") + string(public) + fields + string(string(b"ssh-ed25519") + string(signature))
        body = base64.b64encode(blob).decode()
        lines = [body[i : i + 70] for i in range(0, len(body), 70)]
        return "\n".join(["-----BEGIN SSH SIGNATURE-----", *lines, "-----END SSH SIGNATURE-----"]).encode()


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-trust-"))
    results: dict[str, dict[str, float]] = {}
    try:
        cli = bundlectl_cmd()
        team = Team(work / "keys")
        plain_dir, signed_dir = work / "unsigned", work / "signed"
        plain_dir.mkdir()
        signed_dir.mkdir()
        plain, signed = build_registry(plain_dir, EVENTS), build_registry(signed_dir, EVENTS, team)
        for directory, env in ((plain_dir, plain), (signed_dir, signed)):
            run([*cli, "verify"], directory, env)  # valid logs; and the first read has caught the index up
        base, measured = median_interleaved(lambda: run([*cli, "verify"], plain_dir, plain), lambda: run([*cli, "verify"], signed_dir, signed), 5)
        results[f"verify: {EVENTS:,} signed events / {EVENTS:,} unsigned"] = {
            "baseline_s": base,
            "measured_s": measured,
            "ratio": measured / base,
            "target": 3.0,
        }

        flips = iter(range(1000))

        def promote(directory: Path, env: dict[str, str], *key: str) -> None:
            run([*cli, "promote", (V1, V2)[next(flips) % 2], "--env", "staging", *key], directory, env)

        small_plain, small_signed = work / "small-unsigned", work / "small-signed"
        small_plain.mkdir()
        small_signed.mkdir()
        plain_small, signed_small = build_registry(small_plain, 100), build_registry(small_signed, 100, team)
        base, measured = median_interleaved(
            lambda: promote(small_plain, plain_small), lambda: promote(small_signed, signed_small, *team.key_args("promote")), 11
        )
        results["promote (git, CLI end to end): signed with ssh-keygen / unsigned"] = {
            "baseline_s": base,
            "measured_s": measured,
            "ratio": measured / base,
        }
        for directory, env in ((small_plain, plain_small), (small_signed, signed_small)):
            run([*cli, "verify"], directory, env)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
