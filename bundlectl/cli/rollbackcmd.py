"""`rollback`: whole bundle or single components, dry runs, break-glass and rehearsals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bundlectl.cli.context import actor_for, storage_for
from bundlectl.cli.main import json_option, registry_option, writer_options
from bundlectl.cli.output import emit_json, ok, short, warn
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
             registry: str | None, actor: str | None, reason: str | None, dry_run: bool, as_json: bool) -> None:
    """Point ENV back at the bundle live before (or --to REF), or swap single components back."""
    from bundlectl.promotion import GateRefused
    from bundlectl.refs import resolve_registered
    from bundlectl.rollback import rehearse as do_rehearse
    from bundlectl.rollback import rollback as do_rollback

    storage = storage_for(registry)
    to = resolve_registered(to_ref, Path.cwd(), storage) if to_ref else None
    who = actor_for(actor)
    if rehearse:
        if dry_run:
            raise click.UsageError("--rehearse cannot be combined with --dry-run")
        back, forward, evidence = do_rehearse(storage, name, env, who, reason, to, list(components), break_glass)
        if as_json:
            emit_json({"rehearsed": True, "name": name, "env": env, "back_to": back.plan.target.version,
                       "forward_to": forward.plan.target.version, "evidence_seq": evidence.seq})
        else:
            ok(f"rehearsed in {env}: rolled back to {back.plan.target.version}, then forward to {forward.plan.target.version}")
            ok(f"recorded a rehearsal for {name}@{forward.plan.target.version} ({short(forward.plan.target.digest)})")
        return
    try:
        result = do_rollback(storage, name, env, who, reason, to, list(components), break_glass, dry_run)
    except GateRefused as refused:
        from bundlectl.cli.promotion import print_gate

        if as_json:
            emit_json({"rolled_back": False, "gate": refused.result.to_json()})
        else:
            print_gate(refused.result)
            warn("no passing evidence for this exact bundle: add some, or use --break-glass --reason TEXT")
        raise
    _print(result, storage, as_json)


def _print(result: Any, storage: Any, as_json: bool) -> None:
    plan, move = result.plan, result.move
    target = plan.target
    document = {
        "name": plan.live.name, "env": plan.env, "dry_run": move.dry_run, "changed": move.seq is not None,
        "from": {"version": plan.live.version, "digest": plan.live.digest},
        "to": {"version": target.version, "digest": target.digest, "new": plan.new_record is not None},
        "components": plan.components, "components_from": {"version": plan.source.version, "digest": plan.source.digest},
        "verified": result.verified, "break_glass": result.break_glass, "stale_evidence": plan.stale,
        "pointer_version": move.pointer_version, "seq": move.seq, "would_be_refused": result.would_refuse,
        "gate": result.gate.to_json() if result.gate else None,
    }
    diff = _diff(plan, storage) if move.dry_run else None
    if as_json:
        if diff is not None:
            document["diff"] = diff.to_json()
        emit_json(document)
        if result.would_refuse:
            raise SystemExit(1)
        return
    if plan.components:
        built = "would build" if move.dry_run else ("built and registered" if plan.new_record else "reuses")
        ok(f"{built} {target.name}@{target.version} ({short(target.digest)}): {plan.live.version} with "
           f"{', '.join(plan.components)} from {plan.source.version}")
    if diff is not None:
        from bundlectl.cli.diffcmd import render_diff

        render_diff(diff)
        click.echo()
        if result.would_refuse:
            from bundlectl.cli.promotion import print_gate

            print_gate(result.gate)
            warn("this would be refused: no passing evidence for this exact bundle; add some, or use --break-glass --reason TEXT")
        ok(f"would roll back {plan.env}: {plan.live.version} → {target.version} (dry run: nothing changed)")
        if result.would_refuse:
            raise SystemExit(1)
    else:
        state = "" if result.verified else click.style(" — UNVERIFIED (break-glass): `status --check` fails until fresh evidence for this digest is added", fg="red")
        ok(f"rolled back {plan.live.name} in {plan.env}: {plan.live.version} → {target.version}, pointer version {move.pointer_version}{state}")
    for line in plan.stale if not plan.components else []:
        warn(f"evidence of {target.version} under {plan.env}'s eval gate: {line}")


def _diff(plan: Any, storage: Any) -> Any:
    from bundlectl.diff.bundles import diff_bundles
    from bundlectl.refs import registry_source

    live = registry_source(plan.live.record(), storage, f"{plan.live.name}@{plan.live.version}")
    target = registry_source(plan.target.record(), storage, f"{plan.target.name}@{plan.target.version}")
    return diff_bundles(live, target)
