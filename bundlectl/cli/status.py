"""`status` (what is live where, whether it is paused, and how its evidence stands) and `history` (how it got there)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bundlectl import api
from bundlectl.cli.options import complete_env, complete_name, json_option, registry_option
from bundlectl.cli.output import emit_json, identity, short, table, warn
from bundlectl.errors import ExitCode

if TYPE_CHECKING:
    from bundlectl.registry.rows import CanaryRow, MoveRow, PauseRow, WatchRow
    from bundlectl.workflows.status import LiveStatus


@click.command()
@click.argument("name", required=False, shell_complete=complete_name)
@click.option("--check", is_flag=True, help="Exit 1 when any live bundle's evidence is stale or failing, or it is unverified.")
@registry_option
@json_option
def status(name: str | None, check: bool, registry: api.Registry, as_json: bool) -> None:
    """What is live in each environment, since when, by whom, and how fresh its evidence is."""
    report = api.status_report(name, registry=registry, refresh=check)
    rows = report.environments
    if as_json:
        emit_json(report.to_json())
    elif not rows:
        click.echo("nothing is live yet; promote a bundle with `bundlectl promote REF --env ENV`")
    else:
        table(
            ["name", "env", "version", "digest", "ptr", "since", "by", "evidence"],
            [[r.name, r.env, r.version, short(r.digest), str(r.pointer_version), r.since, identity(r.by, r.signed), _state(r)] for r in rows],
        )
        for r in rows:
            if r.canary is not None:
                canary = r.canary
                click.echo(
                    f"canary in {r.env}: {r.name}@{canary.version} ({short(canary.digest)}) gets {canary.percent}% "
                    f"of routed requests, since {canary.time} by {identity(canary.actor, canary.signed)} "
                    f"(steps {','.join(map(str, canary.steps))})"
                )
            if r.owner_authority:
                click.echo(
                    f"owner authority in {r.env}: reviews {', '.join(map(str, r.owner_authority))} of {r.name} were "
                    "out of tolerance; its owner may `bundlectl pause --as-owner` it"
                )
    if not as_json and report.trust_since is None:
        click.echo("this registry has no trust set: every identity shown is claimed, not proven (see `bundlectl trust set`)")
    if check:
        failing = [r for r in rows if not r.healthy]
        for row in failing:
            warn(f"{row.name}@{row.version} in {row.env}: {'; '.join(row.problems)}")
        if failing:
            raise SystemExit(ExitCode.REFUSED)


@click.command()
@click.argument("name", shell_complete=complete_name)
@click.option("--env", required=True, shell_complete=complete_env, help="The environment whose history to list.")
@click.option("--limit", type=click.IntRange(min=0), default=256, show_default=True, help="At most this many events; 0 for all.")
@registry_option
@json_option
def history(name: str, env: str, limit: int, registry: api.Registry, as_json: bool) -> None:
    """Promotions, rollbacks, pauses, resumes, canaries, drift runs and reviews of NAME in ENV, newest first."""
    found = api.history(name, env, limit or None, registry=registry)
    events = found.events
    if as_json:
        emit_json(found.to_json())
        return
    if not events:
        click.echo(f"{name} has never been live in {env}")
        return
    table(["seq", "time", "action", "from", "to", "by", "reason"], [_history_row(e) for e in events])


def _state(row: LiveStatus) -> str:
    paused = f"PAUSED by {identity(row.paused.actor, row.paused.signed)}: {row.paused.reason}" if row.paused else None
    if row.healthy and not paused:
        return "ok"
    return click.style("; ".join([*([paused] if paused else []), *row.problems]), fg="red")


def _history_row(event: MoveRow | PauseRow | CanaryRow | WatchRow) -> list[str]:
    from bundlectl.registry.rows import CanaryRow, PauseRow, WatchRow

    if isinstance(event, WatchRow):
        watched = event.data
        live = f"{watched['version']} ({short(watched['digest'])})"
        action = (
            f"drift run: {watched['decision']}" + (f", {watched['action']}" if watched["action"] != "none" else "")
            if event.action == "drift"
            else f"review: {watched['metric']} = {watched['value']:g} ({'within' if watched['in_tolerance'] else 'outside'} tolerance)"
        )
        return [str(event.seq), event.time, action, live, live, identity(event.actor, event.signed), event.reason or ""]
    if isinstance(event, CanaryRow):
        data = event.data
        action = f"{event.action} {event.percent}%" + (" (guard)" if "guard" in data else "")
        # a canary moves no pointer: the columns name the two arms, not an origin and a destination
        ended = ", ended: live unchanged" if event.action.endswith("rollback") else ""
        return [
            str(event.seq),
            event.time,
            action,
            f"live {data['live_version']} ({short(data['live_digest'])})",
            f"candidate {event.version} ({short(event.digest)}){ended}",
            identity(event.actor, event.signed),
            event.reason or "",
        ]
    if isinstance(event, PauseRow):
        live = f"{event.data['version']} ({short(event.data['digest'])})"
        return [str(event.seq), event.time, event.action, live, live, identity(event.actor, event.signed), event.reason or ""]
    action = (
        event.action
        + (f" {','.join(event.components)}" if event.components else "")
        + (f" ({event.rehearsal} rehearsal)" if event.rehearsal else "")
        + ("" if event.verified else " (unverified)")
        + (" (completes canary)" if "canary_completed" in event.data else "")
        + (" (guard)" if "guard" in event.data else "")
    )
    origin = f"{event.from_version} ({short(event.from_digest)})" if event.from_digest else "—"
    return [
        str(event.seq),
        event.time,
        action,
        origin,
        f"{event.to_version} ({short(event.to_digest)})",
        identity(event.actor, event.signed),
        event.reason or "",
    ]
