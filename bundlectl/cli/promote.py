"""`promote`: move an environment to a bundle, only through the gate."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bundlectl import api
from bundlectl.cli.gate import print_gate
from bundlectl.cli.options import complete_env, complete_ref, json_option, registry_option, writer_options
from bundlectl.cli.output import emit_json, ok, short

if TYPE_CHECKING:
    from bundlectl.moves import MoveResult


@click.command()
@click.argument("ref", shell_complete=complete_ref)
@click.option("--env", required=True, shell_complete=complete_env)
@registry_option
@writer_options
@json_option
def promote(ref: str, env: str, registry: str | None, endpoint_url: str | None, actor: str | None, key: tuple[str, ...],
            reason: str | None, dry_run: bool, as_json: bool) -> None:
    """Move ENV to REF, only if the gate passes."""
    from bundlectl.gate.result import GateRefused

    try:
        result = api.promote(ref, env, registry=registry, endpoint_url=endpoint_url, actor=actor, key=key, reason=reason,
                             dry_run=dry_run)
    except GateRefused as refused:
        if not as_json:  # with --json, the error document carries the gate (cli/main.py)
            print_gate(refused.result)
        raise
    print_move(result, "promoted", as_json)


def print_move(result: MoveResult, verb: str, as_json: bool) -> None:
    before = result.from_pointer
    if as_json:
        emit_json({"name": result.name, "env": result.env, "changed": result.seq is not None, "dry_run": result.dry_run,
                   "from_digest": before.digest if before else None, "to_digest": result.to.digest,
                   "version": result.to.version, "pointer_version": result.pointer_version, "seq": result.seq,
                   "gate": result.gate.to_json() if result.gate else None})
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
