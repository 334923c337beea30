"""Runtime benchmarks (issue 14), each against a baseline or target measured in the same run.

- `current()` vs a bare dict lookup (target ≤ 5×)
- the worst `current()` over 10,000 calls while the S3 registry hangs behind a black-hole proxy (target < 1 ms)
- the time from `promote` / `pause` / `resume` returning to a running runtime seeing it, on git and on S3
  (moto), with poll_interval 1 s (target ≤ poll interval + 1 s)

    python benchmarks/runtime.py
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, bundlectl_cmd, report, run  # noqa: E402
from s3 import V1, V2, moto_workspace  # noqa: E402

POLL = 1.0
CALLS = 10_000


def prepare(work: Path, registry: str, env: dict[str, str]) -> None:
    """Both example bundles registered, and a policy whose staging gate asks for nothing (promotion is what is timed)."""
    cli = bundlectl_cmd()
    shutil.copytree(ROOT / "bundles", work / "bundles", dirs_exist_ok=True)
    (work / "policy.yaml").write_text("apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {}\n")
    for args in (["init"], ["policy", "set", "policy.yaml"], ["register", "bundles/support-triage-v1"], ["register", "bundles/support-triage-v2"]):
        run([*cli, *args, "--registry", registry], work, env)


def hot_path(runtime: Any) -> dict[str, float]:
    table = {"support-triage/staging": {"digest": "sha256:…"}}
    number = 200_000
    bare = min(timeit.repeat(lambda: table["support-triage/staging"], number=number, repeat=5)) / number
    current = min(timeit.repeat(runtime.current, number=number, repeat=5)) / number
    return {"baseline_s": bare, "measured_s": current, "ratio": current / bare, "target": 5.0}


def latencies(runtime: Any, calls: int) -> list[float]:
    """`calls` calls of current(), spread over a few seconds (as requests are), each timed on its own."""
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        runtime.current()
        times.append(time.perf_counter() - started)
        time.sleep(0.0002)
    return times


def seen_after(act: Callable[[], Any], seen: Callable[[], bool]) -> float:
    """Seconds from `act` returning until the runtime shows its effect."""
    act()
    acted = time.monotonic()
    while not seen():
        if time.monotonic() - acted > 10 * POLL:
            raise RuntimeError("the runtime never saw it")
        time.sleep(0.002)
    return time.monotonic() - acted


def propagation(label: str, runtime: Any, results: dict[str, dict[str, float]], rounds: int = 5) -> None:
    from bundlectl import api
    from bundlectl.runtime import Paused

    def version() -> str | None:
        try:
            return runtime.current().version
        except Paused:
            return None

    def paused() -> bool:
        return version() is None

    promotions, pauses, resumes = [], [], []
    for i in range(rounds):
        target = (V2, V1)[i % 2]
        promotions.append(seen_after(lambda target=target: api.promote(target, "staging"), lambda target=target: version() == target.split("@")[1]))
        pauses.append(seen_after(lambda: api.pause("support-triage", "staging", act=api.Act(reason="benchmark")), paused))
        resumes.append(seen_after(lambda: api.resume("support-triage", "staging"), lambda: not paused()))
        time.sleep(0.37 * POLL)  # start the next round at another phase of the poll
    bound = POLL + 1.0
    for what, times in (("promote", promotions), ("pause", pauses), ("resume", resumes)):
        results[f"{label}: {what} → runtime sees it (worst of {rounds}) / (poll {POLL:g} s + 1 s)"] = {
            "baseline_s": bound,
            "measured_s": max(times),
            "ratio": max(times) / bound,
            "target": 1.0,
        }
        results[f"{label}: {what} → runtime sees it (median of {rounds}), reference"] = {
            "baseline_s": bound,
            "measured_s": statistics.median(times),
            "ratio": statistics.median(times) / bound,
        }


def main() -> None:
    from bundlectl.runtime import Runtime
    from tests.runtime.blackhole import BlackHoleProxy

    server, endpoint, work, env = moto_workspace("bundlectl-bench-runtime-")
    os.environ["BUNDLECTL_ACTOR"] = env["BUNDLECTL_ACTOR"]
    results: dict[str, dict[str, float]] = {}
    proxy = BlackHoleProxy(endpoint)
    opened: list[Any] = []
    try:
        import boto3

        boto3.client("s3").create_bucket(Bucket="bench")
        s3_registry, git_registry = "s3://bench/registry", str(work / "registry.git")
        for folder, registry in ((work / "s3", s3_registry), (work / "git", git_registry)):
            folder.mkdir()
            prepare(folder, registry, env)
            os.environ["BUNDLECTL_REGISTRY"] = registry
            os.chdir(folder)
            from bundlectl import api

            api.promote(V1, "staging")

        # 1. the hot path
        os.environ["BUNDLECTL_REGISTRY"] = git_registry
        os.chdir(work / "git")
        git_runtime = Runtime("support-triage", "staging", poll_interval=POLL)
        opened.append(git_runtime)
        results["current() / dict lookup"] = hot_path(git_runtime)

        # 2. the worst call while the registry hangs, against the same calls while it answers
        hanging = Runtime("support-triage", "staging", s3_registry, endpoint_url=proxy.url, poll_interval=0.05, timeout=0.5)
        opened.append(hanging)
        healthy = latencies(hanging, CALLS)
        proxy.black_hole()
        during = latencies(hanging, CALLS)
        assert proxy.swallowed > 0, "the runtime never tried the hanging registry"
        problem = hanging.problem or ""
        proxy.forward()
        results[f"worst current() of {CALLS:,} while S3 hangs / 1 ms"] = {
            "baseline_s": 0.001,
            "measured_s": max(during),
            "ratio": max(during) / 0.001,
            "target": 1.0,
        }
        results[f"worst current() of {CALLS:,} while S3 answers, reference"] = {
            "baseline_s": 0.001,
            "measured_s": max(healthy),
            "ratio": max(healthy) / 0.001,
        }
        p99 = sorted(during)[int(0.99 * len(during))]
        results[f"p99 current() of {CALLS:,} while S3 hangs, reference"] = {"baseline_s": 0.001, "measured_s": p99, "ratio": p99 / 0.001}
        print(f"runtime.problem during the outage: {problem}", file=sys.stderr)

        # 3. promote / pause / resume to the runtime seeing it
        propagation("git", git_runtime, results)
        os.environ["BUNDLECTL_REGISTRY"] = s3_registry
        os.chdir(work / "s3")
        s3_runtime = Runtime("support-triage", "staging", poll_interval=POLL)
        opened.append(s3_runtime)
        propagation("S3", s3_runtime, results)
    finally:
        for runtime in opened:
            runtime.close()
        proxy.close()
        server.stop()
        os.chdir(Path(__file__).resolve().parent)
        shutil.rmtree(work, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
