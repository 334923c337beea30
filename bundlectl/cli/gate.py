"""`gate` explains, check by check, whether a bundle may go live; `approve` records the human check it can require."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from bundlectl import api
from bundlectl.cli.options import (
    actor_option,
    json_option,
    reason_option,
    registry_option,
)
from bundlectl.cli.output import emit_json, ok, short, table
from bundlectl.errors import ExitCode

if TYPE_CHECKING:
    from bundlectl.gate.result import GateResult


@click.command()
@click.argument("ref")
@click.option("--env", required=True, help="Environment the approval is for.")
@registry_option
@actor_option()
@reason_option
def approve(ref: str, env: str, registry: str | None, endpoint_url: str | None, actor: str | None,
            reason: str | None) -> None:
    """Record your approval of REF for ENV."""
    approval = api.approve(ref, env, registry=registry, endpoint_url=endpoint_url, actor=actor, reason=reason)
    bundle = approval.bundle
    if approval.seq is None:
        ok(f"{approval.actor} had already approved {bundle.name}@{bundle.version} for {env}")
    else:
        ok(f"{approval.actor} approved {bundle.name}@{bundle.version} ({short(bundle.digest)}) for {env}")


@click.command()
@click.argument("ref")
@click.option("--env", required=True)
@registry_option
@actor_option("Who would promote (the promoter's own approval does not count).")
@json_option
def gate(ref: str, env: str, registry: str | None, endpoint_url: str | None, actor: str | None, as_json: bool) -> None:
    """Explain, check by check, whether REF may be promoted to ENV; exit 1 if not."""
    result = api.gate(ref, env, registry=registry, endpoint_url=endpoint_url, actor=actor)
    if as_json:
        emit_json(result.to_json())
    else:
        print_gate(result)
    if not result.passed:
        raise SystemExit(ExitCode.REFUSED)


def print_gate(result: GateResult) -> None:
    """The verdict, then one row per check: measured value, threshold and why."""
    verdict = click.style("PASS", fg="green", bold=True) if result.passed else click.style("FAIL", fg="red", bold=True)
    click.echo(f"gate {result.name}@{result.version} → {result.env}: {verdict}")
    table(["", "check", "value", "threshold", "why"],
          [[click.style("✓", fg="green") if c.passed else click.style("✗", fg="red"), c.name, _show(c.value),
            _show(c.threshold), c.detail] for c in result.checks])


def _show(value: Any) -> str:
    from datetime import timedelta

    if value is None:
        return "—"
    if isinstance(value, timedelta):
        from bundlectl.durations import format_duration

        return format_duration(value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)
