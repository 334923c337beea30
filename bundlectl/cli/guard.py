"""`guard`: the outcome guard, for cron or a CI schedule; exit 0 for hold, advance and complete, 1 for rollback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bundlectl import api
from bundlectl.cli.options import actor_option, complete_env, complete_name, json_option, key_option, reason_option, registry_option
from bundlectl.cli.output import emit_json, ok, short, table, warn

if TYPE_CHECKING:
    from bundlectl.guarding import GuardReport


@click.command()
@click.argument("name", shell_complete=complete_name)
@click.option("--env", required=True, shell_complete=complete_env, help="The environment whose canary (or live bundle) to judge.")
@click.option("--source", "sources", multiple=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="Request log (JSON lines, as Runtime.record writes them); repeatable.")
@click.option("--prometheus", default=None, metavar="URL", help="Query the outcome counters from this Prometheus server.")
@click.option("--apply", is_flag=True, help="Carry the decision out as a logged event whose evidence is the figures.")
@click.option("--alpha", type=float, default=0.05, show_default=True,
              help="Chance of a false rollback, however often the guard runs (split over the metrics).")
@click.option("--min-sample", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Requests per arm (and values per metric) before any verdict.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds each Prometheus query may take.")
@registry_option
@reason_option
@actor_option()
@key_option
@json_option
def guard(name: str, env: str, sources: tuple[str, ...], prometheus: str | None, apply: bool, alpha: float, min_sample: int,
          timeout: float, registry: str | None, endpoint_url: str | None, reason: str | None, actor: str | None,
          key: tuple[str, ...], as_json: bool) -> None:
    """Judge the canary (or the live bundle) from recorded outcomes: hold, advance, complete or rollback."""
    report = api.guard(name, env, sources=list(sources) if sources else None, prometheus=prometheus, apply=apply, alpha=alpha,
                       min_sample=min_sample, timeout=timeout, registry=registry, endpoint_url=endpoint_url, actor=actor,
                       key=key, reason=reason)
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
        click.echo(f"{report.name} in {report.env}: canary {canary.version} ({short(canary.digest)}) at {canary.percent}% "
                   f"beside {report.live.version} ({short(report.live.digest)}), from {report.source}")
    else:
        click.echo(f"{report.name} in {report.env}: {report.live.version} ({short(report.live.digest)}) against its owner's "
                   f"target, from {report.source}")
    samples = ", ".join(f"{arm} {n}" for arm, n in judgement.samples.items())
    click.echo(f"requests: {samples}; alpha {judgement.settings.alpha}, minimum {judgement.settings.min_sample} per arm")
    if judgement.ratio is not None:
        ratio = judgement.ratio
        click.echo(f"sample ratio: candidate {ratio.observed()[1]:.2%} (expected {ratio.expected[1]:.0%}), p = {ratio.p_value:.3g}")
    rows = []
    for figure in judgement.metrics:
        data = figure.to_json()
        interval = data["interval"]
        rows.append([figure.metric.name, _number(data["live"]), _number(data["candidate"]) if canary else _number(data.get("threshold")),
                     f"[{_number(interval[0])}, {_number(interval[1])}]" if interval else "—", figure.metric.better, figure.verdict])
    table(["metric", "live", "candidate" if canary else "threshold", "interval", "better", "verdict"], rows)
    colour = "red" if judgement.decision == "rollback" else "green" if judgement.decision != "hold" else None
    click.echo(click.style(judgement.decision.upper(), bold=True, fg=colour) + f": {judgement.reason}")
    if report.applied is not None:
        applied = report.applied
        ok(f"applied: {applied.action}" + (f" (event {applied.seq})" if applied.seq is not None else " (nothing to write)"))
    elif report.apply_error is not None:
        warn("--apply was refused:")


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"
