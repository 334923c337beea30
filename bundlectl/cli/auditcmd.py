"""`audit`: which bundle was live at an instant, or which bundle served a request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bundlectl.cli.context import storage_for
from bundlectl.cli.main import json_option, registry_option
from bundlectl.cli.output import emit_json, ok, short, table, warn


@click.command()
@click.argument("name", required=False)
@click.option("--at", "at", default=None, metavar="TIME", help="RFC 3339 instant, e.g. 2026-11-22T14:05:00Z.")
@click.option("--env", default=None)
@click.option("--request-id", default=None, help="Find this request's stamp in --log files.")
@click.option("--log", "logs", multiple=True, type=click.Path(dir_okay=False), help="JSON-lines request log or OTLP/JSON export (repeatable).")
@registry_option
@json_option
def audit(name: str | None, at: str | None, env: str | None, request_id: str | None, logs: tuple[str, ...],
          registry: str | None, as_json: bool) -> None:
    """`audit --at TIME --env ENV NAME`, or `audit --request-id ID --log FILE…`."""
    from bundlectl.audit import audit_request, find_stamp, live_at
    from bundlectl.clock import parse_time
    from bundlectl.registry.fresh import fresh_index

    if request_id:
        if not logs:
            raise click.UsageError("--request-id needs at least one --log FILE")
        stamp = find_stamp(request_id, [Path(p) for p in logs])
        result = audit_request(fresh_index(storage_for(registry)), stamp)
        if as_json:
            emit_json(result.to_json())
        else:
            _print_request(result)
        if not result.consistent:
            raise SystemExit(5)
        return
    if not (at and env and name):
        raise click.UsageError("give either --request-id ID --log FILE, or NAME --at TIME --env ENV")
    try:
        moment = parse_time(at)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None
    result = live_at(fresh_index(storage_for(registry)), name, env, moment)
    if as_json:
        emit_json(result.to_json())
    else:
        _print_live(result)


def _print_live(live: Any) -> None:
    until = live.live_until or "now"
    click.echo(click.style(f"{live.name}@{live.version}", bold=True) + f" ({live.digest}) was live in {live.env}")
    click.echo(f"  from {live.live_from} until {until}, pointer version {live.pointer_version}")
    click.echo(f"  {live.action} by {live.promoted_by} (event {live.seq})" + (f": {live.reason}" if live.reason else ""))
    if not live.verified:
        warn("it went live by break-glass, unverified")
    if live.evidence:
        table(["evidence", "kind", "source", "run at", "pass rate"],
              [[str(e["seq"]), e["kind"], e["source"], e["run_at"], str(e["figures"].get("pass_rate", "—"))] for e in live.evidence])


def _print_request(result: Any) -> None:
    stamp = result.stamp
    click.echo(f"request {stamp.request_id} (found in {stamp.where})")
    click.echo(click.style(f"  served by {stamp.name}@{stamp.version}", bold=True) + f" ({stamp.digest}) in {stamp.env}")
    for kind, digest in result.components.items():
        click.echo(f"    {kind:<11} {short(digest)}")
    if result.live is not None:
        _print_live(result.live)
    if result.consistent:
        ok("the stamp agrees with the log: that digest was live there at that time")
    else:
        warn(f"the stamp DISAGREES with the log: {result.problem}")
