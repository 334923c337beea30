"""`drift` (re-run the live bundle's harness and judge it against the run that admitted it) and `review` (the owner's)."""

from __future__ import annotations

import codecs

import click

from bundlectl import api
from bundlectl.cli.options import act_value, actor_option, complete_env, complete_name, json_option, key_option, reason_option, registry_option
from bundlectl.cli.output import emit_json, ok, warn
from bundlectl.errors import ExitCode


@click.command()
@click.argument("name", shell_complete=complete_name)
@click.option(
    "--env",
    required=True,
    shell_complete=complete_env,
    help="The environment whose live bundle is re-run and compared with the run that admitted it.",
)
@click.option(
    "--apply",
    is_flag=True,
    help="Store the run as evidence and the finding in the log; on drift, do what the policy's drift.action says (notify, pause, rollback).",
)
@click.option(
    "--report",
    metavar="FILE",
    default=None,
    help="Where the declared harness writes its report, when bundlectl cannot tell (as for `bundlectl eval`).",
)
@registry_option
@actor_option()
@key_option
@reason_option
@json_option
@act_value
def drift(
    name: str,
    env: str,
    apply: bool,
    report: str | None,
    registry: api.Registry,
    act: api.Act,
    as_json: bool,
) -> None:
    """Re-run the live bundle's harness and compare it case by case with the run that admitted it; exit 1 on drift."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a chunk may end inside a character

    def output(chunk: bytes) -> None:
        # through click's (escaping) text streams: with --json stdout holds only the JSON document
        click.echo(decoder.decode(chunk), nl=False, err=as_json)

    result = api.drift(name, env, apply=apply, report=report, output=output, registry=registry, act=act)
    if as_json:
        emit_json(result.to_json())
    else:
        overall = result.comparison.overall
        click.echo(
            f"{name}@{result.version} in {env}: {overall.cases} cases against admitting run {result.baseline}: "
            f"{overall.broke} broke, {overall.fixed} fixed (McNemar exact p = {overall.p_value:.3g})"
        )
        for paired in result.comparison.slices:
            click.echo(f"  slice {paired.slice}: {paired.cases} cases, {paired.broke} broke, {paired.fixed} fixed (p = {paired.p_value:.3g})")
        for flip in result.comparison.flips:
            click.echo(f"  {flip.direction}: {flip.case}" + (f" (prompt {flip.variant})" if flip.variant else "") + f" [{flip.slice}]")
        metric = result.decision.metric
        if metric is not None:
            shown = "not measured by the harness" if metric.value is None else f"{metric.value:g}"
            click.echo(f"  owner's metric {metric.metric}: {shown} (target {metric.target:g} ± {metric.tolerance:g}, {metric.better} is better)")
        if result.applied:
            ok(
                f"stored run {result.run} and drift record {result.seq}"
                + (f"; {result.action}: record {result.action_seq}" if result.action_seq else f"; action: {result.action}")
            )
        if result.decision.drifted:
            warn(f"drift: {'; '.join(result.decision.reasons)}")
        else:
            ok(f"stable at alpha {result.decision.alpha} ({result.decision.tests} paired test{'s' if result.decision.tests != 1 else ''})")
    if result.decision.drifted:
        raise SystemExit(ExitCode.REFUSED)


@click.command()
@click.argument("name", shell_complete=complete_name)
@click.option("--env", required=True, shell_complete=complete_env, help="The environment whose live bundle's outcome metric is reviewed.")
@click.option("--value", type=float, default=None, help="The value of the owner's metric (metadata.outcome.metric) reviewed.")
@click.option(
    "--from-guard",
    "from_guard",
    metavar="SOURCE",
    default=None,
    help="Read the value from live outcomes: the mean over a request log, as `bundlectl guard` reads it.",
)
@click.option("--note", "reason", default=None, help="What the owner concluded; recorded as the reason.")
@registry_option
@actor_option()
@key_option
@json_option
@act_value
def review(
    name: str,
    env: str,
    value: float | None,
    from_guard: str | None,
    registry: api.Registry,
    act: api.Act,
    as_json: bool,
) -> None:
    """Record the owner's periodic review of NAME's outcome metric in ENV (signed by `metadata.owner` under trust)."""
    result = api.review(name, env, value, from_guard=from_guard, registry=registry, act=act)
    if as_json:
        emit_json(result.to_json())
        return
    outcome = result.outcome
    ok(
        f"review {result.seq}: {outcome['metric']} = {result.value:g} for {name}@{result.version} in {env} is "
        f"{'within' if result.in_tolerance else 'OUTSIDE'} tolerance (target {outcome['target']:g} ± "
        f"{outcome.get('tolerance', 0):g})"
    )
    if result.owner_authority:
        warn(f"the owner {result.owner} may now pull it: `bundlectl pause {name} --env {env} --as-owner --reason TEXT`")
