"""`promote`: move an environment to a bundle, only through the gate; or start a canary of it (`--canary PERCENT`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bundlectl import api
from bundlectl.cli.gate import print_gate
from bundlectl.cli.options import complete_env, complete_ref, json_option, registry_option, writer_options
from bundlectl.cli.output import emit_json, ok, short

if TYPE_CHECKING:
    from bundlectl.workflows.canary import CanaryResult
    from bundlectl.workflows.moves import MoveResult


def _steps(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    if value is None:
        return None
    try:
        return [int(part) for part in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of percentages, e.g. 5,25,50,100") from None


@click.command()
@click.argument("ref", shell_complete=complete_ref)
@click.option("--env", required=True, shell_complete=complete_env, help="The environment to move, as the policy names it (e.g. staging).")
@click.option(
    "--canary",
    "canary",
    type=int,
    default=None,
    metavar="PERCENT",
    help="Serve REF beside what is live to this share of routed requests (a canary), instead of moving ENV.",
)
@click.option(
    "--steps",
    callback=_steps,
    default=None,
    metavar="P,P,…,100",
    help="With --canary: the shares `bundlectl guard` moves it through (default: PERCENT,100).",
)
@click.option("--step-time", default=None, metavar="DURATION", help="With --canary: how long each step lasts at least (default 1h).")
@click.option("--notify", is_flag=True, help="If the gate refuses, tell the webhooks subscribed to promotion.refused.")
@registry_option
@writer_options
@json_option
def promote(
    ref: str,
    env: str,
    canary: int | None,
    steps: list[int] | None,
    step_time: str | None,
    notify: bool,
    registry: api.Registry,
    act: api.Act,
    as_json: bool,
) -> None:
    """Move ENV to REF, only if the gate passes; with --canary PERCENT, serve it beside what is live."""
    from bundlectl.gate.result import GateRefused

    if canary is None and (steps is not None or step_time is not None):
        raise click.UsageError("--steps and --step-time go with --canary PERCENT")
    try:
        if canary is not None:
            started = api.canary(ref, env, canary, steps=steps, step_time=step_time, registry=registry, act=act)
            print_canary(started, as_json)
            return
        result = api.promote(ref, env, registry=registry, act=act, notify=notify)
    except GateRefused as refused:
        if not as_json:  # with --json, the error document carries the gate (cli/main.py)
            print_gate(refused.result)
        raise
    print_move(result, "promoted", as_json)


def print_move(result: MoveResult, verb: str, as_json: bool) -> None:
    before = result.from_pointer
    if as_json:
        emit_json(result.to_json())
        return
    if result.already_live:
        ok(f"{result.name}@{result.to.version} is already live in {result.env}; nothing to do")
        return
    if result.gate is not None:
        print_gate(result.gate)
    origin = f"{before.version} ({short(before.digest)})" if before else "nothing"
    target = f"{result.to.version} ({short(result.to.digest)})"
    if result.dry_run:
        ok(f"would move {result.env} of {result.name}: {origin} → {target} (dry run: nothing changed)")
    else:
        ok(f"{verb} {result.name} in {result.env}: {origin} → {target}, pointer version {result.pointer_version}")


def print_canary(result: CanaryResult, as_json: bool) -> None:
    if as_json:
        emit_json(result.to_json())
        return
    where = f"{result.name} in {result.env}"
    candidate = f"{result.version} ({short(result.digest)})"
    live = f"{result.live.version} ({short(result.live.digest)})"
    if result.gate is not None:
        print_gate(result.gate)
    if result.action == "canary-rollback":
        done = "would end" if result.dry_run else "ended"
        ok(f"{done} the canary of {candidate} in {result.env}: {live} stays live" + (" (dry run: nothing changed)" if result.dry_run else ""))
    elif not result.changed and not result.dry_run:
        ok(f"{candidate} is already the canary of {where} at {result.percent}%; nothing to do")
    elif result.dry_run:
        ok(f"would start a canary of {candidate} in {result.env} at {result.percent}% beside {live} (dry run: nothing changed)")
    else:
        verb = "advanced" if result.action == "canary-advance" else "started"
        ok(
            f"{verb} a canary of {candidate} in {result.env}: {result.percent}% of routed requests, {live} serves the rest; "
            f"`bundlectl guard {result.name} --env {result.env} …` judges it"
        )
