"""The guard's decision, `hold | advance | complete | rollback`, with the figures and the reason behind it.

With a canary, every metric compares the candidate with the live bundle (candidate − live, an always-valid
interval per metric); without one, the live bundle's own metric is held to its owner's target and tolerance.
Nothing is decided on less than the minimum sample per arm. The error budget `alpha` is split evenly over
the tests made (Bonferroni: the canary's steps, then each step's metrics, their recording shares and its ratio
test), so the chance of a false rollback over the whole canary stays under `alpha` however often the guard runs.
A sample ratio mismatch is a rollback: the comparison itself cannot be trusted. So is a recording mismatch, a
metric recorded for a different share of each arm's requests (a candidate that records latency only when it
does not time out would otherwise look faster): the same interval on the share of requests that carry it, and,
when the source has the stamps, on the share of each arm's served requests that have an outcome at all (a
candidate whose failures throw before `record()` would otherwise be judged on its successes). With per-request
latencies, the tail (p95) is judged too (`tail`). A step moves on only when no regression is found AND every
metric is shown non-inferior: its interval at level `beta` rules out a regression larger than its margin
(`margins`); or, failing that proof, once the step has lasted its time and each arm has `max_sample` requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from bundlectl.foundation.outcomes import BETTER, CANDIDATE, LIVE, RATES, Better
from bundlectl.guard import sequential
from bundlectl.guard.margins import BETA, MAX_SAMPLE, harm, margin_for
from bundlectl.guard.moments import Arm, Moments, Tally
from bundlectl.guard.srm import RatioCheck, ratio_check
from bundlectl.guard.tail import TAIL, exceedance

Decision = Literal["hold", "advance", "complete", "rollback"]
EXIT_CODES: dict[str, int] = {"hold": 0, "advance": 0, "complete": 0, "rollback": 1}


@dataclass(frozen=True)
class Metric:
    """A metric the guard judges, and which way is good."""

    name: str
    better: Better
    rate: bool

    def worse(self, low: float, high: float, reference: float = 0.0) -> bool:
        """The whole interval lies on the bad side of `reference`."""
        return low > reference if self.better == "lower" else high < reference

    def better_than(self, low: float, high: float, reference: float = 0.0) -> bool:
        return high < reference if self.better == "lower" else low > reference


@dataclass(frozen=True)
class Target:
    """The owner's `metadata.outcome`: the metric must stay on the good side of target ∓ tolerance."""

    metric: Metric
    target: float
    tolerance: float

    @property
    def threshold(self) -> float:
        return self.target - self.tolerance if self.metric.better == "higher" else self.target + self.tolerance

    @classmethod
    def from_outcome(cls, outcome: dict[str, Any]) -> Target:
        better: Better = "lower" if outcome.get("better") == "lower" else "higher"
        return cls(Metric(str(outcome["metric"]), better, False), float(outcome["target"]), float(outcome.get("tolerance", 0.0)))


def declared_margins(outcome: dict[str, Any] | None) -> dict[str, float]:
    """The margins a manifest's `metadata.outcome` states: `margins` per metric, and `margin` for its own metric."""
    if not outcome:
        return {}
    found = {str(name): float(value) for name, value in (outcome.get("margins") or {}).items()}
    if outcome.get("margin") is not None:
        found[str(outcome["metric"])] = float(outcome["margin"])
    return found


def metrics_judged(*outcomes: dict[str, Any] | None) -> list[Metric]:
    """The built-in metrics and each owner's metric (the first declaration of a name wins)."""
    found = {name: Metric(name, better, name in RATES) for name, better in BETTER.items()}
    for outcome in outcomes:
        if outcome and outcome.get("metric") not in found:
            target = Target.from_outcome(outcome)
            found[target.metric.name] = target.metric
    return list(found.values())


@dataclass(frozen=True)
class Settings:
    alpha: float = 0.05
    min_sample: int = 1000  # per arm, and per metric within an arm
    beta: float = BETA  # the chance of advancing a step whose candidate is worse by a margin
    margins: Mapping[str, float] = field(default_factory=dict)  # the owner's, per metric (else margins.margin_for)
    max_sample: int = MAX_SAMPLE  # per arm: with the step's time, enough to advance without proof of non-inferiority


@dataclass(frozen=True)
class Step:
    """The canary step being judged: its share, what comes next (None: completion), and how long it has run."""

    percent: int
    next_percent: int | None
    elapsed: timedelta
    step_time: timedelta
    steps_judged: int = 1  # how many steps of the canary are judged (all but 100%): alpha is shared among them


