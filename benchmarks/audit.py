"""Audit and runtime benchmarks (issue 6), each a ratio against a baseline in the same run.

- `audit --at` on a registry with 100,000 events vs one with 100 (target ≤ 2×)
- `audit --request-id` over a 1,000,000-line request log vs `grep -F ID` on the same file (target ≤ 3×)
- runtime `current()` and `stamp()` per request vs a bare dictionary lookup
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bundlectl_cmd, median_interleaved, report, run  # noqa: E402
from synthetic import small_and_big  # noqa: E402


def history_times(cli: list[str], folder: Path, env: dict[str, str]) -> list[str]:
    out = subprocess.run(
        [*cli, "history", "support-triage", "--env", "staging", "--limit", "0", "--json"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [e["time"] for e in json.loads(out)["events"]]


def write_request_log(path: Path, lines: int, stamp: dict[str, object], target_id: str) -> None:
    """A realistic request log: every line a stamp, the one we look for near the end."""
    with open(path, "w") as handle:
        chunk = []
        for i in range(lines):
            request_id = target_id if i == lines - 17 else f"req-{i:012d}"
            chunk.append(json.dumps({"time": stamp["time"], "request.id": request_id, **{k: v for k, v in stamp.items() if k != "time"}}))
            if len(chunk) == 10_000:
                handle.write("\n".join(chunk) + "\n")
                chunk = []
        if chunk:
            handle.write("\n".join(chunk) + "\n")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-audit-"))
    results: dict[str, dict[str, float]] = {}
    try:
        cli = bundlectl_cmd()
        small_dir, small, big_dir, big = small_and_big(work, 100_000)
        small_times, big_times = history_times(cli, small_dir, small), history_times(cli, big_dir, big)
        rng = random.Random(7)

        def audit_at(folder: Path, env: dict[str, str], moments: list[str]) -> None:
            run([*cli, "audit", "support-triage", "--at", rng.choice(moments), "--env", "staging", "--json"], folder, env)

        base, measured = median_interleaved(lambda: audit_at(small_dir, small, small_times), lambda: audit_at(big_dir, big, big_times), 15)
        results["audit --at: 100,000 events / 100 events"] = {"baseline_s": base, "measured_s": measured, "ratio": measured / base, "target": 2.0}

        # a request stamped by the bundle live in the small registry, in a 1,000,000-line log
        live = json.loads(subprocess.run([*cli, "status", "--json"], cwd=small_dir, env=small, capture_output=True, text=True, check=True).stdout)[
            "environments"
        ]
        staging = next(e for e in live if e["env"] == "staging")
        stamp = {
            "time": small_times[0],
            "bundle.name": "support-triage",
            "bundle.version": staging["version"],
            "bundle.digest": staging["digest"],
            "bundle.env": "staging",
            "bundle.pointer_version": staging["pointer_version"],
        }
        log = work / "requests.jsonl"
        write_request_log(log, 1_000_000, stamp, "req-needle-7f3a9c")
        subprocess.run(["grep", "-F", "req-needle-7f3a9c", str(log)], check=True, stdout=subprocess.DEVNULL)  # warm cache
        grep, ours = median_interleaved(
            lambda: subprocess.run(["grep", "-F", "req-needle-7f3a9c", str(log)], check=True, stdout=subprocess.DEVNULL),
            lambda: run([*cli, "audit", "--request-id", "req-needle-7f3a9c", "--log", str(log), "--json"], small_dir, small),
            7,
        )
        size = log.stat().st_size / 2**20
        results[f"audit --request-id, 1,000,000 lines ({size:.0f} MiB) / grep -F"] = {
            "baseline_s": grep,
            "measured_s": ours,
            "ratio": ours / grep,
            "target": 3.0,
        }

        # the runtime's hot path, in process
        os.environ.update({k: small[k] for k in ("BUNDLECTL_REGISTRY", "BUNDLECTL_CACHE_DIR")})
        from bundlectl.runtime import Runtime

        runtime = Runtime("support-triage", "staging", cwd=small_dir, poll_interval=3600, request_log=work / "stamps.jsonl")
        table = {"support-triage/staging": {"digest": staging["digest"]}}
        number = 200_000
        bare = min(timeit.repeat(lambda: table["support-triage/staging"], number=number, repeat=5)) / number
        current = min(timeit.repeat(runtime.current, number=number, repeat=5)) / number
        stamp_cost = min(timeit.repeat(lambda: runtime.stamp("req-1"), number=number // 10, repeat=5)) / (number // 10)
        from opentelemetry.sdk.trace import TracerProvider

        tracer = TracerProvider().get_tracer("bench")
        with tracer.start_as_current_span("request"):
            span_stamp = min(timeit.repeat(lambda: runtime.stamp("req-1"), number=number // 10, repeat=5)) / (number // 10)
        runtime.close()
        results["runtime current() / dict lookup"] = {"baseline_s": bare, "measured_s": current, "ratio": current / bare}
        results["runtime stamp() with request log / dict lookup"] = {"baseline_s": bare, "measured_s": stamp_cost, "ratio": stamp_cost / bare}
        results["runtime stamp() with log + recording OTel span / dict lookup"] = {
            "baseline_s": bare,
            "measured_s": span_stamp,
            "ratio": span_stamp / bare,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
