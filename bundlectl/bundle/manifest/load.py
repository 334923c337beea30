"""Loading bundle.yaml from a folder: safe YAML, then the models, with errors mapped to file:line:field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundlectl.bundle.manifest.models import Manifest
from bundlectl.errors import InvalidInput, Problem
from bundlectl.foundation.names import schema_hint, schema_url
from bundlectl.foundation.safeyaml import YamlDocument, load_yaml
from bundlectl.foundation.textfile import read_text
from bundlectl.foundation.validation_problems import validation_problems

MANIFEST_FILE = "bundle.yaml"
MAX_MANIFEST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LoadedManifest:
    manifest: Any  # bundlectl.bundle.manifest.models.Manifest
    root: Path
    path: Path
    source: str
    document: YamlDocument

    def line_of(self, *path: Any) -> int | None:
        return self.document.line_of(tuple(path))


def manifest_path(target: Path) -> Path:
    """Accept a bundle folder or its bundle.yaml."""
    if target.is_dir():
        return target / MANIFEST_FILE
    return target


def load_manifest(target: Path, display: str | None = None) -> LoadedManifest:
    from pydantic import ValidationError

    path = manifest_path(target)
    source = display or str(path)
    if not path.exists():
        raise InvalidInput(
            [Problem(source, "not found")],
            f"a bundle is a folder with a {MANIFEST_FILE}; create one with `bundlectl new NAME`",
        )
    text = read_text(path, source, MAX_MANIFEST_BYTES)
    document = load_yaml(text, source)
    if not isinstance(document.data, dict):
        raise InvalidInput([Problem(source, "must be a YAML mapping with apiVersion, kind, metadata, components", 1)])
    try:
        manifest = Manifest.model_validate(document.data)
    except ValidationError as exc:
        raise InvalidInput(
            validation_problems(exc.errors(), Manifest, source, document, schema_url("bundle.schema.json")),
            f"the full format is {schema_hint('bundle.schema.json')}",
        ) from None
    return LoadedManifest(manifest, path.parent, path, source, document)
