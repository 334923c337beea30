"""Promotion benchmarks on the git backend (issue 3), each a ratio against a baseline in the same run.

- promote latency (CLI, end to end) vs a bare interpreter start
- `status --json` and `history --json` on a registry with 10,000 events vs one with 100 (target ≤ 2×)

The large log is built with `git fast-import` from real, hash-chained event payloads, so reads see
exactly what thousands of promotions would have left behind.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bundlectl_cmd, median_interleaved, report, run  # noqa: E402
from synthetic import V1, V2, small_and_big  # noqa: E402


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-promote-"))
    results: dict[str, dict[str, float]] = {}
    try:
        cli = bundlectl_cmd()
        small_dir, small, big_dir, big = small_and_big(work, 10_000)
        for command in (["status", "--json"], ["history", "support-triage", "--env", "staging", "--json"]):
            base, measured = median_interleaved(
                lambda command=command: run([*cli, *command], small_dir, small), lambda command=command: run([*cli, *command], big_dir, big), 15
            )
            results[f"{command[0]} --json: 10,000 events / 100 events"] = {
                "baseline_s": base,
                "measured_s": measured,
                "ratio": measured / base,
                "target": 2.0,
            }
        targets = [V1, V2]
        flips = iter(range(1000))

        def promote_once() -> None:
            run([*cli, "promote", targets[next(flips) % 2], "--env", "staging"], small_dir, small)

        bare, promote = median_interleaved(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), promote_once, 11)
        results["promote (git backend, CLI end to end) / python -c pass"] = {"baseline_s": bare, "measured_s": promote, "ratio": promote / bare}
        run([*cli, "verify"], small_dir, small)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
