"""What names, versions, environments and digests may look like: the one definition the manifest, the
policy and the log checks share (they also become paths under refs/bundlectl/, so they must be safe)."""

from __future__ import annotations

import re

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$"
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
ENV_PATTERN = r"^[a-z][a-z0-9-]{0,31}$"
SCHEMA_BASE = "https://bundlectl.dev/schemas"  # each file format's JSON Schema `$id` is SCHEMA_BASE/<file>

_NAME, _VERSION, _DIGEST, _ENV = (re.compile(p) for p in (NAME_PATTERN, VERSION_PATTERN, DIGEST_PATTERN, ENV_PATTERN))


def is_name(value: object) -> bool:
    return isinstance(value, str) and _NAME.fullmatch(value) is not None


def is_version(value: object) -> bool:
    return isinstance(value, str) and _VERSION.fullmatch(value) is not None


def is_digest(value: object) -> bool:
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


def is_env(value: object) -> bool:
    return isinstance(value, str) and _ENV.fullmatch(value) is not None


def schema_url(file: str) -> str:
    """The `$id` of one of the JSON Schemas in schemas/, e.g. bundle.schema.json."""
    return f"{SCHEMA_BASE}/{file}"


def closest(word: str, choices: list[str]) -> str | None:
    """The choice WORD was probably meant to be (`prodution` → `production`), for "did you mean"; None when none is close."""
    import difflib

    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def schema_hint(file: str) -> str:
    """Where a file format is stated: its published JSON Schema, which `schemas export` also writes locally."""
    return f"{schema_url(file)} (`bundlectl schemas export --out schemas` writes it into your repository)"


def pattern_meaning(pattern: str) -> str | None:
    """What a value matching one of the patterns above looks like, in words, for an error message."""
    return {
        NAME_PATTERN: "lowercase letters, digits and dashes, e.g. faq-bot",
        VERSION_PATTERN: "letters, digits and . _ + - (at most 64, starting with a letter or digit), e.g. 1.4.0",
        ENV_PATTERN: "lowercase letters, digits and dashes, starting with a letter, e.g. production",
        DIGEST_PATTERN: "sha256: and 64 lowercase hex digits",
    }.get(pattern)
