"""`schemas export`: regenerate the JSON Schemas in schemas/."""

from __future__ import annotations

from pathlib import Path

import click

from bundlectl import api
from bundlectl.cli.options import WholeSummaries
from bundlectl.cli.output import ok


@click.group(cls=WholeSummaries)
def schemas() -> None:
    """JSON Schemas of the file formats."""


@schemas.command("export")
@click.option("--out", default="schemas", show_default=True, type=click.Path(file_okay=False), help="Target folder.")
def export(out: str) -> None:
    """Write the JSON Schemas generated from the models."""
    for path in api.export_schemas(Path(out)):
        ok(f"wrote {path}")
