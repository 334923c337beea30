"""`bundlectl guard`: judge what is live in an environment (and the canary beside it) from its recorded outcomes,
and with `--apply` carry the decision out as a logged event whose evidence is the figures.

With a canary, only the requests routed under its current step count (`bundle.canary` = that step's log seq),
so each step is a clean comparison at one share; `advance` moves it to the next step, `complete` promotes
the candidate (through the gate), `rollback` ends it. Without one, the live bundle is held to its owner's
`metadata.outcome`, and `rollback` points the environment back at the bundle live before it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bundlectl.errors import BundlectlError, InvalidInput, NotFound, Problem, UsageProblem
from bundlectl.foundation.clock import parse_time
from bundlectl.foundation.outcomes import CANDIDATE, LIVE
from bundlectl.guard.decision import Judgement, Metric, Settings, Step, Target, declared_margins, judge_canary, judge_outcome, metrics_judged
from bundlectl.guard.margins import BETA, MAX_SAMPLE
from bundlectl.guard.moments import Tally
from bundlectl.guard.prometheus import tally_prometheus
from bundlectl.guard.request_log import tally_request_logs
from bundlectl.guard.tail import TAIL
from bundlectl.registry.read import index_at_head
from bundlectl.registry.rows import BundleRow, CanaryRow, PointerRow
from bundlectl.storage.base import Storage
from bundlectl.trust.identity import Acting, acting, acting_identity, ci_identity
from bundlectl.webhooks.notices import notify_guard
from bundlectl.workflows.canary import advance_canary, canary_in_force, end_canary
from bundlectl.workflows.promote import promote
from bundlectl.workflows.rollback import rollback

# where the figures come from: (name, env, canary step seq or None, live digest or None) → tallies per arm
Source = Callable[[str, str, int | None, str | None], Tally]


@dataclass(frozen=True)
class Applied:
    action: str  # canary-advance | promote | canary-rollback | rollback
    seq: int | None  # the event written (None: nothing needed writing)


@dataclass(frozen=True)
class GuardReport:
    name: str
    env: str
    live: PointerRow
    canary: CanaryRow | None
    judgement: Judgement
    source: str
    applied: Applied | None = None
    apply_error: BundlectlError | None = None  # --apply was refused (the judgement stands; the error says why)

    def to_json(self) -> dict[str, Any]:
        canary = self.canary
        return {
            **self.judgement.to_json(),
            "name": self.name,
            "env": self.env,
            "source": self.source,
            "live_bundle": {"version": self.live.version, "digest": self.live.digest},
            "candidate_bundle": {"version": canary.version, "digest": canary.digest, "percent": canary.percent, "step_seq": canary.seq}
            if canary
            else None,
            "applied": {"action": self.applied.action, "seq": self.applied.seq} if self.applied else None,
            "apply_error": self.apply_error.message if self.apply_error else None,
        }


def guard_settings(
    sources: list[str] | None,
    prometheus: str | None,
    alpha: float,
    min_sample: int,
    timeout: float,
    margins: dict[str, float] | None = None,
    beta: float | None = None,
    max_sample: int | None = None,
) -> Settings:
    """The guard's options checked together: one source of outcomes, a level and a sample size that mean something,
    margins a regression must stay within to advance (per metric, over the manifest's)."""
    if bool(sources) == bool(prometheus):  # none given, both given, or an empty one
        raise UsageProblem("give the outcomes either as --source FILE… or as --prometheus URL (request logs, or a Prometheus server)")
    if not 0 < alpha < 1 or min_sample < 1:
        raise UsageProblem(f"--alpha {alpha} must be between 0 and 1 and --min-sample {min_sample} at least 1")
    if not 0 < timeout <= 3600:  # NaN fails this too; a larger one overflows the socket's clock
        raise UsageProblem(f"--timeout {timeout} must be a number of seconds above 0 and at most 3600")
    beta = BETA if beta is None else beta
    max_sample = MAX_SAMPLE if max_sample is None else max_sample
    if not 0 < beta < 1 or max_sample < min_sample:
        raise UsageProblem(f"--beta {beta} must be between 0 and 1 and --max-sample {max_sample} at least --min-sample {min_sample}")
    bad = [f"{metric}={value}" for metric, value in (margins or {}).items() if not (math.isfinite(value) and value >= 0)]
    if bad:
        raise UsageProblem(
            f"--margin {', '.join(bad)}: a margin is a finite number at least 0, in the metric's own unit",
            "for example --margin escalated=0.02 (2 points) or --margin latency_ms=50",
        )
    return Settings(alpha, min_sample, beta, dict(margins or {}), max_sample)


def outcome_source(sources: list[str] | None, prometheus: str | None, timeout: float) -> Source:
    """Where the guard reads outcomes: a Prometheus server, else request log files."""
    if prometheus is not None:
        return lambda name, env, canary, digest: tally_prometheus(prometheus, name, env, canary=canary, digest=digest, timeout=timeout)

    paths = [Path(p) for p in sources or []]
    return lambda name, env, canary, digest: tally_request_logs(paths, name, env, canary=canary, digest=digest)


def guard(
    open_storage: Callable[[bool], Storage],
    name: str,
    env: str,
    *,
    sources: list[str] | None = None,
    prometheus: str | None = None,
    apply: bool = False,
    alpha: float = 0.05,
    min_sample: int = 1000,
    timeout: float = 10.0,
    actor: str | None = None,
    keys: Sequence[str] | None = None,
    reason: str | None = None,
    now: datetime | None = None,
    margins: dict[str, float] | None = None,
    beta: float | None = None,
    max_sample: int | None = None,
    notify: bool = True,
) -> GuardReport:
    """`bundlectl guard`: the options checked first, then the registry opened (`open_storage(apply)`: fresh when the
    decision is to be carried out), NAME in ENV judged and with `apply` the decision carried out by `actor` (signed with
    `keys`). With `notify`, a decision not applied is delivered to the webhook subscribers (a report judging on the side
    does not: an applied one is logged, and delivered from the log)."""
    settings = guard_settings(sources, prometheus, alpha, min_sample, timeout, margins, beta, max_sample)
    storage = open_storage(apply)
    report = run_guard(
        storage,
        name,
        env,
        outcome_source(sources, prometheus, timeout),
        settings,
        apply=apply,
        actor=acting(actor, keys) if apply else None,
        reason=reason,
        now=now,
    )
    if notify and report.applied is None and report.judgement.decision != "hold":
        notify_guard(storage, report, lambda: acting_identity(actor, ci_identity()[0]))
    return report


def run_guard(
    storage: Storage,
    name: str,
    env: str,
    source: Source,
    settings: Settings,
    *,
    apply: bool = False,
    actor: Acting | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> GuardReport:
    index = index_at_head(storage)
    live = index.pointer(name, env)
    if live is None:
        raise NotFound(
            f"nothing of {name} is live in {env}, so there is nothing to guard", f"check the name and environment: `bundlectl status {name}`"
        )
    running = canary_in_force(index, name, env)
    candidate = None
    live_record = index.served_bundle(name, live.version, "is served").record()
    if running is not None:
        candidate = index.served_bundle(name, running.version, "is served")
        # live's declaration first: a candidate saying `better: lower` for live's metric must not turn a drop into a gain
        metrics = metrics_judged(live_record.metadata.get("outcome"), candidate.record().metadata.get("outcome"))
        _refuse_unknown_margins(settings.margins, metrics)
        # the margins live's owner declared (a candidate cannot loosen them), then the ones given to this run
        settings = replace(settings, margins={**declared_margins(live_record.metadata.get("outcome")), **settings.margins})
        tally = source(name, env, running.seq, None)
        _check_figures(tally, metrics, {LIVE: live.digest, CANDIDATE: running.digest})
        elapsed = (now or datetime.now(UTC)) - parse_time(running.time)  # event times have microseconds
        step = Step(
            running.percent,
            running.next_percent,
            elapsed,
            timedelta(seconds=running.data["step_time"]),
            len([share for share in running.steps if share < 100]),
        )
        judgement = judge_canary(tally, metrics, step, settings)
    else:
        outcome = live_record.metadata.get("outcome")
        tally = source(name, env, None, live.digest)
        _check_figures(tally, metrics_judged(outcome), None)
        judgement = judge_outcome(tally, Target.from_outcome(outcome) if outcome else None, settings)
    report = GuardReport(name, env, live, running, judgement, tally.source)
    if not apply or judgement.decision == "hold":
        return report
    assert actor is not None, "apply needs the acting identity"
    try:
        return _apply(storage, report, candidate, actor, reason or f"guard: {judgement.reason}")
    except BundlectlError as exc:
        return GuardReport(name, env, live, running, judgement, tally.source, None, exc)


def _refuse_unknown_margins(given: Mapping[str, float], metrics: list[Metric]) -> None:
    """A --margin for a metric the guard does not judge (a typo: latency_ms:p99) would be ignored without a word, and
    the step judged by the default margin instead of the stricter one the caller meant."""
    judged = [metric.name for metric in metrics] + [TAIL]
    unknown = sorted(set(given) - set(judged))
    if unknown:
        raise UsageProblem(f"--margin {', '.join(unknown)}: the guard judges no such metric here", f"the metrics judged: {', '.join(judged)}")


def _apply(storage: Storage, report: GuardReport, candidate: BundleRow | None, actor: Acting, reason: str) -> GuardReport:
    """The decision as one logged event, its figures attached; a conflict if ENV or its canary moved since."""

    name, env, canary, decision = report.name, report.env, report.canary, report.judgement.decision
    figures = {**report.judgement.to_json(), "source": report.source}
    if canary is not None:
        if decision == "advance":
            assert report.judgement.step is not None and report.judgement.step.next_percent is not None
            result = advance_canary(storage, name, env, canary.seq, report.judgement.step.next_percent, actor, reason, figures)
            applied = Applied(result.action, result.seq)
        elif decision == "complete":
            assert candidate is not None, "a canary has a candidate"
            move = promote(storage, candidate, env, actor, reason, guard=figures, expect_canary=canary.seq)
            applied = Applied("promote", move.seq)
        else:
            result = end_canary(storage, name, env, actor, reason, step_seq=canary.seq, guard=figures)
            applied = Applied(result.action, result.seq)
    else:
        back = rollback(storage, name, env, actor, reason, guard=figures, expect_live_seq=report.live.seq)
        applied = Applied("rollback", back.move.seq if back.move else None)
    return GuardReport(report.name, env, report.live, canary, report.judgement, report.source, applied)


def _check_figures(tally: Tally, metrics: list[Metric], served_by: dict[str, str] | None) -> None:
    """Refuse figures that cannot be what the runtime recorded: sums no real values have, and during a canary, an
    arm that is neither live nor candidate or that names another bundle than the one the log says it served."""
    problems = []
    for side, digests in sorted(tally.digests.items()):
        if served_by is None:
            continue
        if side not in served_by:
            problems.append(f"requests of the canary step carry the arm {side!r}, which is neither {LIVE!r} nor {CANDIDATE!r}")
        elif digests - {served_by[side]}:
            problems.append(
                f"requests of the canary step's {side} arm name the bundle "
                f"{', '.join(sorted(digests - {served_by[side]}))}, but its {side} bundle is {served_by[side]}"
            )
    rates = {metric.name: metric.rate for metric in metrics}
    for side, arm in sorted(tally.arms.items()):
        for metric, moments in sorted(arm.metrics.items()):
            if not moments.possible(rates.get(metric, False)):
                problems.append(
                    f"the {side} arm's {metric} sums (count {moments.n}, sum {moments.total:g}, squares "
                    f"{moments.squares:g}) are impossible for recorded values"
                )
    if problems:
        raise InvalidInput(
            [Problem(tally.source, problem) for problem in problems],
            "these figures were not written by the runtime as they stand; no decision was made",
        )
