"""The gate policy in force, as typed objects for the gate, status, rollback and `evidence list`.

Built from the stored policy document, which `policy set` writes with every default filled in by
the pydantic models in `policy/model.py`; so defaults are written once, there, and the read path
needs no pydantic (and NamedTuples, cheap to create at import). Freshness per evidence kind lives
here too: which max_age judges which report.
"""

from __future__ import annotations

import functools
import json
import math
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from bundlectl.errors import MalformedRecord, Refused
from bundlectl.foundation.durations import parse_duration
from bundlectl.foundation.names import closest, is_env

if TYPE_CHECKING:
    from bundlectl.registry.index import Index

Row = TypeVar("Row")
DEFAULT_MAX_AGE = "7d"  # the model's default for eval, latency and cost evidence
DEFAULT_REHEARSAL_MAX_AGE = "30d"
DEFAULT_PROVENANCE: Literal["any"] = "any"  # eval reports count whether run by bundlectl or attached; "run": only runs count
# eval gate fields added after policies were first stored: policies logged before them lack them and mean these
EVAL_ADDED_LATER: dict[str, Any] = {"provenance": DEFAULT_PROVENANCE, "signed_by": None, "tools": None}
# environment fields added later (rollback rules; drift and review schedules): absent from older policies, meaning
# a component rollback waives nothing and nothing is scheduled
ENVIRONMENT_ADDED_LATER: dict[str, Any] = {"rollback": {"waive": []}, "drift": None, "review": None}


class SliceGate(NamedTuple):
    min_cases: int
    min_pass_rate: float

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


class ToolPin(NamedTuple):
    """An executable (by sha256), and optionally the version it states, that may run the reports a gate reads."""

    executable_sha256: str
    tool_version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


class EvalGate(NamedTuple):
    min_cases: int
    min_pass_rate: float
    max_age: str
    slices: dict[str, SliceGate]
    provenance: str = DEFAULT_PROVENANCE  # "run": only runs of the declared harness by `bundlectl eval` count
    signed_by: str | None = None  # "runners": only reports signed by a runner key of the trust in force count
    tools: tuple[ToolPin, ...] | None = None  # only reports `bundlectl eval` ran with one of these executables count


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


WAIVABLE = ("after", "regression", "rehearsal", "approvals")  # what a policy's rollback rules may waive


class DriftPolicy(NamedTuple):
    every: str
    alpha: float
    action: str  # notify | pause | rollback


class ReviewPolicy(NamedTuple):
    every: str


class EnvironmentPolicy(NamedTuple):
    name: str
    after: str | None
    production: bool
    gates: Gates
    rollback_waives: frozenset[str] = frozenset()  # checks a component rollback skips here (policy `rollback.waive`)
    drift: DriftPolicy | None = None  # issue 29; policies stored before it lack both
    review: ReviewPolicy | None = None

    def max_age_for(self, kind: str) -> str | None:
        """How old a report of this kind may be here: the max_age of the gate that reads it, if any."""
        gate = {"eval": self.gates.eval, "load": self.gates.latency, "cost": self.gates.cost, "rehearsal": self.gates.rehearsal}.get(kind)
        return gate.max_age if gate is not None else None


class GatePolicy(NamedTuple):
    environments: dict[str, EnvironmentPolicy]
    seq: int | None  # the log record that set it

    @classmethod
    def from_document(cls, document: dict[str, Any], seq: int | None) -> GatePolicy:
        try:
            return cls({name: _environment(name, env) for name, env in document["environments"].items()}, seq)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise MalformedRecord(
                f"the policy in force (event {seq}) cannot be read: {exc!r}",
                "run `bundlectl verify`, then store the policy again with `bundlectl policy set`",
            ) from None

    def environment(self, env: str) -> EnvironmentPolicy:
        if env not in self.environments:
            guess = closest(env, list(self.environments))
            raise Refused(
                f"environment {env!r} is not defined in the gate policy" + (f"; did you mean {guess!r}?" if guess else ""),
                f"defined: {', '.join(self.environments) or 'none'}; add it with `bundlectl policy set`",
            )
        return self.environments[env]

    def max_age_for(self, kind: str, env: str | None = None) -> str | None:
        """The max_age that judges a report of `kind` in `env`; without an env, the strictest of all."""
        ages = [e.max_age_for(kind) for name, e in self.environments.items() if env in (None, name)]
        known = [a for a in ages if a]
        return min(known, key=parse_duration) if known else None

    def eval_gate_for(self, env: str | None = None) -> EvalGate | None:
        """The eval gate of `env`; without an env, the strictest about provenance (one pinning tools, else a `run` one)."""
        gates = [e.gates.eval for name, e in self.environments.items() if env in (None, name) and e.gates.eval]
        return next((g for g in gates if g.tools is not None), next((g for g in gates if g.provenance == "run"), gates[0] if gates else None))


