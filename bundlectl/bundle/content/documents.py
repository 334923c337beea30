"""JSON or YAML component files parsed safely, with errors that name the file and line."""

from __future__ import annotations

import json
from typing import Any

from bundlectl.errors import InvalidInput, Problem
from bundlectl.foundation.safeyaml import load_yaml
from bundlectl.foundation.textfile import MAX_TEXT_BYTES, decode_text


def parse_document(data: bytes, source: str) -> Any:
    """JSON for *.json, safe YAML (a superset) for everything else."""
    if len(data) > MAX_TEXT_BYTES:
        raise InvalidInput([Problem(source, f"is {len(data)} bytes, over the {MAX_TEXT_BYTES}-byte limit")])
    text = decode_text(data, source)
    if source.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput([Problem(source, f"is not valid JSON: {exc.msg}", exc.lineno)]) from None
        except RecursionError:
            raise InvalidInput([Problem(source, "nests too deeply")]) from None
    return load_yaml(text, source).data
