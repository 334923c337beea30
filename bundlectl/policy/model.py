"""Pydantic models of the policy file (README: The gate policy): the one home of its defaults; schemas/policy.schema.json is generated from them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bundlectl.foundation.durations import DURATION_PATTERN, parse_duration
from bundlectl.foundation.names import ENV_PATTERN, is_env, schema_url
from bundlectl.policy.in_force import DEFAULT_MAX_AGE, DEFAULT_PROVENANCE, DEFAULT_REHEARSAL_MAX_AGE


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # JSON stores no infinity


def _duration(value: str) -> str:
    parse_duration(value)
    return value


# checked by parse_duration (its message names the fix); the schema states the same pattern for editors
Duration = Annotated[
    str,
    AfterValidator(_duration),
    Field(json_schema_extra={"pattern": DURATION_PATTERN}, description="How old the evidence may be: 30m, 12h, 7d, 2w."),
]


class SliceGate(Strict):
    min_cases: int = Field(0, ge=0)
    min_pass_rate: float = Field(0.0, ge=0, le=1)


class ToolPin(Strict):
    executable_sha256: str = Field(
        pattern="^sha256:[0-9a-f]{64}$",
        description="The digest of the executable `bundlectl eval` ran, as `evidence list --json` shows it (run.executable_sha256).",
    )
    tool_version: str | None = Field(None, description="The version the tool stated (`TOOL --version`), when it must match too (run.tool_version).")


class EvalGate(Strict):
    min_cases: int = Field(1, ge=1)
    min_pass_rate: float = Field(ge=0, le=1)
    max_age: Duration = DEFAULT_MAX_AGE
    slices: dict[str, SliceGate] = Field(default_factory=dict)
    provenance: Literal["any", "run"] = Field(
        DEFAULT_PROVENANCE,
        description="run: only reports that `bundlectl eval` ran and measured with exactly the "
        "harness the bundle declares (components.evals.harness) count, also for latency "
        "and cost, and their freshness is the time bundlectl measured; any: attached "
        "reports count too.",
    )
    tools: list[ToolPin] | None = Field(
        None,
        description="Pins what ran a report: only reports that `bundlectl eval` ran with one of these "
        "executables (and versions) count, also for latency and cost; an attached report never does. "
        "Absent: any tool.",
    )
    signed_by: Literal["runners"] | None = Field(
        None,
        description="runners: only reports whose record a runner key of the trust file signed count, also for "
        "latency and cost (CI runs `bundlectl eval --key`); needs trust set (README: Trust).",
    )


class RegressionGate(Strict):
    max_drop: float = Field(ge=0, le=1, description="Largest allowed pass-rate drop per slice vs what is live.")


class LatencyGate(Strict):
    max_p95_ms: float = Field(gt=0)
    max_age: Duration = DEFAULT_MAX_AGE


class CostGate(Strict):
    max_cost_per_task_usd: float | None = Field(None, ge=0)
    daily_tasks: int | None = Field(None, ge=0, description="Expected tasks per day.")
    volume_multiplier: float = Field(1.0, ge=1, description="Headroom: projected volume = daily_tasks × this.")
    max_daily_usd: float | None = Field(None, ge=0)
    max_age: Duration = DEFAULT_MAX_AGE


class RehearsalGate(Strict):
    max_age: Duration = DEFAULT_REHEARSAL_MAX_AGE


class ApprovalsGate(Strict):
    min: int = Field(1, ge=1)
    exclude_author: bool = Field(True, description="The bundle's registrant and the promoter do not count.")


class Gates(Strict):
    eval: EvalGate | None = None
    regression: RegressionGate | None = None
    latency: LatencyGate | None = None
    cost: CostGate | None = None
    rehearsal: RehearsalGate | None = None
    approvals: ApprovalsGate | None = None


class RollbackRules(Strict):
    waive: list[Literal["after", "regression", "rehearsal", "approvals"]] = Field(
        default_factory=list,
        description="Checks a component rollback skips here, because every component it goes live with was live here "
        "before. Evidence (eval, latency, cost) for its exact bundle is never waived; an unwaived rehearsal "
        "check also counts the rehearsals of the bundle it rolls back from.",
    )


class DriftPolicy(Strict):
    every: Duration = Field(
        description="How often the live bundle's harness must be re-run (`bundlectl drift --apply`); an older last run fails `status --check`."
    )
    alpha: float = Field(0.01, gt=0, lt=1, description="False-alarm rate of the paired test (McNemar exact), shared among overall and each slice.")
    action: Literal["notify", "pause", "rollback"] = Field(
        "notify", description="What `drift --apply` does on drift: notify (log it; `status --check` fails), pause the environment, or roll it back."
    )


class ReviewPolicy(Strict):
    every: Duration = Field(
        description="How often the owner must review the outcome metric (`bundlectl review`); an overdue review fails `status --check`."
    )


class Environment(Strict):
    after: str | None = Field(None, pattern=ENV_PATTERN, description="Must have been live there first.")
    production: bool = Field(False, description="Rehearsals are refused here.")
    gates: Gates = Field(default_factory=Gates)
    rollback: RollbackRules = Field(default_factory=RollbackRules, description="What a component rollback must pass here.")
    drift: DriftPolicy | None = None
    review: ReviewPolicy | None = None


class Policy(Strict):
    """policy.yaml, apiVersion bundlectl/v1, kind Policy."""

    apiVersion: Literal["bundlectl/v1"]
    kind: Literal["Policy"]
    # the rules below are checked in _order, with messages that say what to do; the schema states them for editors
    environments: dict[str, Environment] = Field(
        description="At least one; an environment not named here cannot be promoted to.",
        json_schema_extra={"minProperties": 1, "propertyNames": {"pattern": ENV_PATTERN}},
    )

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, title="bundlectl gate policy", json_schema_extra={"$id": schema_url("policy.schema.json")}
    )

    @field_validator("environments")
    @classmethod
    def _order(cls, environments: dict[str, Environment]) -> dict[str, Environment]:
        if not environments:
            raise ValueError("defines no environment; name at least one (e.g. staging: {gates: {…}})")
        for name, env in environments.items():
            if not is_env(name):
                raise ValueError(f"environment name {name!r} must be lowercase letters, digits and dashes")
            if env.after is not None and env.after not in environments:
                raise ValueError(f"environment {name!r} comes after {env.after!r}, which the policy does not define")
            chain = [name]
            while (step := environments[chain[-1]].after) is not None:
                if step in chain:
                    cycle = " → ".join([*chain[chain.index(step) :], step])
                    raise ValueError(f"the `after` chain has a cycle: {cycle}; nothing could ever go live there")
                chain.append(step)
        return environments
