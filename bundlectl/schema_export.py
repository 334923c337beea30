"""The JSON Schemas generated from the models, written into schemas/ and tested to be current."""

from __future__ import annotations

import json
from pathlib import Path


def generated_schemas() -> dict[str, str]:
    from bundlectl.evidence.native import NativeReport
    from bundlectl.manifest.models import Manifest
    from bundlectl.policy.model import Policy
    from bundlectl.trust.model import TrustFile

    schemas = {
        "bundle.schema.json": Manifest.model_json_schema(by_alias=True),
        "policy.schema.json": Policy.model_json_schema(by_alias=True),
        "evidence.schema.json": NativeReport.model_json_schema(by_alias=True),
        "trust.schema.json": TrustFile.model_json_schema(by_alias=True),
    }
    return {name: json.dumps(schema, indent=2, ensure_ascii=False) + "\n" for name, schema in schemas.items()}


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
