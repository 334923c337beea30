"""Canonical JSON and sha256 digests, the one definition everything that hashes structure uses.

Canonical JSON: keys sorted, no whitespace, UTF-8, no NaN. Two YAML files that load to the same data
therefore hash the same, however they are formatted or ordered.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

PREFIX = "sha256:"


# one encoder for the process: json.dumps would build a new one, with its options checked, on every call
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


def sha256_of(data: bytes) -> str:
    return PREFIX + hashlib.sha256(data).hexdigest()


def digest_of(value: Any) -> str:
    """Digest of a JSON-shaped value through its canonical form."""
    return sha256_of(canonical_json(value))


def hex_of(digest: str) -> str:
    return digest[len(PREFIX) :] if digest.startswith(PREFIX) else digest
