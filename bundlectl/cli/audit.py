"""`audit`: which bundle was live at an instant, or which bundle served a request."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from bundlectl import api
from bundlectl.cli.options import complete_env, complete_name, json_option, registry_option
from bundlectl.cli.output import emit_json, identity, ok, short, table, warn
from bundlectl.errors import ExitCode

if TYPE_CHECKING:
    from bundlectl.workflows.audit import LiveAt, RequestAudit


@click.command()
@click.argument("name", required=False, shell_complete=complete_name)
@click.option("--at", "at", default=None, metavar="TIME", help="RFC 3339 instant, e.g. 2026-11-22T14:05:00Z.")
@click.option("--env", default=None, shell_complete=complete_env, help="With --at: the environment to look in (e.g. production).")
@click.option("--request-id", default=None, help="Find this request's stamp in --log files.")
@click.option("--log", "logs", multiple=True, type=click.Path(dir_okay=False), help="JSON-lines request log or OTLP/JSON export (repeatable).")
@registry_option
@json_option
def audit(
    name: str | None, at: str | None, env: str | None, request_id: str | None, logs: tuple[str, ...], registry: api.Registry, as_json: bool
) -> None:
    """`audit --at TIME --env ENV NAME`, or `audit --request-id ID --log FILE…`."""
    if request_id:
        if not logs:
            raise click.UsageError("--request-id needs at least one --log FILE")
        result = api.audit_request(request_id, [Path(p) for p in logs], registry=registry)
        if as_json:
            emit_json(result.to_json())
        else:
            _print_request(result)
        if not result.consistent:
            raise SystemExit(ExitCode.INTEGRITY)
        return
    if not (at and env and name):
        raise click.UsageError("give either --request-id ID --log FILE, or NAME --at TIME --env ENV")
    from bundlectl.foundation.clock import parse_time

    try:
        moment = parse_time(at)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None
    live = api.audit_at(name, env, moment, registry=registry)
    if as_json:
        emit_json(live.to_json())
    else:
        _print_live(live)


def _print_live(live: LiveAt) -> None:
    until = live.live_until or "now"
    click.echo(click.style(f"{live.name}@{live.version}", bold=True) + f" ({live.digest}) was live in {live.env}")
    click.echo(f"  from {live.live_from} until {until}, pointer version {live.pointer_version}")
    click.echo(f"  {live.action} by {identity(live.promoted_by, live.signed)} (event {live.seq})" + (f": {live.reason}" if live.reason else ""))
    if not live.verified:
        warn("it went live by break-glass, unverified")
    if live.paused:
        by = identity(live.paused["by"], live.paused["by_signed"])
        warn(
            f"{live.env} was paused then (by {by} at {live.paused['since']}: {live.paused['reason']}); "
            "runtimes refused to serve it from their next poll on"
        )
    if "drift" in live.watched:
        run = live.watched["drift"]
        click.echo(
            f"  last drift run: {run['decision']} at {run['time']} by {identity(run['actor'], run['signed'])} "
            f"(event {run['seq']}, action {run['action_taken']})"
        )
    if "review" in live.watched:
        review = live.watched["review"]
        click.echo(
            f"  last review: {review['metric']} = {review['value']:g} "
            f"({'within' if review['in_tolerance'] else 'outside'} tolerance) at {review['time']} by "
            f"{identity(review['actor'], review['signed'])} (event {review['seq']})"
        )
    if live.candidate:
        candidate = live.candidate
        click.echo(
            f"  canary beside it: {live.name}@{candidate['version']} ({short(candidate['digest'])}) at "
            f"{candidate['percent']}% of routed requests (since {candidate['since']}, event {candidate['seq']})"
        )
    if live.evidence:
        table(
            ["evidence", "of", "role", "kind", "source", "run at", "pass rate"],
            [
                [
                    str(e["seq"]),
                    f"{e['version']} ({short(e['digest'])})",
                    e["role"],
                    e["kind"],
                    e["source"],
                    e["run_at"],
                    str(e["figures"].get("pass_rate", "—")),
                ]
                for e in live.evidence
            ],
        )


def _print_request(result: RequestAudit) -> None:
    stamp = result.stamp
    click.echo(f"request {stamp.request_id} (found in {stamp.where})")
    click.echo(
        click.style(f"  served by {stamp.name}@{stamp.version}", bold=True)
        + f" ({stamp.digest}) in {stamp.env}, {stamp.arm} arm"
        + (" (the canary's candidate)" if stamp.arm == "candidate" else "")
    )
    for kind, digest in result.components.items():
        click.echo(f"    {kind:<11} {short(digest)}")
    if result.live is not None:
        _print_live(result.live)
    if result.consistent:
        ok(
            "the stamp agrees with the log: that digest was "
            + ("the canary's candidate" if stamp.arm == "candidate" else "live")
            + " there at that time"
        )
    else:
        warn(f"the stamp DISAGREES with the log: {result.problem}")
