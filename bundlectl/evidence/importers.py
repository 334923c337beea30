"""Choosing the importer for a report file: by --format, or by what the file looks like."""

from __future__ import annotations

import json

from bundlectl.errors import InvalidInput, Problem, UsageProblem
from bundlectl.evidence.report import Report

FORMATS = ("auto", "promptfoo", "junit", "native")
MAX_REPORT_BYTES = 64 * 1024 * 1024


def detect_format(data: bytes) -> str | None:
    head = data.lstrip()[:1]
    if head == b"<":
        return "junit"
    if head != b"{":
        return None
    try:
        document = json.loads(data)
    except ValueError:
        return None
    if isinstance(document, dict) and document.get("format") == "bundlectl/evidence-v1":
        return "native"
    if isinstance(document, dict) and "results" in document and "config" in document:
        return "promptfoo"
    return None


def import_report(data: bytes, source: str, fmt: str = "auto") -> Report:
    if fmt not in FORMATS:
        raise UsageProblem(f"unknown report format {fmt!r}", f"use one of: {', '.join(FORMATS)}")
    if len(data) > MAX_REPORT_BYTES:
        raise InvalidInput([Problem(source, f"is {len(data)} bytes, over the {MAX_REPORT_BYTES}-byte report limit")])
    chosen = detect_format(data) if fmt == "auto" else fmt
    if chosen is None:
        raise InvalidInput([Problem(source, "is not a report bundlectl can read (promptfoo results.json, JUnit XML or native JSON)")],
                           "pass --format to say which it is")
    if chosen == "promptfoo":
        from bundlectl.evidence.promptfoo import parse_promptfoo

        return parse_promptfoo(data, source)
    if chosen == "junit":
        from bundlectl.evidence.junit import parse_junit

        return parse_junit(data, source)
    from bundlectl.evidence.native import parse_native

    return parse_native(data, source)
