"""Bearer tokens for `bundlectl serve`: a file of token hashes (never the tokens) with their scopes.

    tokens:
      - name: checkout-service          # who holds it, for the operator
        sha256: 9f86d081884c7d65…       # sha256 of the token, hex: `printf %s "$TOKEN" | sha256sum`
        scopes: [read, record]          # read: evaluate, files, configuration, metrics; record: POST /v1/outcomes

Without a token file every request is allowed (a loopback or sidecar deployment).
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from bundlectl.errors import InvalidInput, Problem
from bundlectl.serve.replies import Reply, ofrep_error

READ, RECORD = "read", "record"
SCOPES = (READ, RECORD)
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Token:
    name: str
    scopes: frozenset[str]


def load_tokens(path: Path) -> dict[str, Token]:
    """sha256 hex → token, from the file; InvalidInput names the entry that is wrong."""
    from bundlectl.foundation.safeyaml import load_yaml
    from bundlectl.foundation.textfile import read_text

    source = str(path)
    data = load_yaml(read_text(path), source).data
    entries = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise InvalidInput([Problem(source, "must hold `tokens:`, a list of {name, sha256, scopes}")])
    tokens: dict[str, Token] = {}
    for index, entry in enumerate(entries):
        where = f"tokens[{index}]"
        if not isinstance(entry, dict) or set(entry) - {"name", "sha256", "scopes"}:
            raise InvalidInput([Problem(source, f"{where} must be a mapping of name, sha256 and scopes")])
        digest, scopes, name = entry.get("sha256"), entry.get("scopes"), entry.get("name")
        if not isinstance(digest, str) or not _HEX.fullmatch(digest):
            raise InvalidInput([Problem(source, f"{where}.sha256 must be the 64 hex digits of the token's sha256")])
        if not isinstance(scopes, list) or not scopes or not set(scopes) <= set(SCOPES):
            raise InvalidInput([Problem(source, f"{where}.scopes must list some of: {', '.join(SCOPES)}")])
        if digest in tokens:
            raise InvalidInput([Problem(source, f"{where} repeats the hash of {tokens[digest].name}")])
        tokens[digest] = Token(name if isinstance(name, str) else where, frozenset(scopes))
    return tokens


class Authorizer:
    def __init__(self, tokens: dict[str, Token] | None) -> None:
        self.tokens = tokens

    def refusal(self, authorization: str | None, scope: str) -> Reply | None:
        """None when the request may go on; else the 401 (no or unknown token) or 403 (token without the scope)."""
        if self.tokens is None:
            return None
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return ofrep_error(401, None, "a bearer token is required", headers={"WWW-Authenticate": 'Bearer realm="bundlectl"'})
        digest = sha256(presented.strip().encode()).hexdigest()
        token = next((t for known, t in self.tokens.items() if hmac.compare_digest(known, digest)), None)
        if token is None:
            return ofrep_error(401, None, "the bearer token is not known here", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if scope not in token.scopes:
            return ofrep_error(403, None, f"token {token.name!r} may not {scope} (its scopes: {', '.join(sorted(token.scopes))})")
        return None
