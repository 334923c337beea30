"""`report`: the release as it stands against what is live in ENV, as one HTML page, Markdown or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bundlectl import api
from bundlectl.cli.options import act_value, actor_option, complete_env, complete_ref, json_option, key_option, registry_option
from bundlectl.errors import UsageProblem

if TYPE_CHECKING:
    from bundlectl.report.render import Format

SUFFIXES: dict[str, Format] = {".md": "markdown", ".markdown": "markdown", ".json": "json", ".html": "html", ".htm": "html"}


@click.command()
@click.argument("ref", shell_complete=complete_ref)
@click.option("--env", required=True, shell_complete=complete_env, help="The environment the release is reported against (what is live there).")
@click.option(
    "-o",
    "--output",
    "output_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report to FILE (its format from the suffix unless --format says) instead of stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "markdown", "json"]),
    default=None,
    help="html (one self-contained page; the default), markdown (for a pull request), or json.",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Request log to judge the running canary from now (as `guard --source`); repeatable.",
)
@click.option("--prometheus", default=None, metavar="URL", help="Judge the running canary now from this Prometheus server.")
@click.option(
    "--min-sample",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="With --source or --prometheus: requests per arm before any verdict.",
)
@registry_option
@actor_option("Whose promotion the gate is judged for (approvals by the promoter do not count).")
@key_option
@json_option
@act_value
def report(
    ref: str,
    env: str,
    output_file: Path | None,
    fmt: str | None,
    sources: tuple[str, ...],
    prometheus: str | None,
    min_sample: int,
    registry: api.Registry,
    act: api.Act,
    as_json: bool,
) -> None:
    """The release as it stands against what is live in ENV: verdict, changes, gate, cases, canary, timeline.

    The report changes nothing and exits 0 whatever the verdict (`bundlectl gate` is the check that fails a build).
    With -o, --json prints what was written as one JSON document."""
    chosen = _format(fmt, as_json, output_file)
    from bundlectl.report.render import render

    found = api.report(ref, env, sources=list(sources) or None, prometheus=prometheus, min_sample=min_sample, registry=registry, act=act)
    document = render(found, chosen)
    if output_file is None:
        click.echo(document, nl=False)
        return
    _write(output_file, document)
    summary = {"file": str(output_file), "format": chosen, "characters": len(document), "passed": found.verdict.passed}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(
            f"wrote {output_file} ({chosen}, {len(document):,} characters): "
            f"{found.name}@{found.version} {'passes' if found.verdict.passed else 'is refused by'} the gate of {env}"
        )


def _format(fmt: str | None, as_json: bool, output_file: Path | None) -> Format:
    if as_json and output_file is None and fmt not in (None, "json"):
        raise click.UsageError(f"--json and --format {fmt} ask for two different outputs; give one")
    if fmt is not None:
        return fmt  # type: ignore[return-value]
    if output_file is not None:
        return SUFFIXES.get(output_file.suffix.lower(), "html")
    return "json" if as_json else "html"


def _write(path: Path, document: str) -> None:
    """Write through a temporary file beside it, so a failed write leaves no half report."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(document, encoding="utf-8")
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise UsageProblem(
            f"cannot write the report to {path}: {exc.strerror or exc}", "give -o a file in a folder that exists and that you may write"
        ) from None
