"""The guard's error rates and its speed to a verdict, simulated: before (main's rule) and after (issue 23).

Over RUNS canaries at 50% (steps 50, 75, 100; `--step-time 0m`), each looked at LOOKS times, every LOOK requests
(24 × 500: 6,000 per arm), judged by the real `judge_canary` on tallies built as the sources build them:
- identical candidate: the share of runs with any rollback in the 24 looks (false rollback; ≤ alpha = 0.05);
- candidate worse by the margin (escalations 8% → 10%, the default 2-point margin): the share of runs that
  advance before any rollback (false advance; ≤ beta = 0.10 after);
- escalations 8% → 14%: the share rolled back, advanced, and the requests at the rollback (median, both arms);
- failures never recorded (ok 94% vs 99%, a failed request stamped but not recorded): rolled back by 6,000 requests.
"Before" is main's rule as it stands in the same `judge_canary`: a source without stamps or per-request latencies
(no served-share or tail test, the same alpha split as main), and a step advances as soon as it finds no
regression past the minimum sample (`max_sample = min_sample`, main's "no regression yet"). "After": request-log
tallies (stamps and latencies), default margins, beta 0.10, max_sample 20,000.

    python benchmarks/guard_simulation.py [--runs 500]     # numpy when installed; else the random module (slower)
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bundlectl.guard.decision import Settings, Step, judge_canary, metrics_judged  # noqa: E402
from bundlectl.guard.moments import Arm, Moments, Tally  # noqa: E402

OUTCOME = {"metric": "correct_route_rate", "target": 0.92, "tolerance": 0.02}
METRICS = metrics_judged(OUTCOME)
STEP = Step(50, 75, timedelta(0), timedelta(0), steps_judged=2)
RATES = {"ok": 0.99, "escalated": 0.08, "schema_valid": 0.97, "correct_route_rate": 0.93}


@dataclass(frozen=True)
class Arms:
    candidate: dict[str, float]
    live: dict[str, float]
    failures_unrecorded: bool = False


def draws(rng: Any, numpy: Any) -> Any:
    """Per-request draws: uniforms and log-normal latencies, from numpy when present."""
    if numpy is not None:
        return lambda n: (rng.random(n), rng.lognormal(6.55, 0.45, n))
    return lambda n: ([rng.random() for _ in range(n)], [rng.lognormvariate(6.55, 0.45) for _ in range(n)])


class Run:
    """One canary step's running tallies, as the request-log source would read them."""

    def __init__(self, arms: Arms, with_logs: bool) -> None:
        self.arms, self.with_logs = arms, with_logs
        self.sums: dict[str, dict[str, list[float]]] = {"live": {}, "candidate": {}}
        self.requests = {"live": 0, "candidate": 0}
        self.served = {"live": 0, "candidate": 0}
        self.latencies: dict[str, list[float]] = {"live": [], "candidate": []}

    def add(self, arm: str, n: int, uniform: Any) -> None:
        rates = {**RATES, **(self.arms.candidate if arm == "candidate" else self.arms.live)}
        self.served[arm] += n
        u, latency = uniform(n)
        u2, _ = uniform(n)
        columns = {
            "ok": [x < rates["ok"] for x in u],
            "latency_ms": [round(float(v), 1) for v in latency],
            "cost_usd": [0.0015 + float(x) * 0.001 for x in u2],
        }
        for name in ("escalated", "schema_valid", "correct_route_rate"):
            columns[name] = [x < rates[name] for x in uniform(n)[0]]
        if self.arms.failures_unrecorded:  # a failed request is stamped (served) but has no outcome
            kept = [i for i, ok in enumerate(columns["ok"]) if ok]
            columns = {name: [column[i] for i in kept] for name, column in columns.items()}
        self.requests[arm] += len(columns["ok"])
        for name, column in columns.items():
            values = list(map(float, column))
            acc = self.sums[arm].setdefault(name, [0, 0.0, 0.0])
            acc[0] += len(values)
            acc[1] = math.fsum([acc[1], *values])
            acc[2] = math.fsum([acc[2], *(v * v for v in values)])
            if name == "latency_ms":
                self.latencies[arm].extend(values)

    def add_arrays(self, arm: str, n: int, rng: Any, numpy: Any) -> None:
        """`add`, vectorised: the same draws as arrays (sums in numpy's pairwise float, not exact; noise is not at stake)."""
        rates = {**RATES, **(self.arms.candidate if arm == "candidate" else self.arms.live)}
        self.served[arm] += n
        columns = {
            "ok": rng.random(n) < rates["ok"],
            "latency_ms": numpy.round(rng.lognormal(6.55, 0.45, n), 1),
            "cost_usd": 0.0015 + rng.random(n) * 0.001,
        }
        for name in ("escalated", "schema_valid", "correct_route_rate"):
            columns[name] = rng.random(n) < rates[name]
        if self.arms.failures_unrecorded:
            kept = columns["ok"]
            columns = {name: column[kept] for name, column in columns.items()}
        self.requests[arm] += int(columns["ok"].size)
        for name, column in columns.items():
            values = column.astype(float)
            acc = self.sums[arm].setdefault(name, [0, 0.0, 0.0])
            acc[0] += int(values.size)
            acc[1] += float(values.sum())
            acc[2] += float((values * values).sum())
            if name == "latency_ms":
                self.latencies[arm].extend(values.tolist())

    def tally(self) -> Tally:
        arms = {}
        for arm in ("live", "candidate"):
            moments = {name: Moments(int(a[0]), a[1], a[2]) for name, a in self.sums[arm].items()}
            arms[arm] = Arm(self.requests[arm], moments, self.served[arm] if self.with_logs else None)
        return Tally(arms, latencies=self.latencies if self.with_logs else None)


