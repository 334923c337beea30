"""Synthetic but realistic request outcomes for the guard's tests: per-arm rates and a latency distribution.

`Traffic` draws one request's outcome the way a support bot's look: 99% ok, 8% escalated, 97% valid output,
log-normal latency around 700 ms (p95 ≈ 1.5 s), a cost per request, and the owner's correct-route rate.
An arm's `Traffic` can carry a regression (more escalations, slower) to inject into a candidate.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from bundlectl.guard.moments import Arm, Moments, Tally


@dataclass(frozen=True)
class Traffic:
    escalated: float = 0.08
    latency_factor: float = 1.0
    correct_route: float = 0.93
    ok: float = 0.99
    schema_valid: float = 0.97
    cost: float | None = None  # a fixed price per call, the same for every request; None: 0.0015 to 0.0025

    def outcome(self, rng: random.Random) -> dict[str, Any]:
        return {
            "ok": rng.random() < self.ok,
            "escalated": rng.random() < self.escalated,
            "schema_valid": rng.random() < self.schema_valid,
            "latency_ms": round(rng.lognormvariate(6.55, 0.45) * self.latency_factor, 1),
            "cost_usd": round(0.0015 + rng.random() * 0.001, 6) if self.cost is None else self.cost,
            "correct_route_rate": int(rng.random() < self.correct_route),
        }


OUTCOME = {"metric": "correct_route_rate", "target": 0.92, "tolerance": 0.02}


class Accumulator:
    """Sufficient statistics per arm, as the request-log source would tally them, built request by request."""

    def __init__(self) -> None:
        self.arms: dict[str, list[Any]] = {}

    def add(self, arm: str, outcome: dict[str, Any]) -> None:
        requests, metrics = self.arms.setdefault(arm, [0, {}])
        self.arms[arm][0] = requests + 1
        for name, value in outcome.items():
            acc = metrics.setdefault(name, [0, 0.0, 0.0])
            acc[0] += 1
            acc[1] += float(value)
            acc[2] += float(value) ** 2

    def tally(self) -> Tally:
        return Tally({arm: Arm(n, {m: Moments(int(a[0]), a[1], a[2]) for m, a in metrics.items()}) for arm, (n, metrics) in self.arms.items()})


def serve(
    runtime: Any,
    requests: int,
    rng: random.Random,
    candidate: Traffic,
    live: Traffic = Traffic(),
    lose_candidate: float = 0.0,
    failures_unrecorded: bool = False,
) -> dict[str, int]:
    """Requests through the real runtime: routed by request id, stamped, and their outcomes recorded.

    `lose_candidate`: the share of the candidate's requests whose outcome never gets recorded (a broken arm).
    `failures_unrecorded`: a request that is not ok is stamped but never recorded (the handler threw first).
    """
    served = {"live": 0, "candidate": 0}
    for _ in range(requests):
        request_id = f"req-{rng.getrandbits(64):016x}"
        bundle = runtime.current(key=request_id)
        runtime.stamp(request_id, bundle=bundle)
        served[bundle.arm] += 1
        if bundle.arm == "candidate" and rng.random() < lose_candidate:
            continue
        outcome = (candidate if bundle.arm == "candidate" else live).outcome(rng)
        if failures_unrecorded and not outcome["ok"]:
            continue
        runtime.record(request_id, bundle=bundle, **outcome)
    return served
