"""`status` (what is live where, and how its evidence stands) and `history` (how it got there)."""

from __future__ import annotations

import click

from bundlectl import api
from bundlectl.cli.options import complete_env, complete_name, json_option, registry_option
from bundlectl.cli.output import emit_json, short, table, warn
from bundlectl.errors import ExitCode


@click.command()
@click.argument("name", required=False, shell_complete=complete_name)
@click.option("--check", is_flag=True, help="Exit 1 when any live bundle's evidence is stale or failing, or it is unverified.")
@registry_option
@json_option
def status(name: str | None, check: bool, registry: str | None, endpoint_url: str | None, as_json: bool) -> None:
    """What is live in each environment, since when, by whom, and how fresh its evidence is."""
    rows = api.status(name, registry=registry, endpoint_url=endpoint_url)
    if as_json:
        emit_json({"environments": [r.to_json() for r in rows]})
    elif not rows:
        click.echo("nothing is live yet; promote a bundle with `bundlectl promote REF --env ENV`")
    else:
        table(["name", "env", "version", "digest", "ptr", "since", "by", "evidence"],
              [[r.name, r.env, r.version, short(r.digest), str(r.pointer_version), r.since, r.by,
                "ok" if r.healthy else click.style("; ".join(r.problems), fg="red")] for r in rows])
    if check:
        failing = [r for r in rows if not r.healthy]
        for row in failing:
            warn(f"{row.name}@{row.version} in {row.env}: {'; '.join(row.problems)}")
        if failing:
            raise SystemExit(ExitCode.REFUSED)


@click.command()
@click.argument("name", shell_complete=complete_name)
@click.option("--env", required=True, shell_complete=complete_env)
@click.option("--limit", type=click.IntRange(min=0), default=256, show_default=True, help="At most this many events; 0 for all.")
@registry_option
@json_option
def history(name: str, env: str, limit: int, registry: str | None, endpoint_url: str | None, as_json: bool) -> None:
    """Promotions and rollbacks of NAME in ENV, newest first."""
    events = api.history(name, env, limit or None, registry=registry, endpoint_url=endpoint_url)
    if as_json:
        emit_json({"name": name, "env": env, "events": [e.to_json() for e in events]})
        return
    if not events:
        click.echo(f"{name} has never been live in {env}")
        return
    table(["seq", "time", "action", "from", "to", "by", "reason"],
          [[str(e.seq), e.time, e.action + (f" {','.join(e.components)}" if e.components else "")
            + (f" ({e.rehearsal} rehearsal)" if e.rehearsal else "") + ("" if e.verified else " (unverified)"),
            f"{e.from_version} ({short(e.from_digest)})" if e.from_digest else "—",
            f"{e.to_version} ({short(e.to_digest)})", e.actor, e.reason or ""] for e in events])
