"""`trust set` and `trust show`: who may do what, proven by SSH signatures (docs/design.md: Signed records)."""

from __future__ import annotations

import click

from bundlectl import api
from bundlectl.cli.options import WholeSummaries, act_value, dry_run_option, json_option, key_option, reason_option, registry_option
from bundlectl.cli.output import emit_json, ok, short, table


@click.group(cls=WholeSummaries)
def trust() -> None:
    """Roles and SSH keys: who may register, approve, run evals, promote each environment, and change the rules."""


@trust.command("set")
@click.argument("file", type=click.Path(dir_okay=False))
@registry_option
@dry_run_option
@reason_option
@key_option
@act_value
def trust_set(file: str, registry: api.Registry, act: api.Act) -> None:
    """Store the trust file FILE, signed by a threshold of admins (the first time: of its own admins)."""
    result = api.set_trust(file, registry=registry, act=act)
    if act.dry_run:
        ok(f"{file} is a valid trust file ({short(result.digest)}), and {result.signers} may sign it; dry run: nothing stored")
    elif result.created:
        ok(f"trust {short(result.digest)} is now in force (event {result.seq}, signed by {result.signers})")
        ok("from here on every change to this registry must be signed (--key or BUNDLECTL_SIGNING_KEY)")
    else:
        ok("this trust file is already in force; nothing to do")


@trust.command("show")
@registry_option
@json_option
def trust_show(registry: api.Registry, as_json: bool) -> None:
    """The trust in force: each role, its principals and their key fingerprints."""
    view = api.show_trust(registry=registry)
    if as_json:
        emit_json(view.to_json())
        return
    click.echo(f"trust {view.digest} in force since event {view.trust.seq} (every record since event {view.since} is signed)")
    click.echo(f"root (the first trust file, for `verify --trust-root`): {view.root}")
    rows = []
    for role in view.trust.roles():
        name = role.name + (f" ({role.threshold} to sign)" if role.threshold > 1 else "")
        rows += [[name, signer.principal, signer.key.type, signer.key.fingerprint] for signer in role.signers] or [[name, "—", "", ""]]
    table(["role", "principal", "type", "fingerprint"], rows)
