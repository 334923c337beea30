"""`webhooks set|show|deliver|log|enable`: subscriptions logged like the policy, and the outbox worked through."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bundlectl import api
from bundlectl.cli.options import json_option, registry_option, writer_options
from bundlectl.cli.output import emit_json, ok, short, table, warn

if TYPE_CHECKING:
    from bundlectl.webhooks.deliver import DeliveryPass


@click.group()
def webhooks() -> None:
    """Signed webhooks for every logged act and guard decision (Standard Webhooks, CloudEvents, Slack)."""


@webhooks.command("set")
@click.argument("file", type=click.Path(dir_okay=False))
@registry_option
@writer_options
def webhooks_set(file: str, registry: api.Registry, act: api.Act) -> None:
    """Store new subscriptions (a logged, versioned event; once trust is set, signed by a threshold of admins)."""
    result = api.set_webhooks(file, registry=registry, act=act)
    names = ", ".join(result.subscriptions.endpoints) or "no endpoint"
    if act.dry_run:
        ok(f"{file} is a valid webhooks file ({names}); dry run: nothing stored")
    elif result.created:
        ok(f"webhooks {short(result.digest)} are now in force for {names} (event {result.seq})")
    else:
        ok("these webhooks are already in force; nothing to do")


@webhooks.command("show")
@registry_option
@json_option
def webhooks_show(registry: api.Registry, as_json: bool) -> None:
    """Print the subscriptions in force: URLs, event types, formats, and where each secret is read (never a secret)."""
    subscriptions = api.show_webhooks(registry=registry)
    if as_json:
        emit_json(subscriptions.to_json())
        return
    click.echo(f"# webhooks in force since event {subscriptions.seq}")
    table(
        ["ENDPOINT", "FORMAT", "EVENTS", "URL", "SECRET", "SINCE"],
        [
            [s.name, s.format, ",".join(s.events), s.shown_url(), s.secret.describe() if s.secret else "-", str(s.since)]
            for s in subscriptions.endpoints.values()
        ],
    )


@webhooks.command("deliver")
@click.option("--follow", is_flag=True, help="Keep delivering: new records as they are logged, retries once their backoff ends.")
@click.option("--interval", type=float, default=1.0, show_default=True, help="With --follow: seconds between looks at the log.")
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds one request may take, in all.")
@click.option("--batch", type=int, default=100, show_default=True, help="Records per endpoint per pass.")
@registry_option
@json_option
def webhooks_deliver(follow: bool, interval: float, timeout: float, batch: int, registry: api.Registry, as_json: bool) -> None:
    """Deliver every logged event not yet acknowledged, in log order per endpoint, at least once."""

    def report(done: DeliveryPass) -> None:
        if as_json:
            emit_json(done.to_json())
            return
        for run in done.endpoints:
            state = (
                f"disabled: {run.disabled}"
                if run.disabled
                else f"waiting until {run.waiting_until}"
                if run.waiting_until
                else f"failed: {run.failed}"
                if run.failed
                else "up to date"
                if run.acked_seq >= done.head_seq
                else "behind"
            )
            line = f"{run.endpoint}: {run.delivered} delivered, acknowledged up to event {run.acked_seq} ({state})"
            (warn if run.failed or run.disabled else ok)(line)

    try:
        api.deliver_webhooks(follow=follow, interval=interval, timeout=timeout, batch=batch, registry=registry, on_pass=report)
    except KeyboardInterrupt:
        pass


@webhooks.command("log")
@click.argument("endpoint", required=False)
@registry_option
@json_option
def webhooks_log(endpoint: str | None, registry: api.Registry, as_json: bool) -> None:
    """Each endpoint's delivery state and latest attempts (status, error, duration)."""
    logs = api.webhooks_log(endpoint, registry=registry)
    if as_json:
        emit_json({"endpoints": [entry.to_json() for entry in logs]})
        return
    for entry in logs:
        state = entry.state
        flags = f"; disabled: {state.disabled}" if state.disabled else ""
        flags += f"; {state.failures} failures in a row, next try at {state.retry_at}" if state.failures else ""
        flags += f"; {entry.problem}" if entry.problem else ""
        click.echo(f"{entry.subscription.name}: acknowledged up to event {state.acked_seq}, {max(entry.head_seq - state.acked_seq, 0)} behind{flags}")
        table(
            ["TIME", "EVENT", "TYPE", "BY", "STATUS", "MS", "ERROR"],
            [
                [a.time, str(a.seq) if a.seq is not None else "notice", a.type, a.by, str(a.status or "-"), str(a.ms), a.error or ""]
                for a in state.attempts[-20:]
            ],
        )


@webhooks.command("enable")
@click.argument("endpoint")
@registry_option
def webhooks_enable(endpoint: str, registry: api.Registry) -> None:
    """Deliver to ENDPOINT again after it answered 410 Gone (or now, without waiting for its backoff)."""
    api.enable_webhook(endpoint, registry=registry)
    ok(f"{endpoint} is enabled; `bundlectl webhooks deliver` resumes where it stopped")
