"""Entry point: the command group, which loads only the command it runs, and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NamedTuple

import click

from bundlectl import __version__
from bundlectl.errors import BundlectlError, ExitCode, InvalidInput


class Entry(NamedTuple):
    where: str  # "module:attribute" of the click command
    help: str  # the command's docstring, first paragraph: what `bundlectl --help` lists without importing it


COMMANDS: dict[str, Entry] = {
    "init": Entry("bundlectl.cli.registry:init",
                  "Create the registry (git by default: refs/bundlectl/ in the repository around you)."),
    "registry": Entry("bundlectl.cli.registry:registry_group", "The registry itself: copy it between backends."),
    "new": Entry("bundlectl.cli.bundles:new",
                 "Scaffold bundles/NAME with all eight components and working placeholder files."),
    "validate": Entry("bundlectl.cli.bundles:validate",
                      "Check bundle folders: schema, pinning, paths, and the content of each component file."),
    "register": Entry("bundlectl.cli.bundles:register", "Freeze a bundle folder into the registry; prints its ref and digest."),
    "list": Entry("bundlectl.cli.bundles:list_cmd", "Registered bundles, oldest first."),
    "show": Entry("bundlectl.cli.bundles:show",
                  "One bundle with its component digests (REF: NAME@VERSION, NAME@sha256:…, folder, git:REV:PATH)."),
    "export": Entry("bundlectl.cli.bundles:export_cmd",
                    "Write a registered bundle out as a folder (bundle.yaml and files); it re-validates to the same digest."),
    "diff": Entry("bundlectl.cli.diff:diff", "Which components changed between two bundles, and what that means."),
    "evidence": Entry("bundlectl.cli.evidence:evidence",
                      "Reports bound to a bundle digest: eval runs, load tests, cost measurements, rehearsals."),
    "eval": Entry("bundlectl.cli.eval:eval_cmd",
                  "Run COMMAND on REF's exact files and bind the report it writes: `bundlectl eval REF -- COMMAND…`."),
    "evals": Entry("bundlectl.cli.evals:evals", "The eval suite: write the case list of a suite that is not promptfoo."),
    "policy": Entry("bundlectl.cli.policy:policy", "The gate policy: which evidence each environment requires."),
    "approve": Entry("bundlectl.cli.gate:approve", "Record your approval of REF for ENV."),
    "gate": Entry("bundlectl.cli.gate:gate", "Explain, check by check, whether REF may be promoted to ENV; exit 1 if not."),
    "promote": Entry("bundlectl.cli.promote:promote",
                     "Move ENV to REF, only if the gate passes; with --canary PERCENT, serve it beside what is live."),
    "rollback": Entry("bundlectl.cli.rollback:rollback",
                      "Point ENV back at the bundle live before (or --to REF), or swap single components back; "
                      "during a canary, end it."),
    "pause": Entry("bundlectl.cli.pause:pause",
                   "Kill switch: runtimes serving NAME in ENV raise Paused (and take their fallback path) until `resume`."),
    "resume": Entry("bundlectl.cli.pause:resume", "End a pause: runtimes serve NAME's live bundle in ENV again at their next poll."),
    "status": Entry("bundlectl.cli.status:status",
                    "What is live in each environment, since when, by whom, and how fresh its evidence is."),
    "history": Entry("bundlectl.cli.status:history",
                     "Promotions, rollbacks, pauses, resumes and canaries of NAME in ENV, newest first."),
    "guard": Entry("bundlectl.cli.guard:guard",
                   "Judge the canary (or the live bundle) from recorded outcomes: hold, advance, complete or rollback."),
    "audit": Entry("bundlectl.cli.audit:audit", "`audit --at TIME --env ENV NAME`, or `audit --request-id ID --log FILE…`."),
    "verify": Entry("bundlectl.cli.verify:verify",
                    "Re-check every digest, the log chain, and that pointers agree with the log (exit 5 if not)."),
    "schemas": Entry("bundlectl.cli.schemas:schemas", "JSON Schemas of the file formats."),
}


class BundlectlGroup(click.Group):
    """Imports a command's module only when that command runs (start-up is a cost every call pays), and maps
    library errors to one or two lines and their exit code, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attribute = entry.where.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing click would print, from the table: `--help` imports no command module."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, click.Command(name, help=COMMANDS[name].help).get_short_help_str(limit))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BundlectlError as exc:
            _report(exc)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt, BrokenPipeError):
            raise
        except Exception as exc:  # a bug: say so in one line; the traceback is there for those who ask
            if os.environ.get("BUNDLECTL_DEBUG"):
                raise
            click.echo(f"error: internal error ({type(exc).__name__}: {exc}); this is a bug in bundlectl", err=True)
            click.echo("hint: rerun with BUNDLECTL_DEBUG=1 for the traceback and report it", err=True)
            ctx.exit(ExitCode.BUG)


@click.group(cls=BundlectlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bundlectl")
def cli() -> None:
    """Version, diff, gate, promote and roll back release bundles of AI features."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; usage errors exit 2 (click's convention, and DESIGN §4's)."""
    try:
        cli.main(args=argv, prog_name="bundlectl")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(ExitCode.OK)


def _report(exc: BundlectlError) -> None:
    if isinstance(exc, InvalidInput):
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
    else:
        click.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"hint: {exc.hint}", err=True)
