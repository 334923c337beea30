"""`doctor`: each check of this machine with its verdict and, where it falls short, the fix."""

from __future__ import annotations

import click

from bundlectl import api
from bundlectl.cli.options import act_value, json_option, registry_option
from bundlectl.cli.output import emit_json
from bundlectl.errors import ExitCode


@click.command()
@registry_option
@click.option("--actor", default=None, help="Check this identity instead of the one bundlectl would find.")
@json_option
@act_value
def doctor(registry: api.Registry, act: api.Act, as_json: bool) -> None:
    """Check this machine: git and your identity, the registry, trust, clock skew, harness tools, the cache folder.

    Exits 1 when a check fails (bundlectl cannot work here); warnings name what some commands will lack.

    \b
    Examples:
      bundlectl doctor
      bundlectl doctor --registry s3://acme-registry/bundles --json
    """
    report = api.doctor(registry=registry, act=act)
    if as_json:
        emit_json(report.to_json())
    else:
        marks = {"ok": click.style("✓", fg="green"), "warn": click.style("!", fg="yellow"), "fail": click.style("✗", fg="red")}
        for finding in report.findings:
            click.echo(f"{marks[finding.status]} {finding.name}: {finding.detail}")
            if finding.hint and finding.status != "ok":
                click.echo(f"    {finding.hint}")
    if not report.healthy:
        raise SystemExit(ExitCode.REFUSED)
