"""The JSON Schemas generated from the models, written into schemas/ and tested to be current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bundlectl.bundle.manifest.models import Manifest
from bundlectl.evidence.native import NativeReport
from bundlectl.policy.model import Policy
from bundlectl.trust.model import TrustFile

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def generated_schemas() -> dict[str, str]:

    schemas = {
        "bundle.schema.json": Manifest.model_json_schema(by_alias=True),
        "policy.schema.json": Policy.model_json_schema(by_alias=True),
        "evidence.schema.json": NativeReport.model_json_schema(by_alias=True),
        "trust.schema.json": TrustFile.model_json_schema(by_alias=True),
    }
    # pydantic writes draft 2020-12 without saying so; editors and validators need to be told
    return {name: json.dumps({"$schema": DRAFT, **_precise(schema)}, indent=2, ensure_ascii=False) + "\n" for name, schema in schemas.items()}


def _precise(node: Any) -> Any:
    """`X | None` as if/else instead of pydantic's anyOf: the same values pass, but a validator reports X's own
    error at its own path ("'7 days' does not match …") instead of "is not valid under any of the given schemas"."""
    if isinstance(node, list):
        return [_precise(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _precise(value) for key, value in node.items()}
    branches = node.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches and "if" not in node:
        other = branches[0] if branches[1] == {"type": "null"} else branches[1]
        del node["anyOf"]
        node.update({"if": {"type": "null"}, "else": other})
    return node


def export_schemas(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generated_schemas().items():
        path = folder / name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)
        written.append(path)
    return written
