"""The gate checks (README: The gate policy), each a function of plain inputs (no I/O), so each rule lives once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from bundlectl.foundation.durations import format_duration, parse_duration
from bundlectl.gate.result import Check
from bundlectl.policy.freshness import is_fresh, run_age
from bundlectl.policy.in_force import (
    ApprovalsGate,
    CostGate,
    EvalGate,
    Gates,
    LatencyGate,
    RegressionGate,
    RehearsalGate,
)
from bundlectl.registry.rows import ApprovalRow, EvidenceRow, PointerRow
from bundlectl.trust.roles import Trust, person


class GateInputs(NamedTuple):
    digest: str
    env: str
    gates: Gates
    after: str | None
    evidence: list[EvidenceRow]  # this bundle's, newest run first
    live: PointerRow | None
    live_evidence: list[EvidenceRow]
    approvals: list[ApprovalRow]
    registrants: set[str]
    promoters: set[str]  # a promotion signed by several keys names each of their principals
    was_live_after: bool
    now: datetime
    trust: Trust | None = None  # the trust in force: approvals and runner-signed evidence are judged by its keys
    waived: frozenset[str] = frozenset()  # a component rollback: the checks the policy's rollback rules waive
    rolled_back_rehearsals: list[EvidenceRow] = []  # a component rollback: rehearsals of the bundle it rolls back from


def _newest(evidence: list[EvidenceRow], kind: str) -> EvidenceRow | None:
    return next((e for e in evidence if e.kind == kind), None)


class Standing(NamedTuple):
    counts: bool
    why: str


def eval_standing(row: EvidenceRow, gate: EvalGate | None, trust: Trust | None = None) -> Standing:
    """Whether an eval report can satisfy this eval gate at all (freshness and figures aside), and why."""
    cases, run = row.binding.get("cases"), row.provenance == "run"
    if (unshown := _unshown_prompts(row)) is not None:
        return unshown
    if cases is None:
        return Standing(
            False,
            "recorded before reports were matched case by case; bind its report again with "
            "`bundlectl evidence add` (or run the suite with `bundlectl eval`)",
        )
    if cases == "undeclared":
        return Standing(False, "the bundle's suite declares no cases (add `cases:` to its evals component)")
    if gate is not None and gate.signed_by == "runners":
        refused = _not_runner_signed(row, trust)
        if refused is not None:
            return refused
    if (unpinned := _not_pinned(row, gate)) is not None:
        return unpinned
    if _demands_runs(gate) and not run:
        return Standing(False, "attached, and the gate demands provenance: run (use `bundlectl eval`)")
    if _demands_runs(gate) and not _harness_run(row):
        return Standing(False, "run, but not by the harness the bundle declares (components.evals.harness), and the gate demands provenance: run")
    if run:
        return Standing(True, "run by the bundle's declared harness, measured by bundlectl" if _harness_run(row) else "run and measured by bundlectl")
    return Standing(True, "attached; its run time is the report's own claim")


def _unshown_prompts(row: EvidenceRow) -> Standing | None:
    """Why a report that never shows one of the bundle's prompt files cannot count (readers derive the files when
    they take the record in: `transitions.evidence_rule`); None when it shows them all or predates the rule."""
    unshown: dict[str, str] = row.binding.get("unshown_prompts") or {}
    if not unshown:
        return None
    names = ", ".join(unshown)
    return Standing(
        False,
        f"its prompt file{'s' if len(unshown) > 1 else ''} {names} appear{'' if len(unshown) > 1 else 's'} in no prompt the run "
        "rendered, and a report only proves the prompt texts it shows; make the suite render every prompt file: "
        + "; ".join(f"{path}: {hint}" for path, hint in unshown.items()),
    )


def _not_pinned(row: EvidenceRow, gate: EvalGate | None) -> Standing | None:
    """Why a report does not count under the gate's `tools` pins; None when there are none or one matches."""
    if gate is None or gate.tools is None:
        return None
    provenance = row.binding.get("provenance", {})
    if provenance.get("mode") != "run":
        return Standing(False, "attached, and the gate pins the tool that must run its reports (tools)")
    sha256, version = provenance.get("executable_sha256"), provenance.get("tool_version")
    if any(pin.executable_sha256 == sha256 and pin.tool_version in (None, version) for pin in gate.tools):
        return None
    what = f"{provenance.get('executable')} ({str(sha256)[:19]}…" + (f", version {version})" if version else ")")
    return Standing(False, f"run by {what}, which none of the gate's tool pins names")


