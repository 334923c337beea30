"""Reading a policy file: safe YAML, the models, errors with file, line and field."""

from __future__ import annotations

from typing import Any

from bundlectl.foundation.model_file import load_model_file
from bundlectl.policy.model import Policy

MAX_POLICY_BYTES = 256 * 1024


def parse_policy(data: bytes, source: str) -> Any:

    return load_model_file(data, source, Policy, MAX_POLICY_BYTES, "apiVersion, kind, environments", "policy.schema.json")
