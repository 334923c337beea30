"""Entry point: the command group, which loads only the command it runs, and the one place errors become exit codes."""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from bundlectl import __version__
from bundlectl.errors import EXIT_MEANINGS, BundlectlError, ExitCode, InvalidInput

if TYPE_CHECKING:
    from bundlectl.cli.output import Format

# shown under every command's --help (README: Exit codes); \b keeps click from re-wrapping it
EXIT_CODES = (
    "\b\nExit codes:\n"
    + "\n".join(f"  {int(code):<4}{meaning}" for code, meaning in EXIT_MEANINGS.items())
    + """
With --json, an error is one JSON document on stdout: {"error": {"exit_code", "kind", "message", "hint", …}}."""
)


class Entry(NamedTuple):
    where: str  # "module:attribute" of the click command
    help: str  # the command's docstring, first paragraph: what `bundlectl --help` lists without importing it


COMMANDS: dict[str, Entry] = {
    "init": Entry("bundlectl.cli.registry:init", "Create the registry (git by default: refs/bundlectl/ in the repository around you)."),
    "registry": Entry("bundlectl.cli.registry:registry_group", "The registry itself: copy it between backends."),
    "new": Entry("bundlectl.cli.bundles:new", "Scaffold bundles/NAME: all eight components, ready to register and evaluate as they are."),
    "validate": Entry("bundlectl.cli.bundles:validate", "Check bundle folders: schema, pinning, paths, and the content of each component file."),
    "register": Entry("bundlectl.cli.bundles:register", "Freeze a bundle folder into the registry; prints its ref and digest."),
    "list": Entry("bundlectl.cli.bundles:list_cmd", "Registered bundles, oldest first."),
    "show": Entry("bundlectl.cli.bundles:show", "One bundle with its component digests (REF: NAME@VERSION, NAME@sha256:…, folder, git:REV:PATH)."),
    "export": Entry(
        "bundlectl.cli.bundles:export_cmd", "Write a registered bundle out as a folder (bundle.yaml and files); it re-validates to the same digest."
    ),
    "diff": Entry("bundlectl.cli.diff:diff", "Which components changed between two bundles, and what that means."),
    "evidence": Entry("bundlectl.cli.evidence:evidence", "Reports bound to a bundle digest: eval runs, load tests, cost measurements, rehearsals."),
    "eval": Entry(
        "bundlectl.cli.eval:eval_cmd", "Run COMMAND on REF's exact files and bind the report it writes: `bundlectl eval REF [-- COMMAND…]`."
    ),
    "evals": Entry("bundlectl.cli.evals:evals", "The eval suite: write the case list of a suite that is not promptfoo."),
    "policy": Entry("bundlectl.cli.policy:policy", "The gate policy: which evidence each environment requires."),
    "approve": Entry("bundlectl.cli.gate:approve", "Record your approval of REF for ENV."),
    "gate": Entry("bundlectl.cli.gate:gate", "Explain, check by check, whether REF may be promoted to ENV; exit 1 if not."),
    "promote": Entry(
        "bundlectl.cli.promote:promote", "Move ENV to REF, only if the gate passes; with --canary PERCENT, serve it beside what is live."
    ),
    "rollback": Entry(
        "bundlectl.cli.rollback:rollback",
        "Point ENV back at the bundle live before (or --to REF), or swap single components back; during a canary, end it.",
    ),
    "serve": Entry(
        "bundlectl.cli.serve:serve", "Serve NAMES' live bundles in ENV (default: every bundle live there) over OFREP; runs until interrupted."
    ),
    "pause": Entry(
        "bundlectl.cli.pause:pause", "Kill switch: runtimes serving NAME in ENV raise Paused (and take their fallback path) until `resume`."
    ),
    "resume": Entry("bundlectl.cli.pause:resume", "End a pause: runtimes serve NAME's live bundle in ENV again at their next poll."),
    "status": Entry("bundlectl.cli.status:status", "What is live in each environment, since when, by whom, and how fresh its evidence is."),
    "history": Entry(
        "bundlectl.cli.status:history", "Promotions, rollbacks, pauses, resumes, canaries, drift runs and reviews of NAME in ENV, newest first."
    ),
    "report": Entry(
        "bundlectl.cli.report:report", "The release as it stands against what is live in ENV: verdict, changes, gate, cases, canary, timeline."
    ),
    "guard": Entry("bundlectl.cli.guard:guard", "Judge the canary (or the live bundle) from recorded outcomes: hold, advance, complete or rollback."),
    "drift": Entry(
        "bundlectl.cli.drift:drift", "Re-run the live bundle's harness and compare it case by case with the run that admitted it; exit 1 on drift."
    ),
    "review": Entry(
        "bundlectl.cli.drift:review", "Record the owner's periodic review of NAME's outcome metric in ENV (signed by `metadata.owner` under trust)."
    ),
    "audit": Entry("bundlectl.cli.audit:audit", "`audit --at TIME --env ENV NAME`, or `audit --request-id ID --log FILE…`."),
    "trust": Entry(
        "bundlectl.cli.trust:trust", "Roles and SSH keys: who may register, approve, run evals, promote each environment, and change the rules."
    ),
    "webhooks": Entry(
        "bundlectl.cli.webhooks:webhooks", "Signed webhooks for every logged act and guard decision (Standard Webhooks, CloudEvents, Slack)."
    ),
    "verify": Entry(
        "bundlectl.cli.verify:verify", "Re-check every digest, the log chain, every signature, and that pointers agree with the log (exit 5 if not)."
    ),
    "schemas": Entry("bundlectl.cli.schemas:schemas", "JSON Schemas of the file formats."),
    "completion": Entry("bundlectl.cli.completion:completion", "Print the completion script for SHELL (default: your $SHELL)."),
    "doctor": Entry(
        "bundlectl.cli.doctor:doctor", "Check this machine: git and your identity, the registry, trust, clock skew, harness tools, the cache folder."
    ),
}

