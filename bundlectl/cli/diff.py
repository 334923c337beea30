"""`diff`: the component-aware diff, rendered for a reviewer or as JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from bundlectl import api
from bundlectl.bundle.manifest import KINDS
from bundlectl.cli.options import complete_ref, json_option, registry_option
from bundlectl.cli.output import emit_json, refused, short
from bundlectl.errors import ExitCode

if TYPE_CHECKING:
    from bundlectl.diff.bundles import BundleDiff


@click.command()
@click.argument("ref_a", shell_complete=complete_ref)
@click.argument("ref_b", shell_complete=complete_ref)
@click.option("--component", "components", multiple=True, type=click.Choice(KINDS), help="Only this kind (repeatable).")
@click.option(
    "--fail-on",
    type=click.Choice(["breaking", "any"]),
    default=None,
    help="Exit 1 when a change is breaking (a schema narrowed, a tool or parameter removed, …), or on any change: for CI.",
)
@registry_option
@json_option
def diff(ref_a: str, ref_b: str, components: tuple[str, ...], fail_on: str | None, registry: api.Registry, as_json: bool) -> None:
    """Which components changed between two bundles, and what that means."""
    result = api.diff(ref_a, ref_b, list(components), registry=registry)
    if as_json:
        emit_json(result.to_json())
    else:
        render_diff(result)
    failing = result.breaking if fail_on == "breaking" else result.changed if fail_on == "any" else []
    if failing:
        refused(f"{'breaking changes' if fail_on == 'breaking' else 'changes'} in {', '.join(failing)} (--fail-on {fail_on})")
        raise SystemExit(ExitCode.REFUSED)


def render_diff(result: BundleDiff) -> None:
    """The reviewer's view of a BundleDiff."""
    click.echo(
        click.style(f"{result.a['name']}@{result.a['version']}", bold=True)
        + f" ({short(result.a['digest'])}) → "
        + click.style(f"{result.b['name']}@{result.b['version']}", bold=True)
        + f" ({short(result.b['digest'])})"
    )
    if not result.changed:
        click.echo("no component changed" + (f" (bundle digests {'equal' if result.a['digest'] == result.b['digest'] else 'differ in metadata'})"))
        return
    click.echo(f"changed: {', '.join(result.changed)}" + (f"   unchanged: {', '.join(result.unchanged)}" if result.unchanged else ""))
    for kind, component in result.components.items():
        data = component.to_json()
        flag = click.style("  BREAKING", fg="red", bold=True) if data.get("breaking") else ""
        click.echo("\n" + click.style(f"■ {kind}", bold=True, fg="cyan") + flag)
        for change in component.fields:
            click.echo(f"  {change.path}: {_value(change.old)} → {_value(change.new)}")
        _details(kind, data)
        for path in component.files_added:
            click.echo(click.style(f"  + file {path}", fg="green"))
        for path in component.files_removed:
            click.echo(click.style(f"  - file {path}", fg="red"))
        for text in component.text_diffs.values():
            _unified(text)


def _value(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def _details(kind: str, data: dict[str, Any]) -> None:
    if "presence" in data:
        click.echo(f"  component {data['presence']}")
    for item in data.get("schema_changes", []):
        mark = click.style("✗ breaking  ", fg="red") if item["breaking"] else click.style("✓ compatible", fg="green")
        click.echo(f"  {mark} {item['path']}: {item['change']}{_span(item)}")
    for name in data.get("tools_added", []):
        click.echo(click.style(f"  + tool {name}", fg="green"))
    for name in data.get("tools_removed", []):
        click.echo(click.style(f"  - tool {name} (breaking)", fg="red"))
    for tool in data.get("tools_changed", []):
        click.echo(click.style(f"  ~ tool {tool['name']}", fg="yellow"))
        for item in tool["changes"]:
            where = f"parameter {item['parameter']}" if item["parameter"] else "tool"
            tag = " (breaking)" if item["breaking"] else ""
            click.echo(f"      {where}: {item['change']}{_span(item)}{tag}")
    for item in data.get("values", []):
        if item["change"] == "changed":
            click.echo(f"  {item['path']}: {_value(item['old'])} → {_value(item['new'])} ({item['direction']})")
        else:
            value = item["new"] if item["change"] == "added" else item["old"]
            click.echo(f"  {item['path']}: {item['change']} {_value(value)}")
    if kind == "evals" and "cases" in data:
        click.echo(click.style(f"  {data['note']}", fg="yellow"))
        slices = sorted(set(data["slices"]["old"]) | set(data["slices"]["new"]))
        per_slice = ", ".join(f"{s} {data['slices']['old'].get(s, 0)} → {data['slices']['new'].get(s, 0)}" for s in slices)
        click.echo(f"  cases: {data['cases']['old']} → {data['cases']['new']} ({per_slice})")
        for label, key in (("+ case", "tests_added"), ("- case", "tests_removed"), ("~ case", "tests_changed")):
            if data[key]:
                click.echo(f"  {label}: {', '.join(data[key])}")


def _span(item: dict[str, Any]) -> str:
    old, new = item.get("old"), item.get("new")
    if item["change"].startswith("enum values"):
        return ": " + ", ".join(str(v) for v in (old or new or []))
    if isinstance(old, (dict, type(None))) and isinstance(new, (dict, type(None))):
        return ""
    return f": {_value(old)} → {_value(new)}"


def _unified(text: str) -> None:
    for line in text.splitlines():
        color = (
            "green"
            if line.startswith("+") and not line.startswith("+++")
            else "red"
            if line.startswith("-") and not line.startswith("---")
            else "cyan"
            if line.startswith("@@")
            else None
        )
        click.echo("  " + (click.style(line, fg=color) if color else line))