@dataclass(frozen=True)
class MetricFigure:
    metric: Metric
    live: Moments
    candidate: Moments | None  # None without a canary
    interval: sequential.Interval | None  # candidate − live, or the live mean without a canary
    verdict: str  # pending | regression | improvement | inconclusive (canary); pending | regression | within | inconclusive | untargeted
    threshold: float | None = None  # outcome mode: the owner's floor or ceiling; the tail test: live's p95
    recorded: Recording | None = None  # canary: the share of each arm's requests that carry this metric
    margin: float | None = None  # canary: the largest regression the step may pass with
    worst: float | None = None  # canary: how much worse the candidate may be, at level beta (non-inferior below margin)

    @property
    def non_inferior(self) -> bool:
        return self.margin is not None and self.worst is not None and self.worst < self.margin

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.metric.name,
            "live": _value(self.live),
            "candidate": _value(self.candidate) if self.candidate else None,
            "interval": self.interval.to_json() if self.interval else None,
            "verdict": self.verdict,
            "better": self.metric.better,
            "samples": {LIVE: self.live.n, **({CANDIDATE: self.candidate.n} if self.candidate else {})},
        }
        if self.threshold is not None:
            document["threshold"] = self.threshold
        if self.recorded is not None:
            document["recorded"] = self.recorded.to_json()
        if self.margin is not None:
            document["margin"] = self.margin
            document["worst"] = self.worst
            document["non_inferior"] = self.non_inferior
        return document

    def describe(self) -> str:
        """One line a person reads: the means, the difference and its interval."""
        name, fmt = self.metric.name, _formatter(self.metric)
        if self.candidate is None:
            where = f"{name}: live {fmt(self.live.mean)}"
            if self.interval is not None:
                where += f" (interval {fmt(self.interval.low)} to {fmt(self.interval.high)})"
            return where + (f", threshold {fmt(self.threshold)}" if self.threshold is not None else "")
        line = f"{name}: candidate {fmt(self.candidate.mean)} vs live {fmt(self.live.mean)}"
        if self.interval is not None:
            delta = _formatter(self.metric, signed=True)
            line += f" ({delta(self.interval.estimate)}, interval {delta(self.interval.low)} to {delta(self.interval.high)})"
        return line


@dataclass(frozen=True)
class Recording:
    """The share of each arm's requests that carry a metric, and the always-valid interval on candidate − live."""

    live: Moments  # n: requests, total = squares: requests that carry the metric (a rate)
    candidate: Moments
    interval: sequential.Interval

    @classmethod
    def of(cls, metric: str, live: Arm, candidate: Arm, alpha: float, min_sample: int) -> Recording:
        return cls.between((live.requests, live.metric(metric).n), (candidate.requests, candidate.metric(metric).n), alpha, min_sample)

    @classmethod
    def between(cls, live: tuple[int, int], candidate: tuple[int, int], alpha: float, min_sample: int) -> Recording:
        """Each arm's (all, recorded) counts. A count above all is a source that read its counters one after another
        while requests were recorded (an OpenTelemetry pipeline, an older exporter): recorded on all, not on more."""
        shares = [Moments(max(total, n), n, n) for total, n in (live, candidate)]
        return cls(shares[0], shares[1], sequential.difference(shares[0], shares[1], True, alpha, min_sample))

    @property
    def mismatch(self) -> bool:
        return self.interval.low > 0 or self.interval.high < 0

    def to_json(self) -> dict[str, Any]:
        return {LIVE: self.live.mean, CANDIDATE: self.candidate.mean, "interval": self.interval.to_json(), "mismatch": self.mismatch}


def _value(moments: Moments) -> float | None:
    return moments.mean if moments.n else None


def _formatter(metric: Metric, signed: bool = False) -> Any:
    sign = "+" if signed else ""
    if metric.rate:
        return (lambda v: f"{v * 100:{sign}.2f} pts") if signed else (lambda v: f"{v * 100:.2f}%")
    return lambda v: f"{v:{sign}.4g}"


@dataclass(frozen=True)
class Judgement:
    decision: Decision
    reason: str
    mode: Literal["canary", "outcome"]
    samples: dict[str, int]
    metrics: list[MetricFigure]
    settings: Settings
    ratio: RatioCheck | None = None
    step: Step | None = None
    served: Recording | None = None  # canary, with stamps: the share of each arm's served requests with an outcome

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]

    def to_json(self) -> dict[str, Any]:
        """The `guard --json` document (docs/design.md: Canaries), and the evidence a guard event records."""
        step = self.step
        return {
            "decision": self.decision,
            "samples": self.samples,
            "metrics": [m.to_json() for m in self.metrics],
            "reason": self.reason,
            "mode": self.mode,
            "alpha": self.settings.alpha,
            "min_sample": self.settings.min_sample,
            "sample_ratio": self.ratio.to_json() if self.ratio else None,
            "served": self.served.to_json() if self.served else None,
            "beta": self.settings.beta,
            "max_sample": self.settings.max_sample,
            "step": {
                "percent": step.percent,
                "next_percent": step.next_percent,
                "elapsed_s": int(step.elapsed.total_seconds()),
                "step_time_s": int(step.step_time.total_seconds()),
                "steps_judged": step.steps_judged,
            }
            if step
            else None,
        }