def _demands_runs(gate: EvalGate | None) -> bool:
    return gate is not None and gate.provenance == "run"


def _not_runner_signed(row: EvidenceRow, trust: Trust | None) -> Standing | None:
    """Why a report cannot count under `signed_by: runners`; None when a runner key of the trust in force signed it."""
    if trust is None:
        return Standing(False, "the gate demands signed_by: runners, but this registry has no trust set")
    if not row.signed_by & trust.runners.fingerprints:
        return Standing(
            False, "not signed by a runner key of the trust in force (the gate demands signed_by: runners; run it in CI with `bundlectl eval --key`)"
        )
    return None


def _harness_run(row: EvidenceRow) -> bool:
    """Run by bundlectl, and the command was exactly the harness the bundle declares (so the evals digest covers it)."""
    provenance = row.binding.get("provenance", {})
    return provenance.get("mode") == "run" and provenance.get("harness") is True


def standing(row: EvidenceRow, gate: EvalGate | None, trust: Trust | None = None) -> Standing | None:
    """Whether any report may be read by the gates at all, and why; None for kinds that always may.

    What the eval gate demands of its reports (runs of the harness, runner signatures) it demands of the
    load and cost figures too: the latency and cost gates must not read what the eval gate would refuse.
    """
    if row.kind == "eval":
        return eval_standing(row, gate, trust)
    if row.kind not in ("load", "cost"):
        return None
    if (unshown := _unshown_prompts(row)) is not None:
        return Standing(False, unshown.why + " (latency and cost then come from runs that show every prompt file)")
    if gate is not None and gate.signed_by == "runners" and (refused := _not_runner_signed(row, trust)) is not None:
        return refused
    if (unpinned := _not_pinned(row, gate)) is not None:
        return Standing(False, unpinned.why + " (latency and cost then come from pinned runs only)")
    if _demands_runs(gate) and not _harness_run(row):
        return Standing(
            False, "not a run of the declared harness, and the eval gate demands provenance: run (latency and cost then come from such runs only)"
        )
    return None


def counting(evidence: list[EvidenceRow], gate: EvalGate | None, trust: Trust | None = None) -> list[EvidenceRow]:
    """The evidence the gates may read: eval reports that cannot satisfy the eval gate are left out, and so are
    load and cost figures that do not meet what the eval gate demands of its reports (runs, runner signatures)."""
    return [e for e in evidence if (judged := standing(e, gate, trust)) is None or judged.counts]


def _age(row: EvidenceRow, now: datetime) -> timedelta:
    return run_age(row.run_at, now)


def eval_checks(gate: EvalGate, evidence: list[EvidenceRow], now: datetime, used: list[int], trust: Trust | None = None) -> list[Check]:
    """The newest eval run counts (never a luckier older one): fresh, enough cases, pass rates."""
    wanted = f"pass rate ≥ {gate.min_pass_rate} over ≥ {gate.min_cases} cases, ≤ {gate.max_age} old"
    if gate.provenance == "run":
        wanted += ", run by bundlectl"
    if gate.signed_by == "runners":
        wanted += ", signed by a runner"
    run = _newest(counting(evidence, gate, trust), "eval")
    if run is None:
        newest = _newest(evidence, "eval")
        why = (
            f"no eval evidence that counts: the newest ({newest.source}, {newest.run_at}) does not: {eval_standing(newest, gate, trust).why}"
            if newest
            else "no eval evidence for this bundle digest; add a report with `bundlectl eval` or `bundlectl evidence add`"
        )
        return [Check("eval", False, None, wanted, why)]
    used.append(run.seq)
    age = _age(run, now)
    checks = [
        Check(
            "eval.fresh",
            is_fresh(run.run_at, gate.max_age, now),
            age,
            parse_duration(gate.max_age),
            f"newest eval run ({run.source}, {run.provenance}, {run.run_at}) is {format_duration(age)} old",
        )
    ]
    figures = run.figures
    checks.append(
        Check(
            "eval.cases",
            figures.get("cases", 0) >= gate.min_cases,
            figures.get("cases", 0),
            gate.min_cases,
            f"{figures.get('cases', 0)} cases in the run",
        )
    )
    checks.append(
        Check(
            "eval.pass_rate",
            figures.get("pass_rate", 0) >= gate.min_pass_rate,
            figures.get("pass_rate", 0),
            gate.min_pass_rate,
            f"{figures.get('passed', 0)}/{figures.get('cases', 0)} passed",
        )
    )
    for name, wanted_slice in gate.slices.items():
        got = figures.get("slices", {}).get(name)
        if got is None:
            checks.append(Check(f"eval.slice.{name}", False, None, wanted_slice.to_json(), f"the run has no {name!r} slice"))
            continue
        ok = got["cases"] >= wanted_slice.min_cases and got["pass_rate"] >= wanted_slice.min_pass_rate
        checks.append(
            Check(
                f"eval.slice.{name}",
                ok,
                {"cases": got["cases"], "pass_rate": got["pass_rate"]},
                wanted_slice.to_json(),
                f"{got['passed']}/{got['cases']} passed in slice {name}",
            )
        )
    return checks


