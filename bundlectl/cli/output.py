"""Printing results: one JSON document for --json, aligned tables and colour for people."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def identity(actor: str, signed: bool) -> str:
    """An actor as people should read it: a claim says so, until trust makes it a signer's principal (DESIGN §11)."""
    return actor if signed else f"{actor} (claimed)"


def short(digest: str, length: int = 12) -> str:
    return digest.removeprefix("sha256:")[:length]


def _pad(cell: str, width: int) -> str:
    return cell + " " * (width - len(click.unstyle(cell)))


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Aligned columns; widths ignore colour codes so styled cells line up."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(click.unstyle(x)) for x in column) for column in zip(headers, *cells, strict=True)]
    click.echo(click.style("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), bold=True))
    for row in cells:
        click.echo("  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())


def ok(text: str) -> None:
    click.echo(click.style("✓ ", fg="green") + text)


def warn(text: str) -> None:
    click.echo(click.style("! ", fg="yellow") + text, err=True)


class TerminalProgress:
    """A progress bar on stderr, only on a terminal and only for work big enough to notice."""

    THRESHOLD = 32 * 1024 * 1024

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, total: int, label: str) -> None:
        if total >= self.THRESHOLD and sys.stderr.isatty():
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr, show_eta=True, show_percent=True)
            self._bar.__enter__()

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
