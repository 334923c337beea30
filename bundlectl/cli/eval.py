"""`eval`: run a harness on a bundle's exact files and bind the report it writes, with measured provenance."""

from __future__ import annotations

import codecs
from pathlib import Path

import click

from bundlectl import api
from bundlectl.cli.evidence import bound_line
from bundlectl.cli.options import act_value, actor_option, complete_ref, json_option, key_option, reason_option, registry_option
from bundlectl.cli.output import emit_json, ok


@click.command("eval", context_settings={"ignore_unknown_options": True})
@click.argument("ref", shell_complete=complete_ref)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--report",
    metavar="FILE",
    default=None,
    help="Where COMMAND writes its report, relative to the bundle folder it runs in (default: promptfoo's -o/--output, pytest's --junitxml).",
)
@click.option("--format", "fmt", type=click.Choice(["auto", "promptfoo", "junit", "native"]), default="auto", show_default=True)
@click.option("--keep", is_flag=True, help="Keep the exported bundle folder the command ran in (its path is printed).")
@registry_option
@actor_option()
@key_option
@reason_option
@json_option
@click.pass_context
@act_value
def eval_cmd(
    ctx: click.Context,
    ref: str,
    command: tuple[str, ...],
    report: str | None,
    fmt: str,
    keep: bool,
    registry: api.Registry,
    act: api.Act,
    as_json: bool,
) -> None:
    """Run COMMAND on REF's exact files and bind the report it writes: `bundlectl eval REF [-- COMMAND…]`.

    Without COMMAND, the harness REF declares (components.evals.harness) runs. The bundle is exported to
    a fresh folder and the command runs there, with BUNDLECTL_BUNDLE_DIR and BUNDLECTL_BUNDLE_DIGEST set;
    bundlectl measures the run (command, executable and its sha256, exit status, start and end, host) and
    records the evidence as `run`. Under an eval gate with `provenance: run` only runs of exactly the
    declared harness count. Exits with the command's status once the report is bound.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a chunk may end inside a character

    def output(chunk: bytes) -> None:
        # through click's (escaping) text streams: with --json stdout holds only the JSON document
        click.echo(decoder.decode(chunk), nl=False, err=as_json)

    if command[:1] == ("--",):  # a second separator, or one click left in place
        command = command[1:]
    result = api.eval_run(ref, list(command), report, fmt, keep=keep, output=output, registry=registry, act=act)
    added = result.added
    if as_json:
        emit_json(result.to_json())
    else:
        ok(bound_line(added) + f"; {Path(result.command[0]).name} exited {result.exit_status}")
        if result.folder:
            click.echo(f"the bundle it ran is kept in {result.folder}")
    ctx.exit(result.exit_status)