def regression_check(gate: RegressionGate, inputs: GateInputs, used: list[int]) -> Check:
    max_drop = gate.max_drop
    if inputs.live is None or inputs.live.digest == inputs.digest:
        return Check("regression", True, None, max_drop, f"nothing else is live in {inputs.env} to compare with")
    ours, theirs = _newest(inputs.evidence, "eval"), _newest(inputs.live_evidence, "eval")
    if ours is None:
        return Check("regression", False, None, max_drop, "no eval evidence for this bundle to compare")
    if theirs is None:
        return Check("regression", True, None, max_drop, f"the live bundle {inputs.live.version} has no eval evidence; nothing to regress from")
    used.append(theirs.seq)
    drops = {"overall": theirs.figures.get("pass_rate", 0) - ours.figures.get("pass_rate", 0)}
    for name, live_slice in theirs.figures.get("slices", {}).items():
        mine = ours.figures.get("slices", {}).get(name)
        drops[name] = live_slice["pass_rate"] - (mine["pass_rate"] if mine else 0.0)
    worst = max(drops, key=lambda k: drops[k])
    drop = round(drops[worst], 6)
    return Check("regression", drop <= max_drop, drop, max_drop, f"largest pass-rate drop vs live {inputs.live.version}: {worst} ({drop:+.3f})")


def _measured(inputs: GateInputs, key: str, kinds: tuple[str, ...], max_age: str, used: list[int]) -> tuple[Any, str]:
    """The newest fresh measurement of KEY among reports of KINDS (whichever kind measured it last)."""
    for row in inputs.evidence:  # newest run first
        if row.kind in kinds and key in row.figures and is_fresh(row.run_at, max_age, inputs.now):
            used.append(row.seq)
            return row.figures[key], f"from the {row.kind} report of {row.run_at}"
    return None, f"no {' or '.join(kinds)} report ≤ {max_age} old gives {key}"


def latency_check(gate: LatencyGate, inputs: GateInputs, used: list[int]) -> Check:
    value, origin = _measured(inputs, "latency_p95_ms", ("load", "eval"), gate.max_age, used)
    return Check("latency.p95_ms", value is not None and value <= gate.max_p95_ms, value, gate.max_p95_ms, origin)


def cost_checks(gate: CostGate, inputs: GateInputs, used: list[int]) -> list[Check]:
    value, origin = _measured(inputs, "cost_per_task_usd", ("cost", "eval"), gate.max_age, used)
    checks = []
    if gate.max_cost_per_task_usd is not None:
        checks.append(
            Check("cost.per_task_usd", value is not None and value <= gate.max_cost_per_task_usd, value, gate.max_cost_per_task_usd, origin)
        )
    if gate.max_daily_usd is not None and gate.daily_tasks is not None:
        volume = gate.daily_tasks * gate.volume_multiplier
        projected = round(value * volume, 2) if value is not None else None
        checks.append(
            Check(
                "cost.daily_projection_usd",
                projected is not None and projected <= gate.max_daily_usd,
                projected,
                gate.max_daily_usd,
                f"${value} per task × {volume:,.0f} tasks/day ({gate.daily_tasks:,} × {gate.volume_multiplier:g})" if value is not None else origin,
            )
        )
    return checks


