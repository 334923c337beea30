"""`pause` / `resume`: the kill switch of one environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from bundlectl import api
from bundlectl.cli.options import act_value, actor_option, complete_env, dry_run_option, json_option, key_option, registry_option, writer_options
from bundlectl.cli.output import emit_json, identity, ok

if TYPE_CHECKING:
    from bundlectl.workflows.pause import PauseResult


@click.command()
@click.argument("name")
@click.option("--env", required=True, shell_complete=complete_env, help="The environment to pause.")
@registry_option
@dry_run_option
@click.option("--reason", required=True, help="Why; recorded in the event log and carried by every `Paused` a runtime raises.")
@click.option(
    "--as-owner",
    is_flag=True,
    help="As the bundle's owner, on the authority of consecutive out-of-tolerance reviews (`bundlectl review`), without a promoter role.",
)
@actor_option()
@key_option
@json_option
@act_value
def pause(name: str, env: str, registry: api.Registry, as_owner: bool, act: api.Act, as_json: bool) -> None:
    """Kill switch: runtimes serving NAME in ENV raise Paused (and take their fallback path) until `resume`."""
    result = api.pause(name, env, as_owner=as_owner, registry=registry, act=act)
    print_pause(result, as_json)


@click.command()
@click.argument("name")
@click.option("--env", required=True, shell_complete=complete_env, help="The environment to resume.")
@registry_option
@writer_options
@json_option
def resume(name: str, env: str, registry: api.Registry, act: api.Act, as_json: bool) -> None:
    """End a pause: runtimes serve NAME's live bundle in ENV again at their next poll."""
    result = api.resume(name, env, registry=registry, act=act)
    print_pause(result, as_json)


def print_pause(result: PauseResult, as_json: bool) -> None:
    live, before = result.live, result.before
    if as_json:
        emit_json(result.to_json())
        return
    where = f"{result.name} in {result.env}"
    if result.already:
        if result.paused and before is not None:
            ok(f"{where} is already paused (by {identity(before.actor, before.signed)} at {before.time}: {before.reason}); nothing to do")
        else:
            ok(f"{where} is not paused; nothing to do")
    elif result.dry_run:
        ok(f"would {'pause' if result.paused else 'resume'} {where} (dry run: nothing changed)")
    elif result.paused:
        ok(
            f"paused {where}: runtimes raise Paused at their next poll ({live.version} stays live; "
            f"`bundlectl resume {result.name} --env {result.env}` ends it)"
        )
    else:
        ok(f"resumed {where}: runtimes serve {live.version} again at their next poll")
