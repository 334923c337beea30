"""Entry point: the command group, which loads only the command it runs, and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from bundlectl import __version__
from bundlectl.errors import BundlectlError, ExitCode, InvalidInput

if TYPE_CHECKING:
    from bundlectl.cli.output import Format

# shown under every command's --help (README: Exit codes); \b keeps click from re-wrapping it
EXIT_CODES = """\b
Exit codes:
  0   done
  1   refused: invalid input, a failed gate or check, a content conflict
  2   usage error (a wrong option or argument)
  3   conflict: someone else moved the pointer first; nothing changed
  4   not found: ref, registry, repository
  5   integrity failure: digest mismatch, broken log chain, tampering
  70  a bug in bundlectl (rerun with BUNDLECTL_DEBUG=1 and report it)
With --json, an error is one JSON document on stdout: {"error": {"exit_code", "kind", "message", "hint", …}}."""


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
                  "Run COMMAND on REF's exact files and bind the report it writes: `bundlectl eval REF [-- COMMAND…]`."),
    "evals": Entry("bundlectl.cli.evals:evals", "The eval suite: write the case list of a suite that is not promptfoo."),
    "policy": Entry("bundlectl.cli.policy:policy", "The gate policy: which evidence each environment requires."),
    "approve": Entry("bundlectl.cli.gate:approve", "Record your approval of REF for ENV."),
    "gate": Entry("bundlectl.cli.gate:gate", "Explain, check by check, whether REF may be promoted to ENV; exit 1 if not."),
    "promote": Entry("bundlectl.cli.promote:promote",
                     "Move ENV to REF, only if the gate passes; with --canary PERCENT, serve it beside what is live."),
    "rollback": Entry("bundlectl.cli.rollback:rollback",
                      "Point ENV back at the bundle live before (or --to REF), or swap single components back; "
                      "during a canary, end it."),
    "serve": Entry("bundlectl.cli.serve:serve",
                   "Serve ENV's live bundles over OpenFeature's remote evaluation protocol (OFREP) to services in any language."),
    "pause": Entry("bundlectl.cli.pause:pause",
                   "Kill switch: runtimes serving NAME in ENV raise Paused (and take their fallback path) until `resume`."),
    "resume": Entry("bundlectl.cli.pause:resume", "End a pause: runtimes serve NAME's live bundle in ENV again at their next poll."),
    "status": Entry("bundlectl.cli.status:status",
                    "What is live in each environment, since when, by whom, and how fresh its evidence is."),
    "history": Entry("bundlectl.cli.status:history",
                     "Promotions, rollbacks, pauses, resumes, canaries, drift runs and reviews of NAME in ENV, newest first."),
    "guard": Entry("bundlectl.cli.guard:guard",
                   "Judge the canary (or the live bundle) from recorded outcomes: hold, advance, complete or rollback."),
    "drift": Entry("bundlectl.cli.drift:drift",
                   "Re-run the live bundle's harness and compare it case by case with the run that admitted it; exit 1 on drift."),
    "review": Entry("bundlectl.cli.drift:review",
                    "Record the owner's periodic review of NAME's outcome metric in ENV (signed by `metadata.owner` under trust)."),
    "audit": Entry("bundlectl.cli.audit:audit", "`audit --at TIME --env ENV NAME`, or `audit --request-id ID --log FILE…`."),
    "trust": Entry("bundlectl.cli.trust:trust",
                   "Roles and SSH keys: who may register, approve, run evals, promote each environment, and change the rules."),
    "verify": Entry("bundlectl.cli.verify:verify",
                    "Re-check every digest, the log chain, every signature, and that pointers agree with the log (exit 5 if not)."),
    "schemas": Entry("bundlectl.cli.schemas:schemas", "JSON Schemas of the file formats."),
    "completion": Entry("bundlectl.cli.completion:completion", "Print the completion script for SHELL (default: your $SHELL)."),
}


class BundlectlGroup(click.Group):
    """Imports a command's module only when that command runs (start-up is a cost every call pays), and maps
    library errors to one or two lines and their exit code, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Colour, and (once `--help` has had its chance to exit) how errors must be reported: in the output
        format the command line asks for, so even a usage error inside the command is reported in it."""
        if os.environ.get("NO_COLOR"):  # https://no-color.org: present and not empty disables colour, terminal or not
            ctx.color = False
        rest = super().parse_args(ctx, args)
        from bundlectl.cli.output import requested_format

        ctx.meta[FORMAT] = requested_format(args)
        return rest

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attribute = entry.where.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        for each in [command, *getattr(command, "commands", {}).values()]:
            each.epilog = each.epilog or EXIT_CODES
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing click would print, from the table: `--help` imports no command module."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, click.Command(name, help=COMMANDS[name].help).get_short_help_str(limit))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from bundlectl.cli.output import terminal_text

        output: Format = ctx.meta.get(FORMAT, "text")
        if output == "text":  # what a manifest, a log or a file name holds never reaches the terminal raw
            with terminal_text():
                return self._invoke(ctx, output)
        return self._invoke(ctx, output)

    def _invoke(self, ctx: click.Context, output: Format) -> Any:
        from bundlectl.cli.output import emit_error

        try:
            return super().invoke(ctx)
        except BundlectlError as exc:
            _report(exc, output)
            ctx.exit(exc.exit_code)
        except click.ClickException as exc:
            if output == "text":
                raise  # click prints the usage line and the message
            where = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else "bundlectl"
            emit_error(output, exc.exit_code, exc.format_message(), f"see `{where} --help`")
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:  # Ctrl-C: what was in progress cleaned up on the way here; 130 as shells expect
            click.echo("\ninterrupted; nothing half-written was kept", err=True)
            ctx.exit(INTERRUPTED)
        except (click.exceptions.Exit, click.Abort, SystemExit, BrokenPipeError):
            raise
        except Exception as exc:  # a bug: say so in one line; the traceback is there for those who ask
            if os.environ.get("BUNDLECTL_DEBUG"):
                raise
            emit_error(output, ExitCode.BUG, f"internal error ({type(exc).__name__}: {exc}); this is a bug in bundlectl",
                       "rerun with BUNDLECTL_DEBUG=1 for the traceback and report it")
            ctx.exit(ExitCode.BUG)


FORMAT = "bundlectl.format"  # ctx.meta key: "text", "json" or "github", from the command line


@click.group("bundlectl", cls=BundlectlGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="bundlectl")
def cli() -> None:
    """Version, diff, gate, promote and roll back release bundles of AI features."""


INTERRUPTED = 128 + 2  # killed by SIGINT, as a shell reports it
TERMINATED = 128 + 15


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM unwinds like an exception, so the temporary files of a write in progress are removed on the way out."""
    raise SystemExit(TERMINATED)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; usage errors exit 2 (click's convention, and DESIGN §4's)."""
    import signal

    signal.signal(signal.SIGTERM, _terminated)
    try:
        cli.main(args=argv, prog_name="bundlectl")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(ExitCode.OK)


def _report(exc: BundlectlError, output: Format) -> None:
    from bundlectl.cli.output import emit_error

    problems = exc.problems if isinstance(exc, InvalidInput) else []
    message = exc.message if not problems else f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the input"
    emit_error(output, exc.exit_code, message, exc.hint, problems, exc.details())
