"""Choosing the importer for a report file: by --format, or by what the file looks like."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bundlectl.errors import InvalidInput, Problem, UsageProblem
from bundlectl.evidence.junit import parse_junit
from bundlectl.evidence.native import native_report
from bundlectl.evidence.promptfoo import promptfoo_report
from bundlectl.evidence.report import Report
from bundlectl.evidence.strict_json import load_json
from bundlectl.foundation.textfile import read_input

FORMATS = ("auto", "promptfoo", "junit", "native")
MAX_REPORT_BYTES = 64 * 1024 * 1024


def detect_format(document: Any) -> str | None:
    """Which JSON format a loaded document is in (JUnit is told apart before loading, by its `<`)."""
    if isinstance(document, dict) and document.get("format") == "bundlectl/evidence-v1":
        return "native"
    if isinstance(document, dict) and "results" in document and "config" in document:
        return "promptfoo"
    return None


def import_report(data: bytes, source: str, fmt: str = "auto") -> Report:
    """The report in DATA, read once and strictly (duplicate keys, NaN and absurd numbers are refused)."""
    if fmt not in FORMATS:
        raise UsageProblem(f"unknown report format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
    if len(data) > MAX_REPORT_BYTES:
        raise _too_big(source, len(data))
    head = data.lstrip()[:1]
    if fmt == "junit" or (fmt == "auto" and head == b"<"):
        return parse_junit(data, source)
    if fmt == "auto" and head != b"{":
        raise _unreadable(source)

    document = load_json(data, source)
    chosen = detect_format(document) if fmt == "auto" else fmt
    if chosen == "promptfoo":
        return promptfoo_report(document, source)
    if chosen == "native":
        return native_report(document, source)
    raise _unreadable(source)


def read_report(path: Path, source: str | None = None) -> bytes:
    """A report file's bytes; one over the size limit is refused from its size alone, before it is read."""

    label = source or str(path)
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # read_input says why it cannot be read
    if size > MAX_REPORT_BYTES:
        raise _too_big(label, size)
    return read_input(path, label)


def _too_big(source: str, size: int) -> InvalidInput:
    return InvalidInput([Problem(source, f"is {size} bytes, over the {MAX_REPORT_BYTES}-byte report limit")], "nothing was stored")


def _unreadable(source: str) -> InvalidInput:
    return InvalidInput(
        [Problem(source, "is not a report bundlectl can read (promptfoo results.json, JUnit XML or native JSON)")], "pass --format to say which it is"
    )
