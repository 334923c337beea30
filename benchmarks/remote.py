"""A registry on a git remote (issue 13) against the local git registry, both measured in the same run.

- `promote` latency, CLI end to end: the remote through a real `git daemon` on loopback vs the local
  git registry (the same bundles, the same empty staging gate, promotions alternating between two bundles)
- `status --json` latency within the fetch TTL vs the local git registry
- network round trips per command, counted from GIT_TRACE (each `git fetch` or `git push` is one
  connection to the remote): target one fetch and one push per promote, none for a read within the TTL

    python benchmarks/remote.py            # 15 rounds
    python benchmarks/remote.py --quick    # 5 rounds
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, bundlectl_cmd, median_interleaved, report, run  # noqa: E402

from tests.gitdaemon import fetches_and_pushes, git_daemon  # noqa: E402

V1, V2 = "support-triage@2026.11.01-1", "support-triage@2026.11.22-1"
POLICY = "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {}\n"


def prepare(folder: Path, registry: str, env: dict[str, str]) -> dict[str, str]:
    """A project folder whose registry (REGISTRY) holds both example bundles and an empty staging gate."""
    cli = bundlectl_cmd()
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "--quiet", str(folder)], check=True)
    shutil.copytree(ROOT / "bundles", folder / "bundles")
    (folder / "policy.yaml").write_text(POLICY)
    env = {**env, "BUNDLECTL_REGISTRY": registry}
    for command in (
        ["init"],
        ["register", "bundles/support-triage-v1"],
        ["register", "bundles/support-triage-v2"],
        ["policy", "set", "policy.yaml"],
        ["promote", V1, "--env", "staging"],
    ):
        run([*cli, *command], folder, env)
    return env


class AlternatingPromote:
    """Each call promotes the bundle that is not live, so every call is a real move."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env, self.next = folder, env, V2

    def __call__(self) -> None:
        run([*bundlectl_cmd(), "promote", self.next, "--env", "staging"], self.folder, self.env)
        self.next = V1 if self.next == V2 else V2


def round_trips(folder: Path, env: dict[str, str], trace: Path, *command: str) -> tuple[int, int]:
    """(fetches, pushes) one command makes, from git's own trace of the commands it ran."""
    trace.unlink(missing_ok=True)
    run([*bundlectl_cmd(), *command], folder, {**env, "GIT_TRACE": str(trace)})
    return fetches_and_pushes(trace)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="5 rounds instead of 15")
    args = parser.parse_args()
    rounds = 5 if args.quick else 15
    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-remote-"))
    base = {**os.environ, "BUNDLECTL_ACTOR": "bench@example.com"}
    results: dict[str, dict[str, float]] = {}
    try:
        (work / "server").mkdir()
        with git_daemon(work / "server") as server:
            url = server.new_repository("team.git")
            local_dir, remote_dir = work / "local", work / "remote"
            local = prepare(local_dir, str(work / "registry.git"), {**base, "BUNDLECTL_CACHE_DIR": str(work / "cache-local")})
            remote = prepare(remote_dir, "git+" + url, {**base, "BUNDLECTL_CACHE_DIR": str(work / "cache-remote")})

            remote_promote = AlternatingPromote(remote_dir, remote)
            base_s, measured_s = median_interleaved(AlternatingPromote(local_dir, local), remote_promote, rounds)
            results["promote: git remote on loopback / local git registry"] = {
                "baseline_s": base_s,
                "measured_s": measured_s,
                "ratio": measured_s / base_s,
            }
            within_ttl = {**remote, "BUNDLECTL_FETCH_TTL": "3600"}
            run([*bundlectl_cmd(), "status", "--json"], remote_dir, within_ttl)
            base_s, measured_s = median_interleaved(
                lambda: run([*bundlectl_cmd(), "status", "--json"], local_dir, local),
                lambda: run([*bundlectl_cmd(), "status", "--json"], remote_dir, within_ttl),
                rounds,
            )
            results["status --json within the fetch TTL: git remote / local git registry"] = {
                "baseline_s": base_s,
                "measured_s": measured_s,
                "ratio": measured_s / base_s,
                "target": 1.25,
            }
            always = {**remote, "BUNDLECTL_FETCH_TTL": "0"}
            base_s, measured_s = median_interleaved(
                lambda: run([*bundlectl_cmd(), "status", "--json"], local_dir, local),
                lambda: run([*bundlectl_cmd(), "status", "--json"], remote_dir, always),
                rounds,
            )
            results["status --json with a fetch (TTL 0): git remote / local git registry"] = {
                "baseline_s": base_s,
                "measured_s": measured_s,
                "ratio": measured_s / base_s,
            }

            trace = work / "trace"
            counted = {
                "promote": round_trips(remote_dir, remote, trace, "promote", remote_promote.next, "--env", "staging"),
                "register (new bundle)": round_trips(remote_dir, remote, trace, "register", "bundles/support-triage-v2-copy")
                if _new_version(remote_dir)
                else (0, 0),
                "status, within the TTL": round_trips(remote_dir, within_ttl, trace, "status"),
                "status, TTL expired": round_trips(remote_dir, always, trace, "status"),
                "status --check": round_trips(remote_dir, within_ttl, trace, "status", "--check"),
                "verify": round_trips(remote_dir, within_ttl, trace, "verify"),
            }
        report(results)
        print(f"\n{'network round trips per command'.ljust(32)}  {'fetches':>7}  {'pushes':>6}  target")
        targets = {"promote": (1, 1), "status, within the TTL": (0, 0)}
        for command, (fetches, pushes) in counted.items():
            goal = targets.get(command)
            verdict = "" if goal is None else (f"{goal[0]} + {goal[1]} " + ("ok" if (fetches, pushes) == goal else "MISSED"))
            print(f"{command.ljust(32)}  {fetches:>7}  {pushes:>6}  {verdict}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _new_version(folder: Path) -> bool:
    copy = folder / "bundles/support-triage-v2-copy"
    shutil.copytree(folder / "bundles/support-triage-v2", copy)
    manifest = copy / "bundle.yaml"
    manifest.write_text(manifest.read_text().replace("2026.11.22-1", "2026.11.22-2"))
    (copy / "runbook.md").write_text((copy / "runbook.md").read_text() + "\nA new line, so one new file to push.\n")
    return True


if __name__ == "__main__":
    main()