def rehearsal_check(gate: RehearsalGate, inputs: GateInputs, used: list[int]) -> Check:
    """A recent rollback rehearsal of this bundle; for a component rollback, a rehearsed rollback of the bundle it
    replaces counts too (that is the rollback being done)."""
    rehearsals = sorted(
        [e for e in [*inputs.evidence, *inputs.rolled_back_rehearsals] if e.kind == "rehearsal"], key=lambda e: (e.run_at, e.seq), reverse=True
    )
    row = rehearsals[0] if rehearsals else None
    if row is None and inputs.live is None:  # a first release: a rollback here would have nothing to go back to
        return Check(
            "rehearsal",
            True,
            None,
            parse_duration(gate.max_age),
            f"nothing is live in {inputs.env} yet, so there is no rollback to rehearse (`bundlectl pause` is the kill switch)",
        )
    if row is None:
        return Check("rehearsal", False, None, parse_duration(gate.max_age), "no rollback rehearsal recorded for this bundle")
    used.append(row.seq)
    age = _age(row, inputs.now)
    return Check(
        "rehearsal",
        is_fresh(row.run_at, gate.max_age, inputs.now),
        age,
        parse_duration(gate.max_age),
        f"last rehearsal {row.run_at} ({format_duration(age)} ago)",
    )


def approvals_check(gate: ApprovalsGate, inputs: GateInputs) -> Check:
    """Distinct approvers other than the author and the promoter; once trust is set, by the keys, not the claims.

    Under trust an approval counts only when signed by a key that is an approver in the trust in force now
    (a key removed since no longer counts), and never for the registrant's or the promoter's principal.
    """
    authors = inputs.registrants | inputs.promoters
    refused: dict[str, str] = {}
    if inputs.trust is None:
        approvers = {a.actor for a in inputs.approvals}
        excluded = authors & approvers if gate.exclude_author else set()
        refused = {name: "author or promoter" for name in excluded}
        counted = approvers - excluded
    else:
        counted = set()
        for approval in inputs.approvals:
            signers = [s for s in inputs.trust.approvers.signers if s.key.fingerprint in approval.signed_by]
            if not signers:
                refused.setdefault(approval.actor, "not signed by a key that is an approver now")
            for signer in signers:  # counted as people: one approver's keys (and spellings) count once
                if person(signer.principal) in authors:
                    refused[person(signer.principal)] = "author or promoter"
                else:
                    counted.add(person(signer.principal))
        refused = {name: why for name, why in refused.items() if name not in counted}
    claimed = " (claimed: no trust set)" if inputs.trust is None else ""
    detail = f"approved by {', '.join(sorted(counted))}{claimed}" if counted else "no approvals that count"
    for why in sorted(set(refused.values())):
        detail += f"; not counted ({why}): {', '.join(sorted(n for n, w in refused.items() if w == why))}"
    return Check("approvals", len(counted) >= gate.min, len(counted), gate.min, detail)


def after_check(inputs: GateInputs) -> Check:
    return Check(
        "after",
        inputs.was_live_after,
        inputs.was_live_after,
        inputs.after,
        f"{'has been' if inputs.was_live_after else 'has never been'} live in {inputs.after}",
    )


def run_checks(inputs: GateInputs) -> tuple[list[Check], list[int]]:
    used: list[int] = []
    gates = inputs.gates
    everything = inputs.evidence  # eval_checks says why a report does not count; the other checks never see it
    inputs = inputs._replace(
        evidence=counting(inputs.evidence, gates.eval, inputs.trust), live_evidence=counting(inputs.live_evidence, gates.eval, inputs.trust)
    )
    checks: list[Check] = []
    if inputs.after:
        checks.append(_waived("after") if "after" in inputs.waived else after_check(inputs))
    if gates.eval:
        checks += eval_checks(gates.eval, everything, inputs.now, used, inputs.trust)
    if gates.regression:
        checks.append(_waived("regression") if "regression" in inputs.waived else regression_check(gates.regression, inputs, used))
    if gates.latency:
        checks.append(latency_check(gates.latency, inputs, used))
    if gates.cost:
        checks += cost_checks(gates.cost, inputs, used)
    if gates.rehearsal:
        checks.append(_waived("rehearsal") if "rehearsal" in inputs.waived else rehearsal_check(gates.rehearsal, inputs, used))
    if gates.approvals:
        checks.append(_waived("approvals") if "approvals" in inputs.waived else approvals_check(gates.approvals, inputs))
    return checks, sorted(set(used))


def _waived(name: str) -> Check:
    return Check(
        name,
        True,
        None,
        None,
        "waived for a component rollback by the policy (rollback.waive): each component it goes live with was live here before",
    )
