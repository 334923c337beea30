"""Commands about bundles themselves: new, validate, register, list, show, export."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bundlectl import api
from bundlectl.cli.options import complete_name, complete_ref, format_options, json_option, registry_option, writer_options
from bundlectl.cli.output import TerminalProgress, emit_json, github_annotation, identity, ok, short, table, warn
from bundlectl.errors import ExitCode


@click.command()
@click.argument("name")
@click.option("--dir", "parent", default="bundles", show_default=True, type=click.Path(file_okay=False), help="Folder to create the bundle in.")
def new(name: str, parent: str) -> None:
    """Scaffold bundles/NAME: all eight components, ready to register and evaluate as they are.

    Its eval suite renders the bundle's prompt file and runs offline against a stand-in for the model
    (evals/provider.js): 40 gold and 10 adversarial cases that all pass, enough for the starter policy's
    eval gates. Replace the FAQ, the prompt and the stand-in with your own.

    \b
    Examples:
      bundlectl new faq-bot
      bundlectl register bundles/faq-bot && bundlectl eval faq-bot@0.1.0
    """
    created = api.new_bundle(name, Path(parent))
    ok(f"created {created} — next: `bundlectl register {created}`, then `bundlectl eval {name}@0.1.0`")


HARD_LINKS_HELP = (
    "Accept component files with more than one hard link (refused by default: a hard link can hold a file from outside the bundle folder)."
)


@click.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--changed",
    is_flag=True,
    help="PATHS are changed files (as pre-commit passes them): validate each bundle they are in, once, and skip files that are in no bundle.",
)
@click.option("--allow-hard-links", is_flag=True, help=HARD_LINKS_HELP)
@format_options
def validate(paths: tuple[str, ...], changed: bool, allow_hard_links: bool, output: str) -> None:
    """Check bundle folders: schema, pinning, paths, and the content of each component file.

    PATHS may be bundle folders, files inside bundles (their bundle is checked) or folders of bundles
    (each bundle below is checked).
    """
    validation = api.validate([Path(p) for p in paths], progress=TerminalProgress(), changed=changed, allow_hard_links=allow_hard_links)
    results, invalid = validation.results, validation.invalid
    code = ExitCode.NOT_FOUND if invalid and all(r.missing for r in invalid) else ExitCode.REFUSED
    if output == "json" and invalid:  # the error document every command prints, with the results beside it
        from bundlectl.cli.output import emit_error

        emit_error(
            "json",
            code,
            f"{len(invalid)} of {len(results)} bundle folder{'s' if len(results) != 1 else ''} failed validation",
            "fix each problem listed, then validate again",
            [p for r in invalid for p in r.problems],
            validation.to_json(),
        )
        raise SystemExit(code)
    if output == "json":
        emit_json(validation.to_json())
    else:
        for result in results:
            if result.valid and result.record:
                ok(f"{result.path}: {result.record.ref} {short(result.record.digest)}")
                for warning in result.warnings:
                    warn(f"{result.path}: {warning}")
            else:
                for problem in result.problems:
                    click.echo(click.style("✗ ", fg="red") + str(problem), err=True)
                    if output == "github":
                        github_annotation("error", problem.annotation(), file=problem.file, line=problem.line, title="bundlectl validate")
    if invalid:
        raise SystemExit(code)


@click.command()
@click.argument("path")
@click.option("--allow-hard-links", is_flag=True, help=HARD_LINKS_HELP)
@registry_option
@writer_options
@json_option
def register(
    path: str,
    allow_hard_links: bool,
    registry: api.Registry,
    act: api.Act,
    as_json: bool,
) -> None:
    """Freeze a bundle folder into the registry; prints its ref and digest."""
    result = api.register(
        Path(path),
        registry=registry,
        act=act,
        progress=TerminalProgress(),
        allow_hard_links=allow_hard_links,
    )
    record = result.record
    if as_json:
        emit_json(result.to_json())
    elif result.dry_run:
        ok(f"would register {record.ref} {record.digest} (dry run: nothing written)")
    elif result.created:
        ok(f"registered {record.ref} {record.digest}")
    else:
        ok(f"{record.ref} {record.digest} is already registered with this content; nothing to do")


@click.command("list")
@click.argument("name", required=False, shell_complete=complete_name)
@registry_option
@json_option
def list_cmd(name: str | None, registry: api.Registry, as_json: bool) -> None:
    """Registered bundles, oldest first."""
    listed = api.list_bundles(name, registry=registry)
    rows = listed.bundles
    if as_json:
        emit_json(listed.to_json())
        return
    if not rows:
        click.echo("no bundles registered yet; try `bundlectl register bundles/NAME`")
        return
    table(
        ["name", "version", "digest", "registered", "by"], [[r.name, r.version, short(r.digest), r.time, identity(r.actor, r.signed)] for r in rows]
    )


@click.command()
@click.argument("ref", shell_complete=complete_ref)
@registry_option
@json_option
def show(ref: str, registry: api.Registry, as_json: bool) -> None:
    """One bundle with its component digests (REF: NAME@VERSION, NAME@sha256:…, folder, git:REV:PATH)."""
    from bundlectl.bundle.record_view import describe

    record = api.show(ref, registry=registry)
    if as_json:
        emit_json(describe(record))
        return
    click.echo(click.style(f"{record.ref}", bold=True) + f"  {record.digest}")
    for key in ("owner", "description"):
        if key in record.metadata:
            click.echo(f"  {key}: {record.metadata[key]}")
    if "outcome" in record.metadata:
        o = record.metadata["outcome"]
        click.echo(f"  outcome: {o['metric']} ≥ {o['target']} (tolerance {o.get('tolerance', 0)})")
    if record.lineage:
        line = record.lineage
        click.echo(
            f"  lineage: rollback of {line['rollback_of']['version']} ({short(line['rollback_of']['digest'])}) with "
            f"{', '.join(line['swapped'])} from {line['components_from']['version']} ({short(line['components_from']['digest'])})"
        )
    rows = []
    for kind, component in record.components.items():
        rows.append(
            [
                kind,
                short(component.digest),
                component.fields.get("absent", "")
                and "absent: " + component.fields["absent"]
                or _component_summary(kind, component.fields, len(component.files)),
            ]
        )
    click.echo()
    table(["component", "digest", "pins"], rows)


def _component_summary(kind: str, fields: dict[str, Any], file_count: int) -> str:
    if kind == "model":
        return f"{fields['provider']} {fields['snapshot']}"
    if kind == "retriever":
        return f"{fields['index']} ({fields['embedding_model']})"
    parts = [f"v{fields['version']}"] if fields.get("version") else []
    parts.append(f"{file_count} file{'s' if file_count != 1 else ''}")
    if fields.get("uri"):
        parts.append(fields["uri"])
    return ", ".join(parts)


@click.command("export")
@click.argument("ref", shell_complete=complete_ref)
@click.argument("folder", type=click.Path(file_okay=False))
@registry_option
def export_cmd(ref: str, folder: str, registry: api.Registry) -> None:
    """Write a registered bundle out as a folder (bundle.yaml and files); it re-validates to the same digest."""
    exported = api.export(ref, Path(folder), registry=registry)
    ok(f"exported {exported.record.ref} ({short(exported.record.digest)}) to {exported.folder}")
