"""`policy set` and `policy show`: the gate policy, stored as a logged, versioned event."""

from __future__ import annotations

from typing import Any

import click

from bundlectl import api
from bundlectl.cli.options import WholeSummaries, json_option, registry_option, writer_options
from bundlectl.cli.output import emit_json, ok, short


@click.group(cls=WholeSummaries)
def policy() -> None:
    """The gate policy: which evidence each environment requires."""


@policy.command("set")
@click.argument("file", type=click.Path(dir_okay=False))
@registry_option
@writer_options
def policy_set(file: str, registry: api.Registry, act: api.Act) -> None:
    """Store a new gate policy (a logged, versioned event; once trust is set, signed by a threshold of admins)."""
    result = api.set_policy(file, registry=registry, act=act)
    if act.dry_run:
        ok(f"{file} is a valid policy ({', '.join(result.policy['environments'])}); dry run: nothing stored")
    elif result.created:
        ok(f"policy {short(result.digest)} is now in force (event {result.seq})")
    else:
        ok("this policy is already in force; nothing to do")


@policy.command("show")
@registry_option
@json_option
def policy_show(registry: api.Registry, as_json: bool) -> None:
    """Print the policy in force."""
    in_force = api.show_policy(registry=registry)
    if as_json:
        emit_json(in_force.to_json())
        return
    import yaml

    click.echo(f"# policy in force since event {in_force.seq}")
    click.echo(yaml.safe_dump(_without_empty(in_force.policy), sort_keys=False, default_flow_style=None, width=100), nl=False)


def _without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_empty(v) for k, v in value.items() if v not in (None, {}, [], False)}
    return value
