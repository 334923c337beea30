"""`rollback`: whole bundle or single components, dry runs, break-glass and rehearsals."""

from __future__ import annotations

from typing import Any

import click

from bundlectl import api
from bundlectl.cli.options import json_option, registry_option, writer_options
from bundlectl.cli.output import emit_json, ok, short, warn
from bundlectl.errors import ExitCode
from bundlectl.manifest import KINDS


@click.command()
@click.argument("name")
@click.option("--env", required=True)
@click.option("--to", "to_ref", default=None, help="Roll back to this bundle (it must have been live in ENV before).")
@click.option("--component", "components", multiple=True, type=click.Choice(KINDS),
              help="Roll back only this component (repeatable); the others stay as they are.")
@click.option("--break-glass", is_flag=True, help="Go live without passing evidence, marked unverified (needs --reason).")
@click.option("--rehearse", is_flag=True, help="Roll back and forward again here, and record a rehearsal (not in production).")
@registry_option
@writer_options
@json_option
def rollback(name: str, env: str, to_ref: str | None, components: tuple[str, ...], break_glass: bool, rehearse: bool,
             registry: str | None, endpoint_url: str | None, actor: str | None, reason: str | None, dry_run: bool,
             as_json: bool) -> None:
    """Point ENV back at the bundle live before (or --to REF), or swap single components back; during a canary, end it."""
    from bundlectl.gate.result import GateRefused

    if rehearse:
        if dry_run:
            raise click.UsageError("--rehearse cannot be combined with --dry-run")
        rehearsal = api.rehearse(name, env, to=to_ref, components=list(components), break_glass=break_glass,
                                 registry=registry, endpoint_url=endpoint_url, actor=actor, reason=reason)
        back, forward = rehearsal.back.plan.target, rehearsal.forward.plan.target
        if as_json:
            emit_json({"rehearsed": True, "name": name, "env": env, "back_to": back.version,
                       "forward_to": forward.version, "evidence_seq": rehearsal.evidence.seq})
        else:
            ok(f"rehearsed in {env}: rolled back to {back.version}, then forward to {forward.version}")
            ok(f"recorded a rehearsal for {name}@{forward.version} ({short(forward.digest)})")
        return
    try:
        report = api.rollback(name, env, to=to_ref, components=list(components), break_glass=break_glass,
                              registry=registry, endpoint_url=endpoint_url, actor=actor, reason=reason, dry_run=dry_run)
    except GateRefused as refused:
        from bundlectl.cli.gate import print_gate

        if as_json:
            emit_json({"rolled_back": False, "gate": refused.result.to_json()})
        else:
            print_gate(refused.result)
            warn("no passing evidence for this exact bundle: add some, or use --break-glass --reason TEXT")
        raise
    from bundlectl.canary import CanaryResult

    if isinstance(report, CanaryResult):
        from bundlectl.cli.promote import print_canary

        print_canary(report, as_json)
        return
    _print(report, as_json)


def _print(report: api.RollbackReport, as_json: bool) -> None:
    result, diff = report.result, report.diff
    plan, move = result.plan, result.move
    assert move is not None  # rollback() always returns its move; RollbackResult's type is looser than that
    target = plan.target
    document: dict[str, Any] = {
        "name": plan.live.name, "env": plan.env, "dry_run": move.dry_run, "changed": move.seq is not None,
        "from": {"version": plan.live.version, "digest": plan.live.digest},
        "to": {"version": target.version, "digest": target.digest, "new": plan.new_record is not None},
        "components": plan.components, "components_from": {"version": plan.source.version, "digest": plan.source.digest},
        "verified": result.verified, "break_glass": result.break_glass, "stale_evidence": plan.stale,
        "pointer_version": move.pointer_version, "seq": move.seq, "would_be_refused": result.would_refuse,
        "gate": result.gate.to_json() if result.gate else None,
    }
    if as_json:
        if diff is not None:
            document["diff"] = diff.to_json()
        emit_json(document)
        if result.would_refuse:
            raise SystemExit(ExitCode.REFUSED)
        return
    if plan.components:
        built = "would build" if move.dry_run else ("built and registered" if plan.new_record else "reuses")
        ok(f"{built} {target.name}@{target.version} ({short(target.digest)}): {plan.live.version} with "
           f"{', '.join(plan.components)} from {plan.source.version}")
    if diff is not None:
        from bundlectl.cli.diff import render_diff

        render_diff(diff)
        click.echo()
        if result.would_refuse:
            from bundlectl.cli.gate import print_gate

            assert result.gate is not None  # a dry run is refused only by a failing gate
            print_gate(result.gate)
            warn("this would be refused: no passing evidence for this exact bundle; add some, or use --break-glass --reason TEXT")
        ok(f"would roll back {plan.env}: {plan.live.version} → {target.version} (dry run: nothing changed)")
        if result.would_refuse:
            raise SystemExit(ExitCode.REFUSED)
    else:
        warning = " — UNVERIFIED (break-glass): `status --check` fails until fresh evidence for this digest is added"
        state = "" if result.verified else click.style(warning, fg="red")
        ok(f"rolled back {plan.live.name} in {plan.env}: {plan.live.version} → {target.version}, pointer version {move.pointer_version}{state}")
    for line in plan.stale if not plan.components else []:
        warn(f"evidence of {target.version} under {plan.env}'s eval gate: {line}")