def policy_in_force(index: Index) -> GatePolicy | None:
    text, seq = index.policy_text()
    return _parsed_policy(text, seq) if text is not None else None


@functools.lru_cache(maxsize=16)
def _parsed_policy(text: str, seq: int | None) -> GatePolicy:
    """Parsed once per document: every promotion in a log is judged again, each under the policy in force then."""
    return GatePolicy.from_document(json.loads(text), seq)


def environment_policy(index: Index, env: str) -> EnvironmentPolicy:
    """The policy of `env`; refused when no policy is in force or it does not define `env`."""
    policy = policy_in_force(index)
    if policy is None:
        raise Refused("no gate policy is in force", "store one with `bundlectl policy set FILE`")
    return policy.environment(env)


def _environment(name: str, raw: dict[str, Any]) -> EnvironmentPolicy:
    if not is_env(name):
        raise TypeError(f"environment name {name!r}")
    gates = raw["gates"]

    def gate(key: str, cls: type[Any]) -> Any:
        value = gates.get(key)
        return _checked(cls, value) if value is not None else None

    evals = gates.get("eval")
    eval_gate = (
        None
        if evals is None
        else _checked(
            EvalGate,
            {
                **EVAL_ADDED_LATER,
                **evals,
                "slices": {str(slice_name): _checked(SliceGate, wanted) for slice_name, wanted in evals["slices"].items()},
                "tools": _tool_pins({**EVAL_ADDED_LATER, **evals}["tools"]),
            },
        )
    )
    if eval_gate is not None and eval_gate.provenance not in ("any", "run"):
        raise TypeError(f"EvalGate.provenance = {eval_gate.provenance!r}")
    if eval_gate is not None and eval_gate.signed_by not in (None, "runners"):
        raise TypeError(f"EvalGate.signed_by = {eval_gate.signed_by!r}")
    after = raw["after"]
    if not (after is None or is_env(after)) or not isinstance(raw["production"], bool):
        raise TypeError(f"environment {name!r}: after or production")
    waive = (raw.get("rollback") or {}).get("waive", [])  # policies stored before rollback rules waive nothing
    if not isinstance(waive, list) or not all(w in WAIVABLE for w in waive):
        raise TypeError(f"environment {name!r}: rollback.waive = {waive!r}")
    drift = raw.get("drift")
    drift_policy = None if drift is None else _checked(DriftPolicy, drift)
    if drift_policy is not None and (drift_policy.action not in ("notify", "pause", "rollback") or not 0 < drift_policy.alpha < 1):
        raise TypeError(f"DriftPolicy = {drift!r}")
    review = raw.get("review")
    return EnvironmentPolicy(
        name,
        after,
        raw["production"],
        Gates(
            eval_gate,
            gate("regression", RegressionGate),
            gate("latency", LatencyGate),
            gate("cost", CostGate),
            gate("rehearsal", RehearsalGate),
            gate("approvals", ApprovalsGate),
        ),
        frozenset(waive),
        drift_policy,
        None if review is None else _checked(ReviewPolicy, review),
    )


def _tool_pins(raw: Any) -> tuple[ToolPin, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise TypeError(f"EvalGate.tools = {raw!r}")
    return tuple(_checked(ToolPin, pin) for pin in raw)


def _checked(cls: type[Row], raw: dict[str, Any]) -> Row:
    """`cls(**raw)`, after checking each field's type against its annotation (stored JSON is untrusted)."""
    hints = _hints(cls)
    if set(raw) != set(hints):
        raise TypeError(f"{cls.__name__}: keys {sorted(raw)}")
    for field, hint in hints.items():
        value = raw[field]
        if not any(_is(value, t) for t in hint.split(" | ")):
            raise TypeError(f"{cls.__name__}.{field} = {value!r}")
        if field in ("max_age", "every"):
            parse_duration(value)  # ValueError when it is not a duration
    return cls(**raw)


def _is(value: object, type_name: str) -> bool:
    if type_name == "None":
        return value is None
    if isinstance(value, bool):
        return type_name == "bool"
    kinds: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
    if type_name in kinds:
        return isinstance(value, kinds[type_name]) and (type_name != "float" or math.isfinite(value))  # type: ignore[arg-type]
    return type_name.startswith(("dict[", "tuple["))  # slices and tool pins: checked one by one by the caller


def _hints(cls: type[Any]) -> dict[str, str]:
    # with postponed annotations a NamedTuple keeps each one as a ForwardRef holding the source text
    return {name: str(getattr(hint, "__forward_arg__", hint)) for name, hint in cls.__annotations__.items()}