def judge_canary(tally: Tally, metrics: list[Metric], step: Step, settings: Settings) -> Judgement:
    """Candidate against live for one canary step: rollback on a regression or a mismatch; advance only on evidence."""
    live, candidate = tally.arm(LIVE), tally.arm(CANDIDATE)
    stamped = live.served is not None or candidate.served is not None
    tail = tally.latencies is not None
    # each step is a fresh experiment: one share of alpha per step, then one per metric, one per metric's recording
    # share, one for the sample ratio, and (when the source has them) one for the served share and one for the tail,
    # so a canary's chance of a false rollback over all its steps stays under alpha
    alpha = settings.alpha / max(1, step.steps_judged) / (2 * len(metrics) + 1 + stamped + tail)
    beta = settings.beta / (len(metrics) + tail)  # per step: the chance to pass a candidate worse by a margin
    both_sampled = min(live.requests, candidate.requests) >= settings.min_sample
    figures = []
    for metric in metrics:
        a, b = live.metric(metric.name), candidate.metric(metric.name)
        # a metric live records is compared on its recording share too; one only the candidate records is new, not lost
        recorded = Recording.of(metric.name, live, candidate, alpha, settings.min_sample) if both_sampled and a.n else None
        figures.append(_compared(metric, a, b, alpha, beta, settings, recorded=recorded))
    if tail:
        assert tally.latencies is not None
        shares = exceedance(tally.latencies, settings.min_sample)
        if shares is not None:
            figures.append(_compared(Metric(TAIL, "lower", True), shares.live, shares.candidate, alpha, beta, settings, threshold=shares.threshold))
    samples = {LIVE: live.requests, CANDIDATE: candidate.requests}
    served = None
    if stamped:
        counts = ((live.served or 0, live.requests), (candidate.served or 0, candidate.requests))
        if min(total for total, _ in counts) >= settings.min_sample:
            served = Recording.between(counts[0], counts[1], alpha, settings.min_sample)

    def judged(decision: Decision, reason: str, ratio: RatioCheck | None = None) -> Judgement:
        return Judgement(decision, reason, "canary", samples, figures, settings, ratio, step, served)

    ratio = None
    # routing is judged on what was served when the stamps say so: a loss of outcomes is the served-share test's
    routed = [live.served or 0, candidate.served or 0] if stamped else [live.requests, candidate.requests]
    if sum(routed) >= settings.min_sample:
        share = step.percent / 100
        ratio = ratio_check(routed, [1 - share, share], alpha)
        if ratio.mismatch:
            observed = ratio.observed()[1]
            return judged(
                "rollback",
                f"sample ratio mismatch: the candidate served {observed:.2%} of "
                f"{sum(routed)} requests, not {share:.0%} (p = {ratio.p_value:.2g}); "
                "routing or recording is broken, so the arms cannot be compared",
                ratio,
            )
    # a regression is named first: a candidate that fails more often often records less too (no latency on an error)
    regressions = [f for f in figures if f.verdict == "regression"]
    lost = [f for f in figures if f.recorded is not None and f.recorded.mismatch]
    reasons = (["regression: " + "; ".join(f.describe() for f in regressions)] if regressions else []) + (
        [
            "recording mismatch: "
            + "; ".join(
                f"{f.metric.name} recorded for {f.recorded.candidate.mean:.1%} of the candidate's requests vs {f.recorded.live.mean:.1%} of live's"
                for f in lost
                if f.recorded
            )
            + "; the arms' figures are not of the same requests, so they cannot be compared"
        ]
        if lost
        else []
    )
    if served is not None and served.mismatch:
        reasons.append(
            f"recording mismatch: an outcome was recorded for {served.candidate.mean:.1%} of the candidate's "
            f"served requests vs {served.live.mean:.1%} of live's; the requests it did not record (a failure "
            "that never reached record()) are not judged"
        )
    if reasons:
        return judged("rollback", "; ".join(reasons), ratio)
    short = {arm: settings.min_sample - n for arm, n in samples.items() if n < settings.min_sample}
    if short:
        return judged(
            "hold", "waiting for the minimum sample: " + ", ".join(f"{arm} {samples[arm]} of {settings.min_sample} requests" for arm in short), ratio
        )
    # a metric live measures enough but the candidate not yet is not judged yet, so the step cannot pass on it; one
    # only the candidate measures (new in it) or neither measures enough stays out of the judgement
    unmeasured = [f for f in figures if f.verdict == "pending" and f.live.n >= settings.min_sample]
    if unmeasured:
        return judged(
            "hold",
            "waiting for the minimum sample: "
            + "; ".join(
                f"{f.metric.name}: candidate {f.candidate.n if f.candidate else 0}, live {f.live.n} of {settings.min_sample} values"
                for f in unmeasured
            ),
            ratio,
        )
    if step.elapsed < step.step_time:
        left = step.step_time - step.elapsed
        return judged("hold", f"no regression; the {step.percent}% step has {_duration(left)} of its {_duration(step.step_time)} left", ratio)
    unproven = [f for f in figures if f.interval is not None and not f.non_inferior]
    done = f"after {_duration(step.elapsed)} at {step.percent}%"
    if unproven:
        doubt = "; ".join(
            f"{f.metric.name} could be {_formatter(f.metric, signed=True)(f.worst)} worse (margin {_formatter(f.metric, signed=True)(f.margin)})"
            for f in unproven
        )
        if min(samples.values()) < settings.max_sample:
            return judged(
                "hold",
                f"no regression, but not yet shown to be within its margins: {doubt}; the step waits "
                f"for the proof, or for {settings.max_sample} requests per arm",
                ratio,
            )
        done += f" and {settings.max_sample} requests per arm (not shown within its margins: {doubt})"
    else:
        done += ", every metric within its margin"
    if step.next_percent is None:
        return judged("complete", f"no regression {done}: complete the canary", ratio)
    return judged("advance", f"no regression {done}: advance to {step.next_percent}%", ratio)


