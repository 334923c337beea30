"""Reading a policy file: safe YAML, the models, errors with file, line and field."""

from __future__ import annotations

from typing import Any

from bundlectl.errors import InvalidInput, Problem
from bundlectl.manifest.problems import validation_problems
from bundlectl.safeyaml import load_yaml
from bundlectl.textfile import decode_text

MAX_POLICY_BYTES = 256 * 1024


def parse_policy(data: bytes, source: str) -> Any:
    from pydantic import ValidationError

    from bundlectl.policy.model import Policy

    if len(data) > MAX_POLICY_BYTES:
        raise InvalidInput([Problem(source, f"is over the {MAX_POLICY_BYTES}-byte limit for a policy")])
    document = load_yaml(decode_text(data, source), source)
    if not isinstance(document.data, dict):
        raise InvalidInput([Problem(source, "must be a YAML mapping with apiVersion, kind, environments", 1)])
    try:
        return Policy.model_validate(document.data)
    except ValidationError as exc:
        problems = validation_problems(exc.errors(), Policy, source, document, "schemas/policy.schema.json")
        raise InvalidInput(problems, "the format is schemas/policy.schema.json") from None