# `bundlectl --help` lists the commands in the order of the work, not alphabetically
WORKFLOW: dict[str, list[str]] = {
    "Start": ["init", "new", "doctor"],
    "Bundles": ["validate", "register", "list", "show", "diff", "export"],
    "Evidence and gates": ["eval", "evidence", "evals", "gate", "approve", "policy"],
    "Going live and back": ["promote", "rollback", "pause", "resume", "guard"],
    "Watching and auditing": ["status", "history", "report", "drift", "review", "audit", "verify"],
    "Serving and notifying": ["serve", "webhooks"],
    "Registry, trust and tools": ["registry", "trust", "schemas", "completion"],
}


# shown above the exit codes in each command's --help; \b keeps click from re-wrapping them
EXAMPLES: dict[str, list[str]] = {
    "init": ["bundlectl init", "bundlectl init --registry s3://acme-registry/bundles"],
    "registry": ["bundlectl registry copy . s3://acme-registry/bundles"],
    "validate": ["bundlectl validate bundles/faq-bot", "bundlectl validate bundles/ --format github"],
    "register": ['bundlectl register bundles/faq-bot --reason "first version"'],
    "list": ["bundlectl list", "bundlectl list faq-bot --json"],
    "show": ["bundlectl show faq-bot@0.1.0", "bundlectl show faq-bot@production --json"],
    "export": ["bundlectl export faq-bot@0.1.0 out/faq-bot"],
    "diff": ["bundlectl diff faq-bot@0.1.0 faq-bot@0.2.0", "bundlectl diff faq-bot@production bundles/faq-bot --component prompt"],
    "evidence": ["bundlectl evidence add faq-bot@0.1.0 results.json", "bundlectl evidence list faq-bot@0.1.0 --env production"],
    "eval": ["bundlectl eval faq-bot@0.1.0", "bundlectl eval faq-bot@0.1.0 -- python -m pytest evals/ --junitxml=junit.xml"],
    "evals": ["bundlectl evals cases junit.xml > evals/cases.yaml"],
    "policy": ["bundlectl policy show", 'bundlectl policy set policy.yaml --reason "production needs 2 approvals"'],
    "approve": ["bundlectl approve faq-bot@0.2.0 --env production"],
    "gate": ["bundlectl gate faq-bot@0.2.0 --env production", "bundlectl gate faq-bot@0.2.0 --env production --json"],
    "promote": [
        'bundlectl promote faq-bot@0.2.0 --env staging --reason "clearer citations"',
        "bundlectl promote faq-bot@0.2.0 --env production --canary 10 --steps 10,50,100 --step-time 1h",
    ],
    "rollback": [
        'bundlectl rollback faq-bot --env production --reason "wrong answers"',
        "bundlectl rollback faq-bot --env production --component prompt --register-only",
        "bundlectl rollback faq-bot --env staging --rehearse",
    ],
    "pause": ['bundlectl pause faq-bot --env production --reason "quotes the old refund policy"'],
    "resume": ["bundlectl resume faq-bot --env production"],
    "status": ["bundlectl status", "bundlectl status --check    # for cron: exit 1 when live evidence is stale"],
    "history": ["bundlectl history faq-bot --env production"],
    "guard": [
        "bundlectl guard faq-bot --env production --source requests.jsonl",
        "bundlectl guard faq-bot --env production --prometheus http://localhost:9090 --apply",
    ],
    "audit": ["bundlectl audit --request-id req-0001 --log requests.jsonl", "bundlectl audit faq-bot --env production --at 2026-11-22T14:05:00Z"],
    "trust": ["bundlectl trust show", "bundlectl trust set trust.yaml --key ~/.ssh/id_ed25519"],
    "verify": ["bundlectl verify"],
    "schemas": ["bundlectl schemas export --out schemas"],
    "completion": ['eval "$(bundlectl completion bash)"    # in ~/.bashrc'],
    "serve": [
        "bundlectl serve --env production --listen 0.0.0.0:8080 --cache-dir /var/cache/bundlectl",
        "bundlectl serve faq-bot --env production --tokens-file tokens.yaml",
    ],
    "webhooks": [
        'bundlectl webhooks set webhooks.yaml --reason "notify #releases"',
        "bundlectl webhooks deliver --follow",
        "bundlectl webhooks log --json",
    ],
    "report": [
        "bundlectl report faq-bot@0.2.0 --env production -o report.html",
        'bundlectl report faq-bot@0.2.0 --env production --format markdown >> "$GITHUB_STEP_SUMMARY"',
    ],
    "drift": ["bundlectl drift faq-bot --env production", "bundlectl drift faq-bot --env production --apply    # weekly, from cron"],
    "review": [
        'bundlectl review faq-bot --env production --value 0.93 --note "monthly review"',
        "bundlectl review faq-bot --env production --from-guard requests.jsonl",
    ],
}


