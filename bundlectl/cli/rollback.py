"""`rollback`: whole bundle or single components, dry runs, break-glass and rehearsals."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bundlectl import api
from bundlectl.bundle.manifest import KINDS
from bundlectl.cli.options import complete_env, complete_name, complete_ref, json_option, registry_option, writer_options
from bundlectl.cli.output import emit_json, ok, refused, short, warn
from bundlectl.errors import ExitCode

if TYPE_CHECKING:
    from bundlectl.workflows.rollback import BuiltRollback, RollbackPlan, RollbackReport


@click.command()
@click.argument("name", shell_complete=complete_name)
@click.option("--env", required=True, shell_complete=complete_env, help="The environment to roll back (e.g. production).")
@click.option("--to", "to_ref", default=None, shell_complete=complete_ref, help="Roll back to this bundle (it must have been live in ENV before).")
@click.option(
    "--component",
    "components",
    multiple=True,
    type=click.Choice(KINDS),
    help="Roll back only this component (repeatable); the others stay as they are.",
)
@click.option("--break-glass", is_flag=True, help="Go live without passing evidence, marked unverified (needs --reason).")
@click.option("--rehearse", is_flag=True, help="Roll back and forward again here, and record a rehearsal (not in production).")
@click.option(
    "--register-only",
    is_flag=True,
    help="With --component: build and register the rollback's bundle, move nothing; add evidence for it, then roll back.",
)
@click.option(
    "--as-owner",
    is_flag=True,
    help="As the bundle's owner, on the authority of consecutive out-of-tolerance reviews (`bundlectl review`), without a promoter role.",
)
@registry_option
@writer_options
@json_option
def rollback(
    name: str,
    env: str,
    to_ref: str | None,
    components: tuple[str, ...],
    break_glass: bool,
    rehearse: bool,
    register_only: bool,
    as_owner: bool,
    registry: api.Registry,
    act: api.Act,
    as_json: bool,
) -> None:
    """Point ENV back at the bundle live before (or --to REF), or swap single components back; during a canary, end it."""
    from bundlectl.gate.result import GateRefused

    if register_only:
        if break_glass or rehearse:
            raise click.UsageError("--register-only moves nothing: it cannot be combined with --break-glass or --rehearse")
        built = api.build_rollback(name, env, list(components), to=to_ref, registry=registry, act=act)
        _print_built(built, as_json)
        return

    if rehearse:
        if act.dry_run:
            raise click.UsageError("--rehearse cannot be combined with --dry-run")
        rehearsal = api.rehearse(name, env, to=to_ref, components=list(components), break_glass=break_glass, registry=registry, act=act)
        back, forward = rehearsal.back.plan.target, rehearsal.forward.plan.target
        if as_json:
            emit_json(rehearsal.to_json())
        else:
            ok(f"rehearsed in {env}: rolled back to {back.version}, then forward to {forward.version}")
            ok(f"recorded a rehearsal for {name}@{forward.version} ({short(forward.digest)})")
        return
    try:
        report = api.rollback(
            name, env, to=to_ref, components=list(components), break_glass=break_glass, as_owner=as_owner, registry=registry, act=act
        )
    except GateRefused as gate_refused:
        from bundlectl.cli.gate import print_gate

        if not as_json:  # with --json, the error document carries the gate (cli/main.py)
            print_gate(gate_refused.result)
            for line in api.rollback_advice(gate_refused.result, list(components), to_ref):
                warn(line)
        raise
    from bundlectl.workflows.canary import CanaryResult

    if isinstance(report, CanaryResult):
        from bundlectl.cli.promote import print_canary

        print_canary(report, as_json)
        return
    _print(report, as_json)


def _print(report: RollbackReport, as_json: bool) -> None:
    result, diff = report.result, report.diff
    plan, move = result.plan, result.move
    assert move is not None  # rollback() always returns its move; RollbackResult's type is looser than that
    target = plan.target
    if as_json:
        emit_json(report.to_json())
        if result.would_refuse:
            raise SystemExit(ExitCode.REFUSED)
        return
    if plan.components:
        built = "would build" if move.dry_run else ("built and registered" if plan.new_record else "reuses")
        ok(
            f"{built} {target.name}@{target.version} ({short(target.digest)}): {plan.live.version} with "
            f"{', '.join(plan.components)} from {plan.source.version}"
        )
    if diff is not None:
        from bundlectl.cli.diff import render_diff

        render_diff(diff)
        click.echo()
        if result.gate is not None and not result.gate.passed:
            from bundlectl.cli.gate import print_gate

            print_gate(result.gate)
        if result.would_refuse:
            assert result.gate is not None
            failed = ", ".join(c.name for c in result.gate.failures())
            refused(f"would be refused: {target.name}@{target.version} fails {failed} in {plan.env} (dry run: nothing changed)")
            for step in api.rollback_advice(result.gate, plan.components, f"{plan.source.name}@{plan.source.version}"):
                click.echo(f"  {step}", err=True)
            raise SystemExit(ExitCode.REFUSED)
        unverified = " UNVERIFIED, by break-glass" if result.break_glass else ""
        ok(f"would roll back {plan.env}: {plan.live.version} → {target.version}{unverified} (dry run: nothing changed)")
    else:
        warning = f" — UNVERIFIED (break-glass): {api.break_glass_standing(result.gate)}"
        state = "" if result.verified else click.style(warning, fg="red")
        ok(f"rolled back {plan.live.name} in {plan.env}: {plan.live.version} → {target.version}, pointer version {move.pointer_version}{state}")
    for line in plan.stale if not plan.components else []:
        warn(f"evidence of {target.version} under {plan.env}'s eval gate: {line}")


def _evidence_first(plan: RollbackPlan, version: str) -> list[str]:
    """The way to a gated component rollback: register its bundle, add evidence for it, then roll back."""
    name = plan.live.name
    command = f"bundlectl rollback {name} --env {plan.env} {' '.join(f'--component {k}' for k in plan.components)} --to {name}@{plan.source.version}"
    return [
        f"to add evidence first: {command} --register-only",
        f"then: bundlectl eval {name}@{version} -- COMMAND…  (or: bundlectl evidence add {name}@{version} FILE)",
        f"then: {command}",
        "or go live unverified now: add --break-glass --reason TEXT",
    ]


def _print_built(built: BuiltRollback, as_json: bool) -> None:
    plan, registered = built.plan, built.registered
    target = plan.target
    if as_json:
        emit_json(built.to_json())
        return
    mix = f"{plan.live.version} with {', '.join(plan.components)} from {plan.source.version}"
    if registered is None:
        ok(f"{target.name}@{target.version} ({short(target.digest)}) is registered already: {mix}; nothing written")
    elif registered.dry_run:
        ok(f"would register {target.name}@{target.version} ({short(target.digest)}): {mix} (dry run: nothing written)")
    else:
        ok(f"registered {target.name}@{target.version} ({short(target.digest)}): {mix}; {plan.env} did not move")
    for step in _evidence_first(plan, target.version)[1:3]:
        click.echo(f"  {step.replace('then: ', 'next: ', 1)}")
