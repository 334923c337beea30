"""How values read in a report: digests shortened, numbers with their unit, anything else as one line of text."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from bundlectl.foundation.durations import format_duration


def short(digest: str | None) -> str:
    if not digest:
        return "–"
    algorithm, _, hexits = digest.partition(":")
    return f"{algorithm}:{hexits[:12]}" if hexits else digest[:19]


def value(data: Any) -> str:
    """Any value from a bundle, a report or a check as one line of text (the template escapes it)."""
    if data is None:
        return "–"
    if isinstance(data, timedelta):
        return format_duration(data)
    if isinstance(data, float):
        return f"{data:g}"
    if isinstance(data, (dict, list)):
        return json.dumps(data, ensure_ascii=False, sort_keys=True)
    return str(data)


def pct(data: Any) -> str:
    return f"{data * 100:.1f}%" if isinstance(data, (int, float)) else "–"


def ms(data: Any) -> str:
    return f"{data:,.0f} ms" if isinstance(data, (int, float)) else "–"


def usd(data: Any) -> str:
    if not isinstance(data, (int, float)):
        return "–"
    return f"${data:,.2f}" if data >= 1 else f"${data:.6g}"
