"""The model-pinning rule: a snapshot must name one immutable model build, not an alias that moves."""

from __future__ import annotations

import re

# A date (2024-08-06 or 20250929), a numbered revision suffix (-002, -0613, -2411) or a content digest.
_PIN = re.compile(r"(\d{4}-\d{2}-\d{2})|(\d{8})|(-\d{3,4}$)|(@sha256:[0-9a-f]{12,})")
_FLOATING_SUFFIXES = ("latest", "stable", "current", "default", "preview", "exp")


def is_pinned_snapshot(snapshot: str) -> bool:
    """True when the snapshot names a dated or numbered build (gpt-4o-2024-08-06, gemini-1.5-pro-002)."""
    lowered = snapshot.lower()
    if re.split(r"[-:@/_.]", lowered)[-1] in _FLOATING_SUFFIXES:
        return False
    return bool(_PIN.search(lowered))
