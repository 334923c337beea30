"""Text for a terminal: what a manifest, a log or a file name holds must not move the cursor, hide text, open a
hyperlink or reverse the line. Control characters (C0, DEL, C1), escape sequences and bidi controls are shown as
visible escapes; only the plain colour sequences bundlectl itself writes pass (a value can at worst change a colour).
"""

from __future__ import annotations

import re

# SGR sequences click.style writes: reset, bold, dim, underline, their resets, and the 16 colours. Not "conceal" (8).
_OWN_STYLE = r"\x1b\[(?:0|1|2|4|22|24|39|49|3[0-7]|4[0-7]|9[0-7]|10[0-7])(?:;(?:1|2|4|3[0-7]|9[0-7]))*m"
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"({_OWN_STYLE})|([\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}\u2028\u2029])")


def _visible(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1)
    code = ord(match.group(2))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """`text` with every control, escape and bidi character escaped (newlines and tabs kept)."""
    return _UNSAFE.sub(_visible, text)