def _epilog(name: str) -> str:
    examples = EXAMPLES.get(name)
    return ("\b\nExamples:\n" + "\n".join(f"  {line}" for line in examples) + "\n\n" if examples else "") + EXIT_CODES


class BundlectlGroup(click.Group):
    """Imports a command's module only when that command runs (start-up is a cost every call pays), and maps
    library errors to one or two lines and their exit code, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for names in WORKFLOW.values() for name in names]

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        """A mistyped command is answered with the command that was probably meant."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            from bundlectl.foundation.names import closest

            guess = closest(name, list(COMMANDS))
            ctx.fail(f"no such command {name!r}" + (f"; did you mean {guess!r}?" if guess else "; see `bundlectl --help`"))
        return super().resolve_command(ctx, args)

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
            each.epilog = each.epilog or (_epilog(cmd_name) if "Examples:" not in (each.help or "") else EXIT_CODES)
        return command

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Command names from the table: completing `bundlectl pro<Tab>` imports no command module."""
        from click.shell_completion import CompletionItem

        names = [CompletionItem(name, help=COMMANDS[name].help) for name in self.list_commands(ctx) if name.startswith(incomplete)]
        return names + click.Command.shell_complete(self, ctx, incomplete)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing, from the table (`--help` imports no command module), by workflow, each summary whole."""
        for section, names in WORKFLOW.items():
            with formatter.section(section):
                formatter.write_dl([(name, COMMANDS[name].help) for name in names])

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
            ctx.exit(ExitCode.INTERRUPTED)
        except (click.exceptions.Exit, click.Abort, SystemExit, BrokenPipeError):
            raise
        except Exception as exc:  # a bug: say so in one line; the traceback goes to a crash report (or the terminal, if asked)
            if os.environ.get("BUNDLECTL_DEBUG"):
                raise
            from bundlectl.cli.crash import write_crash_report

            report = write_crash_report(exc, sys.argv[1:])
            where = f"the crash report is {report}" if report else "no crash report could be written"
            emit_error(
                output,
                ExitCode.BUG,
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in bundlectl",
                f"{where}: please attach it to a bug report (BUNDLECTL_DEBUG=1 shows the traceback here instead)",
                details={"crash_report": str(report)} if report else None,
            )
            ctx.exit(ExitCode.BUG)


FORMAT = "bundlectl.format"  # ctx.meta key: "text", "json" or "github", from the command line


@click.group(
    "bundlectl", cls=BundlectlGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES, invoke_without_command=True
)
@click.version_option(__version__, prog_name="bundlectl")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Version, diff, gate, promote and roll back release bundles of AI features.

    \b
    New here? Start with:
      bundlectl init && bundlectl new faq-bot     # a registry and a bundle that earns evidence as it is
      bundlectl doctor                            # what this machine has, and what it lacks
    """
    if ctx.invoked_subcommand is None:  # bare `bundlectl`: the help, and success
        click.echo(ctx.get_help())
        ctx.exit(0)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM unwinds like an exception, so the temporary files of a write in progress are removed on the way out."""
    raise SystemExit(ExitCode.TERMINATED)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; usage errors exit 2 (click's convention, and docs/design.md's)."""
    import signal

    signal.signal(signal.SIGTERM, _terminated)
    try:
        cli.main(args=argv, prog_name="bundlectl")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(ExitCode.OK)
    except KeyboardInterrupt:  # before a command runs (while click parses); inside one, BundlectlGroup.invoke says so
        sys.exit(ExitCode.INTERRUPTED)


def _report(exc: BundlectlError, output: Format) -> None:
    from bundlectl.cli.output import emit_error

    problems = exc.problems if isinstance(exc, InvalidInput) else []
    message = exc.message if not problems else f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the input"
    emit_error(output, exc.exit_code, message, exc.hint, problems, exc.details())
