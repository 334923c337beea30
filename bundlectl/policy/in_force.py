"""The gate policy in force, as typed objects for the gate, status, rollback and `evidence list`.

Built from the stored policy document, which `policy set` writes with every default filled in by
the pydantic models in `policy/model.py`; so defaults are written once, there, and the read path
needs no pydantic (and NamedTuples, cheap to create at import). Freshness per evidence kind lives
here too: which max_age judges which report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from bundlectl.durations import parse_duration
from bundlectl.errors import IntegrityFailure, Refused

if TYPE_CHECKING:
    from bundlectl.registry.index import Index

DEFAULT_MAX_AGE = "7d"  # the model's default for eval, latency and cost evidence
DEFAULT_REHEARSAL_MAX_AGE = "30d"
DEFAULT_PROVENANCE: Literal["any"] = "any"  # eval reports count whether run by bundlectl or attached; "run": only runs count


class SliceGate(NamedTuple):
    min_cases: int
    min_pass_rate: float

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


class EvalGate(NamedTuple):
    min_cases: int
    min_pass_rate: float
    max_age: str
    slices: dict[str, SliceGate]
    provenance: str = DEFAULT_PROVENANCE  # "run": only reports bundlectl ran itself (`bundlectl eval`) count


class RegressionGate(NamedTuple):
    max_drop: float


class LatencyGate(NamedTuple):
    max_p95_ms: float
    max_age: str


class CostGate(NamedTuple):
    max_cost_per_task_usd: float | None
    daily_tasks: int | None
    volume_multiplier: float
    max_daily_usd: float | None
    max_age: str


class RehearsalGate(NamedTuple):
    max_age: str


class ApprovalsGate(NamedTuple):
    min: int
    exclude_author: bool


class Gates(NamedTuple):
    eval: EvalGate | None
    regression: RegressionGate | None
    latency: LatencyGate | None
    cost: CostGate | None
    rehearsal: RehearsalGate | None
    approvals: ApprovalsGate | None


class EnvironmentPolicy(NamedTuple):
    name: str
    after: str | None
    production: bool
    gates: Gates

    def max_age_for(self, kind: str) -> str | None:
        """How old a report of this kind may be here: the max_age of the gate that reads it, if any."""
        gate = {"eval": self.gates.eval, "load": self.gates.latency, "cost": self.gates.cost,
                "rehearsal": self.gates.rehearsal}.get(kind)
        return gate.max_age if gate is not None else None


class GatePolicy(NamedTuple):
    environments: dict[str, EnvironmentPolicy]
    seq: int | None  # the log record that set it

    @classmethod
    def from_document(cls, document: dict[str, Any], seq: int | None) -> GatePolicy:
        try:
            return cls({name: _environment(name, env) for name, env in document["environments"].items()}, seq)
        except (KeyError, TypeError, AttributeError) as exc:
            raise IntegrityFailure(f"the policy in force (event {seq}) cannot be read: {exc!r}",
                                   "run `bundlectl verify`, then store the policy again with `bundlectl policy set`") from None

    def environment(self, env: str) -> EnvironmentPolicy:
        if env not in self.environments:
            raise Refused(f"environment {env!r} is not defined in the gate policy",
                          f"defined: {', '.join(self.environments) or 'none'}; add it with `bundlectl policy set`")
        return self.environments[env]

    def max_age_for(self, kind: str, env: str | None = None) -> str | None:
        """The max_age that judges a report of `kind` in `env`; without an env, the strictest of all."""
        ages = [e.max_age_for(kind) for name, e in self.environments.items() if env in (None, name)]
        known = [a for a in ages if a]
        return min(known, key=parse_duration) if known else None


    def eval_gate_for(self, env: str | None = None) -> EvalGate | None:
        """The eval gate of `env`; without an env, the strictest about provenance (a `run` one if any)."""
        gates = [e.gates.eval for name, e in self.environments.items() if env in (None, name) and e.gates.eval]
        return next((g for g in gates if g.provenance == "run"), gates[0] if gates else None)


def policy_in_force(index: Index) -> GatePolicy | None:
    document, seq = index.policy()
    return GatePolicy.from_document(document, seq) if document is not None else None


def environment_policy(index: Index, env: str) -> EnvironmentPolicy:
    """The policy of `env`; refused when no policy is in force or it does not define `env`."""
    policy = policy_in_force(index)
    if policy is None:
        raise Refused("no gate policy is in force", "store one with `bundlectl policy set FILE`")
    return policy.environment(env)


def _environment(name: str, raw: dict[str, Any]) -> EnvironmentPolicy:
    gates = raw["gates"]

    def gate(key: str, cls: type[Any]) -> Any:
        value = gates.get(key)
        return cls(**value) if value is not None else None

    evals = gates.get("eval")
    eval_gate = None if evals is None else EvalGate(
        evals["min_cases"], evals["min_pass_rate"], evals["max_age"],
        {slice_name: SliceGate(**wanted) for slice_name, wanted in evals["slices"].items()},
        evals.get("provenance", DEFAULT_PROVENANCE))  # policies stored before provenance existed lack it
    return EnvironmentPolicy(name, raw["after"], raw["production"], Gates(
        eval_gate, gate("regression", RegressionGate), gate("latency", LatencyGate), gate("cost", CostGate),
        gate("rehearsal", RehearsalGate), gate("approvals", ApprovalsGate)))
