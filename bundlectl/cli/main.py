"""Entry point: the command group, shared options, and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from bundlectl import __version__
from bundlectl.errors import BundlectlError, InvalidInput


def _remember_endpoint(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.meta["bundlectl.endpoint_url"] = value


def registry_option(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--endpoint-url", metavar="URL", default=None, expose_value=False, callback=_remember_endpoint,
        help="S3 endpoint (MinIO, Ceph RGW, R2); default: boto3's settings (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL).",
    )(func)
    return click.option(
        "--registry", "registry", metavar="URL", default=None,
        help="Registry: s3://bucket/prefix or a path to a dedicated git repository "
             "(default: env BUNDLECTL_REGISTRY, else the repository around the current folder).",
    )(func)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document.")(func)


def writer_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--actor", default=None, help="Acting identity (default: BUNDLECTL_ACTOR, then git user.email).")(func)
    func = click.option("--reason", default=None, help="Why; recorded in the event log.")(func)
    return click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")(func)


class BundlectlGroup(click.Group):
    """Maps library errors to one or two lines and their exit code, never a traceback."""

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
            ctx.exit(70)


@click.group(cls=BundlectlGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bundlectl")
def cli() -> None:
    """Version, diff, gate, promote and roll back release bundles of AI features."""


def _register_commands() -> None:
    from bundlectl.cli import auditcmd, bundles, diffcmd, promotion, rollbackcmd, schemas

    for command in (bundles.init, bundles.new, bundles.validate, bundles.register, bundles.list_cmd,
                    bundles.show, bundles.export_cmd, bundles.registry_group, diffcmd.diff, promotion.evidence, promotion.policy, promotion.approve,
                    promotion.gate, promotion.promote, rollbackcmd.rollback, promotion.status, promotion.history, auditcmd.audit, promotion.verify,
                    schemas.schemas):
        cli.add_command(command)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; usage errors exit 2 (click's convention, and DESIGN §4's)."""
    try:
        cli.main(args=argv, prog_name="bundlectl")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)


def _report(exc: BundlectlError) -> None:
    if isinstance(exc, InvalidInput):
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
    else:
        click.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"hint: {exc.hint}", err=True)
