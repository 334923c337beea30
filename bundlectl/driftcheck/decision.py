"""Stable or drift: the paired tests at the policy's alpha, and the owner's metric against its target and tolerance."""

from __future__ import annotations

from typing import Any, NamedTuple

from bundlectl.driftcheck.compare import Comparison
from bundlectl.guard.decision import Target
from bundlectl.policy.in_force import DriftPolicy, environment_policy
from bundlectl.registry.index import Index

DEFAULT_ALPHA = 0.01
DEFAULT_DRIFT = DriftPolicy("7d", DEFAULT_ALPHA, "notify")  # an environment whose policy names no drift schedule


def drift_policy(index: Index, env: str) -> DriftPolicy:
    """The drift policy of ENV in force in `index`: the writer applies it, and readers judge its records by it."""
    return environment_policy(index, env).drift or DEFAULT_DRIFT


def within_tolerance(outcome: dict[str, Any], value: float) -> bool:
    """Whether `value` of the owner's metric is on the good side of target ∓ tolerance."""
    target = Target.from_outcome(outcome)
    return value >= target.threshold if target.metric.better == "higher" else value <= target.threshold


class MetricCheck(NamedTuple):
    metric: str
    value: float | None  # None: the run does not measure it
    target: float
    tolerance: float
    better: str
    within: bool | None  # None: not measured

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


class Decision(NamedTuple):
    decision: str  # "stable" or "drift"
    alpha: float
    tests: int  # the paired tests made (overall and each slice); each is held to alpha / tests
    reasons: list[str]
    metric: MetricCheck | None

    @property
    def drifted(self) -> bool:
        return self.decision == "drift"

    def action(self, policy: DriftPolicy) -> str:
        """What a drift record says was done: the policy's action on drift, nothing when stable."""
        return policy.action if self.drifted else "none"

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "alpha": self.alpha,
            "tests": self.tests,
            "reasons": self.reasons,
            "metric": self.metric.to_json() if self.metric else None,
        }


def metric_check(outcome: dict[str, Any] | None, figures: dict[str, Any]) -> MetricCheck | None:
    if not outcome:
        return None
    target = Target.from_outcome(outcome)
    value = figures.get(target.metric.name)
    measured = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return MetricCheck(
        target.metric.name,
        measured,
        target.target,
        target.tolerance,
        target.metric.better,
        None if measured is None else within_tolerance(outcome, measured),
    )


def decide(comparison: Comparison, alpha: float, metric: MetricCheck | None) -> Decision:
    """Drift when any paired test rejects "no change" at alpha shared among the tests (Bonferroni: false alarms
    stay at most alpha however many slices the suite has), or the owner's metric is outside tolerance."""
    tests = [comparison.overall, *comparison.slices] if len(comparison.slices) > 1 else [comparison.overall]
    reasons = [
        f"{'cases' if t.slice == 'overall' else 'slice ' + t.slice}: {t.broke} broke and {t.fixed} were fixed "
        f"of {t.cases} (McNemar exact p = {t.p_value:.3g} < {alpha}/{len(tests)})"
        for t in tests
        if t.p_value < alpha / len(tests)
    ]
    if metric is not None and metric.within is False:
        side = "below" if metric.better == "higher" else "above"
        reasons.append(f"{metric.metric} = {metric.value:g} is {side} the owner's target {metric.target:g} ± {metric.tolerance:g}")
    return Decision("drift" if reasons else "stable", alpha, len(tests), reasons, metric)
