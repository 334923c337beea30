"""Guard benchmarks (issue 15), each against a baseline measured in the same run.

- the guard over 1,000,000 request records (tally in one streaming pass, then the decision) vs reading the
  same file with `json.loads` per line (target ≤ 2×)
- the runtime's routing and stamping per request during a canary: `current(key=…)` vs a bare dict lookup,
  and `current(key=…)` + `stamp(…, bundle=…)` + `record(…)` with a request log, per request

    python benchmarks/guard.py [--records 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, bundlectl_cmd, report, run  # noqa: E402

DIGEST_LIVE, DIGEST_CANDIDATE = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def write_records(path: Path, count: int, seed: int = 1) -> None:
    """Outcome records as Runtime.record writes them: a 10% canary, a stamp's fields and six metrics each."""
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        for i in range(count):
            candidate = rng.random() < 0.1
            record = {
                "time": "2026-11-23T10:00:00.000000Z",
                "request.id": f"req-{i:012x}",
                "bundle.name": "support-triage",
                "bundle.version": "2026.11.22-1" if candidate else "2026.11.01-1",
                "bundle.digest": DIGEST_CANDIDATE if candidate else DIGEST_LIVE,
                "bundle.env": "production",
                "bundle.pointer_version": 7,
                "bundle.arm": "candidate" if candidate else "live",
                "bundle.canary": 42,
                "outcome": {
                    "ok": rng.random() < 0.99,
                    "escalated": rng.random() < 0.08,
                    "schema_valid": rng.random() < 0.97,
                    "latency_ms": round(rng.lognormvariate(6.55, 0.45), 1),
                    "cost_usd": round(0.0015 + rng.random() * 0.001, 6),
                    "correct_route_rate": int(rng.random() < 0.93),
                },
            }
            out.write(json.dumps(record) + "\n")


def json_loads_per_line(path: Path) -> int:
    n = 0
    with open(path, "rb") as handle:
        for line in handle:
            json.loads(line)
            n += 1
    return n


def guard_over(path: Path) -> str:
    from datetime import timedelta

    from bundlectl.guard.decision import Settings, Step, judge_canary, metrics_judged
    from bundlectl.guard.request_log import tally_request_logs

    tally = tally_request_logs([path], "support-triage", "production", canary=42)
    metrics = metrics_judged({"metric": "correct_route_rate", "target": 0.92, "tolerance": 0.02})
    return judge_canary(tally, metrics, Step(10, None, timedelta(hours=2), timedelta(hours=1)), Settings()).decision


def best_of(action, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def runtime_during_canary(work: Path) -> dict[str, dict[str, float]]:
    """A git registry with V1 live and V2 a 10% canary; a runtime following it, writing a request log."""
    from bundlectl.runtime import Runtime

    cli, env = bundlectl_cmd(), {**os.environ, "BUNDLECTL_ACTOR": "bench@example.com"}
    registry = str(work / "registry.git")
    shutil.copytree(ROOT / "bundles", work / "bundles")
    (work / "policy.yaml").write_text("apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {}\n")
    for args in (
        ["init"],
        ["policy", "set", "policy.yaml"],
        ["register", "bundles/support-triage-v1"],
        ["register", "bundles/support-triage-v2"],
        ["promote", "support-triage@2026.11.01-1", "--env", "staging"],
        ["promote", "support-triage@2026.11.22-1", "--env", "staging", "--canary", "10"],
    ):
        run([*cli, *args, "--registry", registry], work, env)
    runtime = Runtime("support-triage", "staging", registry, poll_interval=60, request_log=work / "requests.jsonl")
    try:
        keys = [f"user-{i}" for i in range(1000)]
        assert sum(runtime.current(key=k).arm == "candidate" for k in keys) > 0
        table = {"support-triage/staging": {"digest": "sha256:…"}}
        number = 100_000
        bare = min(timeit.repeat(lambda: table["support-triage/staging"], number=number, repeat=5)) / number
        bundle = runtime.current(key="user-4711")
        costs = {
            "current(key=) during a canary": lambda: runtime.current(key="user-4711"),
            "stamp(id, bundle=) with a request log": lambda: runtime.stamp("req-4711", bundle=bundle),
            "record(id, bundle=, 6 metrics) with a request log": lambda: runtime.record(
                "req-4711", bundle=bundle, ok=True, escalated=False, schema_valid=True, latency_ms=812.5, cost_usd=0.0021, correct_route_rate=1
            ),
        }
        results = {}
        for label, call in costs.items():
            each = min(timeit.repeat(call, number=20_000, repeat=5)) / 20_000
            results[f"{label} / dict lookup"] = {"baseline_s": bare, "measured_s": each, "ratio": each / bare}
    finally:
        runtime.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bundlectl-bench-guard-") as folder:
        work = Path(folder)
        log = work / "outcomes.jsonl"
        write_records(log, args.records)
        assert json_loads_per_line(log) == args.records and guard_over(log) in ("hold", "complete", "advance", "rollback")
        baseline, guard = best_of(lambda: json_loads_per_line(log), args.rounds), best_of(lambda: guard_over(log), args.rounds)
        size = log.stat().st_size / 1e6
        results[f"guard over {args.records:,} records ({size:.0f} MB) / json.loads per line"] = {
            "baseline_s": baseline,
            "measured_s": guard,
            "ratio": guard / baseline,
            "target": 2.0,
        }
        (work / "runtime").mkdir()
        results.update(runtime_during_canary(work / "runtime"))
    report(results)


if __name__ == "__main__":
    main()
