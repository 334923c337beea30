"""`gate` explains, check by check, whether a bundle may go live; `approve` records the human check it can require."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from bundlectl import api
from bundlectl.cli.options import (
    act_value,
    actor_option,
    complete_env,
    complete_ref,
    format_options,
    key_option,
    reason_option,
    registry_option,
)
from bundlectl.cli.output import emit_json, github_annotation, identity, ok, short, table, warn
from bundlectl.errors import ExitCode

if TYPE_CHECKING:
    from bundlectl.gate.result import GateResult


@click.command()
@click.argument("ref", shell_complete=complete_ref)
@click.option("--env", required=True, shell_complete=complete_env, help="Environment the approval is for.")
@registry_option
@actor_option()
@key_option
@reason_option
@act_value
def approve(ref: str, env: str, registry: api.Registry, act: api.Act) -> None:
    """Record your approval of REF for ENV."""
    approval = api.approve(ref, env, registry=registry, act=act)
    bundle, who = approval.bundle, identity(approval.actor, approval.signed)
    if approval.seq is None:
        ok(f"{who} had already approved {bundle.name}@{bundle.version} for {env}")
    else:
        ok(f"{who} approved {bundle.name}@{bundle.version} ({short(bundle.digest)}) for {env}")
    if approval.not_counted:
        warn(approval.not_counted)


@click.command()
@click.argument("ref", shell_complete=complete_ref)
@click.option("--env", required=True, shell_complete=complete_env, help="The environment whose gate to check (e.g. production).")
@registry_option
@actor_option("Who would promote (the promoter's own approval does not count).")
@key_option
@format_options
@act_value
def gate(ref: str, env: str, registry: api.Registry, act: api.Act, output: str) -> None:
    """Explain, check by check, whether REF may be promoted to ENV; exit 1 if not."""
    result = api.gate(ref, env, registry=registry, act=act)
    if output == "json":
        emit_json(result.to_json())
    else:
        print_gate(result)
    if output == "github":
        for check in result.failures():
            github_annotation(
                "error",
                f"{check.detail} (measured {_show(check.value)}, needs {_show(check.threshold)})",
                title=f"gate {result.name}@{result.version} → {result.env}: {check.name}",
            )
        if result.passed:
            github_annotation("notice", f"all {len(result.checks)} checks pass", title=f"gate {result.name}@{result.version} → {result.env}")
    if not result.passed:
        raise SystemExit(ExitCode.REFUSED)


def print_gate(result: GateResult) -> None:
    """The verdict, then one row per check: measured value, threshold and why."""
    verdict = click.style("PASS", fg="green", bold=True) if result.passed else click.style("FAIL", fg="red", bold=True)
    click.echo(f"gate {result.name}@{result.version} → {result.env}: {verdict}")
    table(
        ["", "check", "value", "threshold", "why"],
        [
            [click.style("✓", fg="green") if c.passed else click.style("✗", fg="red"), c.name, _show(c.value), _show(c.threshold), c.detail]
            for c in result.checks
        ],
    )


def _show(value: Any) -> str:
    from datetime import timedelta

    if value is None:
        return "—"
    if isinstance(value, bool):  # `after`: whether it was live there
        return "yes" if value else "no"
    if isinstance(value, timedelta):
        from bundlectl.foundation.durations import format_duration

        return format_duration(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)
