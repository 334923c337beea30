"""`guard`: the outcome guard, for cron or a CI schedule; exit 0 for hold, advance and complete, 1 for rollback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bundlectl import api
from bundlectl.cli.options import act_value, actor_option, complete_env, complete_name, json_option, key_option, reason_option, registry_option
from bundlectl.cli.output import emit_json, ok, short, table, warn
from bundlectl.errors import UsageProblem

if TYPE_CHECKING:
    from bundlectl.workflows.guard import GuardReport


@click.command()
@click.argument("name", shell_complete=complete_name)
@click.option("--env", required=True, shell_complete=complete_env, help="The environment whose canary (or live bundle) to judge.")
@click.option(
    "--source",
    "sources",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Request log (JSON lines, as Runtime.record writes them); repeatable.",
)
@click.option("--prometheus", default=None, metavar="URL", help="Query the outcome counters from this Prometheus server.")
@click.option("--apply", is_flag=True, help="Carry the decision out as a logged event whose evidence is the figures.")
@click.option(
    "--alpha", type=float, default=0.05, show_default=True, help="Chance of a false rollback, however often the guard runs (split over the metrics)."
)
@click.option(
    "--min-sample", type=click.IntRange(min=1), default=1000, show_default=True, help="Requests per arm (and values per metric) before any verdict."
)
@click.option(
    "--margin",
    "margins",
    multiple=True,
    metavar="METRIC=VALUE",
    help="The largest regression a canary step may pass with (escalated=0.02, latency_ms=50); repeatable. "
    "Default: the manifest's, else 2 points for a rate and 10% of live's mean otherwise.",
)
@click.option("--beta", type=float, default=None, help="Chance of advancing a step worse by a margin (default 0.1).")
@click.option(
    "--max-sample",
    type=click.IntRange(min=1),
    default=None,
    help="Requests per arm after which a step that lasted its time advances unproven (default 20000).",
)
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds each Prometheus query may take.")
@registry_option
@reason_option
@actor_option()
@key_option
@json_option
@act_value
def guard(
    name: str,
    env: str,
    sources: tuple[str, ...],
    prometheus: str | None,
    apply: bool,
    alpha: float,
    min_sample: int,
    margins: tuple[str, ...],
    beta: float | None,
    max_sample: int | None,
    timeout: float,
    registry: api.Registry,
    act: api.Act,
    as_json: bool,
) -> None:
    """Judge the canary (or the live bundle) from recorded outcomes: hold, advance, complete or rollback."""
    report = api.guard(
        name,
        env,
        sources=list(sources) if sources else None,
        prometheus=prometheus,
        apply=apply,
        alpha=alpha,
        min_sample=min_sample,
        timeout=timeout,
        registry=registry,
        act=act,
        margins=_margins(margins),
        beta=beta,
        max_sample=max_sample,
    )
    if as_json:
        emit_json(report.to_json())
    else:
        _print(report)
    if report.apply_error is not None:
        raise report.apply_error
    raise SystemExit(report.judgement.exit_code)


def _print(report: GuardReport) -> None:
    judgement, canary = report.judgement, report.canary
    if canary is not None:
        click.echo(
            f"{report.name} in {report.env}: canary {canary.version} ({short(canary.digest)}) at {canary.percent}% "
            f"beside {report.live.version} ({short(report.live.digest)}), from {report.source}"
        )
    else:
        click.echo(
            f"{report.name} in {report.env}: {report.live.version} ({short(report.live.digest)}) against its owner's target, from {report.source}"
        )
    samples = ", ".join(f"{arm} {n}" for arm, n in judgement.samples.items())
    click.echo(
        f"requests: {samples}; alpha {judgement.settings.alpha}, minimum {judgement.settings.min_sample} per arm"
        + (f", beta {judgement.settings.beta}, maximum {judgement.settings.max_sample}" if canary else "")
    )
    if judgement.served is not None:
        served = judgement.served
        click.echo(f"served with an outcome: candidate {served.candidate.mean:.2%}, live {served.live.mean:.2%}")
    if judgement.ratio is not None:
        ratio = judgement.ratio
        click.echo(f"sample ratio: candidate {ratio.observed()[1]:.2%} (expected {ratio.expected[1]:.0%}), p = {ratio.p_value:.3g}")
    rows = []
    for figure in judgement.metrics:
        data = figure.to_json()
        interval = data["interval"]
        row = [
            figure.metric.name,
            _number(data["live"]),
            _number(data["candidate"]) if canary else _number(data.get("threshold")),
            f"[{_number(interval[0])}, {_number(interval[1])}]" if interval else "—",
            figure.metric.better,
            figure.verdict,
        ]
        if canary:  # how much worse it may be (at beta) against the margin it must be within to pass the step
            row.append(f"{_number(figure.worst)} / {_number(figure.margin)}" if figure.margin is not None else "—")
        rows.append(row)
    table(["metric", "live", "candidate" if canary else "threshold", "interval", "better", "verdict", *(["worst / margin"] if canary else [])], rows)
    colour = "red" if judgement.decision == "rollback" else "green" if judgement.decision != "hold" else None
    click.echo(click.style(judgement.decision.upper(), bold=True, fg=colour) + f": {judgement.reason}")
    if report.applied is not None:
        applied = report.applied
        ok(f"applied: {applied.action}" + (f" (event {applied.seq})" if applied.seq is not None else " (nothing to write)"))
    elif report.apply_error is not None:
        warn("--apply was refused:")


def _margins(given: tuple[str, ...]) -> dict[str, float]:
    found = {}
    for item in given:
        metric, _, value = item.partition("=")
        try:
            found[metric.strip()] = float(value)
        except ValueError:
            raise UsageProblem(f"--margin {item!r} is not METRIC=VALUE", "for example --margin escalated=0.02") from None
        if not metric.strip():
            raise UsageProblem(f"--margin {item!r} names no metric", "for example --margin latency_ms=50")
    return found


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"