def _compared(
    metric: Metric,
    live: Moments,
    candidate: Moments,
    alpha: float,
    beta: float,
    settings: Settings,
    recorded: Recording | None = None,
    threshold: float | None = None,
) -> MetricFigure:
    """One metric of a canary step: its interval at alpha (a regression?) and at beta (within its margin?)."""
    if min(live.n, candidate.n) < settings.min_sample:
        return MetricFigure(metric, live, candidate, None, "pending", threshold, recorded)
    interval = sequential.difference(live, candidate, metric.rate, alpha, settings.min_sample)
    verdict = (
        "regression"
        if metric.worse(interval.low, interval.high)
        else "improvement"
        if metric.better_than(interval.low, interval.high)
        else "inconclusive"
    )
    proof = sequential.difference(live, candidate, metric.rate, beta, settings.min_sample)
    margin = margin_for(metric.name, metric.rate, live.mean, settings.margins, tail=threshold is not None)
    return MetricFigure(metric, live, candidate, interval, verdict, threshold, recorded, margin, harm(metric.better, proof.low, proof.high))


def judge_outcome(tally: Tally, target: Target | None, settings: Settings) -> Judgement:
    """The live bundle alone, against its owner's target and tolerance: rollback once it is surely outside."""
    live = tally.arm(LIVE)
    samples = {LIVE: live.requests}
    figures = []
    for name, better in BETTER.items():  # shown for the record; nobody set a target for them
        metric = Metric(name, better, name in RATES)
        moments = live.metric(name)
        interval = sequential.mean(moments, metric.rate, settings.alpha, settings.min_sample) if moments.n >= settings.min_sample else None
        figures.append(MetricFigure(metric, moments, None, interval, "untargeted" if interval else "pending"))
    if target is None:
        return Judgement(
            "hold", "the live bundle declares no metadata.outcome, so there is nothing to hold it to", "outcome", samples, figures, settings
        )
    moments = live.metric(target.metric.name)
    if moments.n < settings.min_sample:
        figures.insert(0, MetricFigure(target.metric, moments, None, None, "pending", target.threshold))
        return Judgement(
            "hold",
            f"waiting for the minimum sample: {moments.n} of {settings.min_sample} {target.metric.name} values",
            "outcome",
            samples,
            figures,
            settings,
        )
    interval = sequential.mean(moments, target.metric.rate, settings.alpha, settings.min_sample)
    threshold = target.threshold
    if target.metric.worse(interval.low, interval.high, threshold):
        verdict = "regression"
    elif target.metric.better_than(interval.low, interval.high, threshold) or interval.low == interval.high == threshold:
        verdict = "within"
    else:
        verdict = "inconclusive"
    figure = MetricFigure(target.metric, moments, None, interval, verdict, threshold)
    figures.insert(0, figure)
    if verdict == "regression":
        side = "below the floor" if target.metric.better == "higher" else "above the ceiling"
        return Judgement(
            "rollback",
            f"outside its owner's tolerance: {figure.describe()} ({side} "
            f"{target.target:g} {'−' if target.metric.better == 'higher' else '+'} {target.tolerance:g})",
            "outcome",
            samples,
            figures,
            settings,
        )
    state = "within its owner's tolerance" if verdict == "within" else "not yet distinguishable from its threshold"
    return Judgement("hold", f"{state}: {figure.describe()}", "outcome", samples, figures, settings)


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
