"""`evidence add` and `evidence list`: reports bound to a bundle digest."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from bundlectl import api
from bundlectl.cli.options import (
    WholeSummaries,
    act_value,
    actor_option,
    complete_env,
    complete_ref,
    json_option,
    key_option,
    reason_option,
    registry_option,
)
from bundlectl.cli.output import emit_json, ok, short, table

if TYPE_CHECKING:
    from bundlectl.evidence.add import EvidenceAdded


@click.group(cls=WholeSummaries)
def evidence() -> None:
    """Reports bound to a bundle digest: eval runs, load tests, cost measurements, rehearsals."""


@evidence.command("add")
@click.argument("ref", shell_complete=complete_ref)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["eval", "load", "cost", "rehearsal"]), default=None, help="Default: what the report is.")
@click.option("--format", "fmt", type=click.Choice(["auto", "promptfoo", "junit", "native"]), default="auto", show_default=True)
@registry_option
@actor_option()
@key_option
@reason_option
@json_option
@act_value
def evidence_add(
    ref: str,
    file: str,
    kind: str | None,
    fmt: str,
    registry: api.Registry,
    act: api.Act,
    as_json: bool,
) -> None:
    """Bind a report (promptfoo results.json, JUnit XML, native JSON) to the bundle REF."""
    result = api.evidence_add(ref, file, kind, fmt, registry=registry, act=act)
    if as_json:
        emit_json(result.to_json())
        return
    ok(bound_line(result))


def bound_line(result: EvidenceAdded) -> str:
    """One line saying what was bound to which bundle (and when it can never count)."""
    bundle, f = result.bundle, result.figures
    summary = f", {f['passed']}/{f['cases']} passed ({f['pass_rate']:.1%})" if "cases" in f else ""
    verb = "bound" if result.created else "already bound (nothing to do):"
    line = (
        f"{verb} {result.kind} evidence ({result.source}, {result.provenance}, run {result.run_at}{summary}) "
        f"to {bundle.name}@{bundle.version} {short(bundle.digest)}"
    )
    if result.cases == "undeclared":
        line += "; it never counts for an eval gate: the suite declares no cases (add `cases:` to the evals component)"
    return line


@evidence.command("list")
@click.argument("ref", shell_complete=complete_ref)
@click.option(
    "--env",
    default=None,
    shell_complete=complete_env,
    help="Judge freshness and what counts by the gates of this environment (default: the strictest per kind).",
)
@registry_option
@json_option
def evidence_list(ref: str, env: str | None, registry: api.Registry, as_json: bool) -> None:
    """Evidence for REF: kind, source, run time, age, key figures, fresh or stale."""
    listing = api.evidence_list(ref, env, registry=registry)
    bundle, rows = listing.bundle, [e.to_json() for e in listing.evidence]
    if as_json:
        emit_json(listing.to_json())
        return
    if not rows:
        click.echo(f"no evidence for {bundle.name}@{bundle.version}; add some with `bundlectl evidence add`")
        return
    table(
        ["kind", "source", "provenance", "run at", "age", "figures", "fresh", "counts"],
        [
            [
                r["kind"],
                r["source"],
                r["provenance"],
                r["run_at"],
                r["age"],
                _figures(r["figures"]),
                "—" if r["fresh"] is None else ("fresh" if r["fresh"] else click.style("stale", fg="red")),
                _counts(r),
            ]
            for r in rows
        ],
    )


def _counts(row: dict[str, Any]) -> str:
    if row["counts"] is None:
        return "—"
    return ("yes: " if row["counts"] else click.style("no: ", fg="red")) + str(row["why"])


def _figures(f: dict[str, Any]) -> str:
    parts = []
    if "cases" in f:
        parts.append(f"{f['passed']}/{f['cases']} ({f['pass_rate']:.1%})")
        parts += [f"{n} {s['pass_rate']:.0%}" for n, s in f.get("slices", {}).items() if len(f.get("slices", {})) > 1]
    if "latency_p95_ms" in f:
        parts.append(f"p95 {f['latency_p95_ms']:g} ms")
    if "cost_per_task_usd" in f:
        parts.append(f"${f['cost_per_task_usd']:g}/task")
    return ", ".join(parts) or "—"