def simulate(arms: Arms, after: bool, runs: int, looks: int, look: int, seed: int, numpy: Any, stop_on_advance: bool) -> dict[str, Any]:
    settings = Settings(alpha=0.05, min_sample=1000) if after else Settings(alpha=0.05, min_sample=1000, max_sample=1000)
    rng = numpy.random.default_rng(seed) if numpy is not None else random.Random(seed)
    uniform = draws(rng, numpy)
    rolled, advanced, at = 0, 0, []
    for _ in range(runs):
        run = Run(arms, with_logs=after)
        decided = None
        for index in range(1, looks + 1):
            if numpy is not None:
                to_candidate = int(rng.binomial(look, 0.5))
                run.add_arrays("candidate", to_candidate, rng, numpy)
                run.add_arrays("live", look - to_candidate, rng, numpy)
            else:
                to_candidate = sum(1 for x in uniform(look)[0] if x < 0.5)
                run.add("candidate", to_candidate, uniform)
                run.add("live", look - to_candidate, uniform)
            decision = judge_canary(run.tally(), METRICS, STEP, settings).decision
            if decision == "rollback":
                decided = ("rollback", index * look)
                break
            if decision in ("advance", "complete") and stop_on_advance:
                decided = ("advance", index * look)
                break
            if decision in ("advance", "complete") and decided is None:
                decided = ("advance", index * look)  # counted, and the looks go on (A/A: any rollback in 24 looks)
        if decided is not None and decided[0] == "rollback":
            rolled += 1
            at.append(decided[1])
        elif decided is not None:
            advanced += 1
    return {
        "rollback": rolled / runs,
        "advance": advanced / runs,
        "median_requests": statistics.median(at) if at else None,
        "mean_requests": round(statistics.mean(at)) if at else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--looks", type=int, default=24)
    parser.add_argument("--look", type=int, default=500)
    options = parser.parse_args()
    try:
        import numpy
    except ImportError:
        numpy = None
    scenarios = [
        ("identical candidate: false rollback (≤ alpha 0.05)", Arms({}, {}), False, "rollback"),
        ("escalations 8% → 10% (worse by the margin): false advance (after: ≤ beta 0.10)", Arms({"escalated": 0.10}, {}), True, "advance"),
        ("escalations 8% → 14%: rolled back / advanced first", Arms({"escalated": 0.14}, {}), True, "both"),
        ("failures unrecorded, ok 94% vs 99%: rolled back by 6,000 requests", Arms({"ok": 0.94}, {"ok": 0.99}, True), True, "both"),
    ]
    print(f"{options.runs} runs × {options.looks} looks every {options.look} requests, canary at 50%, {'numpy' if numpy else 'random'} draws")
    for number, (label, arms, stop, show) in enumerate(scenarios):
        started = time.perf_counter()
        figures = [simulate(arms, after, options.runs, options.looks, options.look, 23 + number, numpy, stop) for after in (False, True)]
        before, after = figures
        if show == "rollback":
            said = f"before {before['rollback']:.3f}, after {after['rollback']:.3f}"
        elif show == "advance":
            said = f"before {before['advance']:.3f}, after {after['advance']:.3f} (rolled back: {before['rollback']:.3f} → {after['rollback']:.3f})"
        else:
            said = "; ".join(
                f"{name} rolled back {f['rollback']:.3f}, advanced {f['advance']:.3f}, mean {f['mean_requests']} and median requests "
                f"to the rollback {f['median_requests']}"
                for name, f in (("before", before), ("after", after))
            )
        print(f"- {label}: {said}  [{time.perf_counter() - started:.0f} s]")


if __name__ == "__main__":
    main()
