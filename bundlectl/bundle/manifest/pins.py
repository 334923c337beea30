"""The model-pinning rule: a snapshot must name one immutable model build, not an alias that moves.

The rule is two regular expressions that the manifest's JSON Schema states too (ECMA 262 has no
case-insensitive flag inside a pattern, so the floating words are spelt as character classes).
"""

from __future__ import annotations

import re

# A date (2024-08-06 or 20250929), a numbered revision suffix (-002, -0613, -2411) or a content digest.
PINNED_PATTERN = r"([0-9]{4}-[0-9]{2}-[0-9]{2})|([0-9]{8})|(-[0-9]{3,4}$)|(@[Ss][Hh][Aa]256:[0-9a-fA-F]{12,})"
_FLOATING_SUFFIXES = ("latest", "stable", "current", "default", "preview", "exp")
FLOATING_PATTERN = "(^|[-:@/_.])(" + "|".join("".join(f"[{c}{c.upper()}]" for c in word) for word in _FLOATING_SUFFIXES) + ")$"
_PIN, _FLOATING = re.compile(PINNED_PATTERN), re.compile(FLOATING_PATTERN)


def is_pinned_snapshot(snapshot: str) -> bool:
    """True when the snapshot names a dated or numbered build (gpt-4o-2024-08-06, gemini-1.5-pro-002)."""
    return not _FLOATING.search(snapshot) and bool(_PIN.search(snapshot))
