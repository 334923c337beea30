"""Timing helpers shared by the benchmark scripts: medians of interleaved runs, so noise hits both sides."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bundlectl_cmd() -> list[str]:
    script = Path(sys.executable).parent / "bundlectl"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bundlectl"]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_interleaved(a: Callable[[], object], b: Callable[[], object], rounds: int) -> tuple[float, float]:
    ta, tb = [], []
    for _ in range(rounds):
        ta.append(timed(a))
        tb.append(timed(b))
    return statistics.median(ta), statistics.median(tb)


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3f} {unit}"
    return f"{value / 1e-9:.1f} ns"


def report(results: dict[str, dict[str, float]]) -> None:
    import json

    width = max(len(k) for k in results)
    print(f"{'measurement'.ljust(width)}  {'baseline':>11}  {'measured':>11}  {'ratio':>8}  target")
    for key, r in results.items():
        target, floor = r.get("target"), r.get("at_least")
        if target is not None:
            goal = f"≤ {target} {'ok' if r['ratio'] <= target else 'MISSED'}"
        elif floor is not None:
            goal = f"≥ {floor} {'ok' if r['ratio'] >= floor else 'MISSED'}"
        else:
            goal = "(reference)"
        print(f"{key.ljust(width)}  {seconds(r['baseline_s']):>11}  {seconds(r['measured_s']):>11}  {r['ratio']:>8.3f}  {goal}")
    print(json.dumps(results), file=sys.stderr)
