"""Reports as JSON, read strictly: a duplicate key or a NaN/Infinity literal refuses the whole report.

`json.loads` keeps the last of two equal keys and accepts NaN and Infinity, so an edited report could
say one thing to a reader and another to bundlectl; here both are errors naming where they are.
"""

from __future__ import annotations

import json
from typing import Any

from bundlectl.errors import InvalidInput, Problem


class _Refused(ValueError):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"the key {key!r} appears twice in one object")
            seen.add(key)
    return document


def _no_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a number a report may hold")


def load_json(data: bytes, source: str) -> Any:
    """The parsed document; InvalidInput (with the line) for bad JSON, duplicate keys or non-finite literals."""
    try:
        return json.loads(data, object_pairs_hook=_unique, parse_constant=_no_constant)
    except _Refused as exc:
        raise InvalidInput([Problem(source, str(exc))], "nothing was stored; give the report as the tool wrote it") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput([Problem(source, f"is not valid JSON: {exc.msg}", exc.lineno)]) from None
    except (ValueError, RecursionError) as exc:  # undecodable bytes, nesting too deep, an integer too long
        raise InvalidInput([Problem(source, f"is not valid JSON: {exc}")]) from None
