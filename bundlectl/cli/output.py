"""Printing results: one JSON document for --json, aligned tables and colour for people."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import click

from bundlectl.digest.canonical import hex_of
from bundlectl.safeio.terminal import terminal_safe

if TYPE_CHECKING:
    from bundlectl.errors import Problem

Format = Literal["text", "json", "github"]


class TerminalText(io.TextIOBase):
    """A text stream that escapes control, escape-sequence and bidi characters on the way to `inner` (see
    safeio.terminal): every human-readable line goes through it, so no command can forget to escape a value."""

    def __init__(self, inner: Any) -> None:
        self.unfiltered = inner

    def write(self, text: str) -> int:
        self.unfiltered.write(terminal_safe(text))
        return len(text)

    def flush(self) -> None:
        self.unfiltered.flush()

    def isatty(self) -> bool:
        return bool(self.unfiltered.isatty())

    def fileno(self) -> int:
        return int(self.unfiltered.fileno())

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.unfiltered, "encoding", None) or "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.unfiltered, "errors", None)


@contextmanager
def terminal_text() -> Iterator[None]:
    """Human-readable output for the duration: stdout and stderr escape what a terminal would act on."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalText(sys.stdout), TerminalText(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def identity(actor: str, signed: bool) -> str:
    """An actor as people should read it: a claim says so, until trust makes it a signer's principal (docs/design.md: Signed records)."""
    return actor if signed else f"{actor} (claimed)"


def requested_format(args: Sequence[str]) -> Format:
    """The output format the command line asks for (`--json`, `--format F`), read before parsing so even a
    usage error is reported in it; words after `--` belong to another program (`bundlectl eval … -- CMD`)."""
    words = list(args[: list(args).index("--")] if "--" in args else args)
    for i, word in enumerate(words):
        if word == "--json":
            return "json"
        value = (
            word.removeprefix("--format=") if word.startswith("--format=") else (words[i + 1] if word == "--format" and i + 1 < len(words) else None)
        )
        if value in ("json", "github"):
            return value  # type: ignore[return-value]
    return "text"


def emit_error(
    output: Format, exit_code: int, message: str, hint: str | None = None, problems: Sequence[Problem] = (), details: dict[str, Any] | None = None
) -> None:
    """An error in the format the command was asked for: lines on stderr; with --json also one document on
    stdout (the only one); with --format github also workflow annotations on stdout."""
    from bundlectl.errors import ExitCode

    for line in [str(p) for p in problems] or [message]:
        click.echo(f"error: {line}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    if output == "json":
        kind = ExitCode(exit_code).name.lower() if exit_code in ExitCode._value2member_map_ else "error"
        error: dict[str, Any] = {"exit_code": int(exit_code), "kind": kind, "message": message, "hint": hint}
        if problems:
            error["problems"] = [p.to_json() for p in problems]
        emit_json({"error": error, **(details or {})})
    elif output == "github":
        for problem in problems:
            github_annotation("error", problem.annotation(), file=problem.file, line=problem.line, title="bundlectl")
        if not problems:
            github_annotation("error", message + (f" ({hint})" if hint else ""), title="bundlectl")


def github_annotation(
    level: Literal["error", "warning", "notice"], message: str, *, file: str | None = None, line: int | None = None, title: str | None = None
) -> None:
    """One GitHub Actions workflow command (`::error file=…,line=…,title=…::message`), escaped as the runner expects."""
    properties = {"file": file, "line": str(line) if line else None, "title": title}
    fields = ",".join(f"{key}={_escape(value, True)}" for key, value in properties.items() if value)
    click.echo(f"::{level}{' ' + fields if fields else ''}::{_escape(message, False)}")


def _escape(text: str, is_property: bool) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if is_property else text


def short(digest: str, length: int = 12) -> str:
    return hex_of(digest)[:length]


def _columns(cell: str) -> int:
    """How many terminal columns a cell takes: colour codes take none, East Asian wide characters two."""
    import unicodedata

    text = click.unstyle(cell)
    return len(text) + sum(1 for ch in text if not ch.isascii() and unicodedata.east_asian_width(ch) in "WF")


def _pad(cell: str, width: int) -> str:
    return cell + " " * (width - _columns(cell))


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Aligned columns: widths count what a terminal shows, so styled and wide-character cells line up."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(_columns(x) for x in column) for column in zip(headers, *cells, strict=True)]
    click.echo(click.style("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), bold=True))
    for row in cells:
        click.echo("  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())


def ok(text: str) -> None:
    click.echo(click.style("✓ ", fg="green") + text)


def refused(text: str) -> None:
    click.echo(click.style("✗ ", fg="red") + text, err=True)


def warn(text: str) -> None:
    click.echo(click.style("! ", fg="yellow") + text, err=True)


class TerminalProgress:
    """A progress bar on stderr, only on a terminal and only for work big enough to notice."""

    THRESHOLD = 32 * 1024 * 1024

    def __init__(self) -> None:
        self._bar: Any = None

    def start(self, total: int, label: str) -> None:
        if total >= self.THRESHOLD and sys.stderr.isatty():
            stream = getattr(sys.stderr, "unfiltered", sys.stderr)  # the bar's own \r and cursor codes must pass
            self._bar = click.progressbar(length=total, label=label, file=stream, show_eta=True, show_percent=True)
            self._bar.__enter__()

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
