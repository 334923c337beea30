"""The frozen, registered form of a bundle: plain data with every digest, no pydantic on the read path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bundlectl.bundle.manifest import KINDS
from bundlectl.digest.bundle import bundle_digest, component_digest
from bundlectl.digest.canonical import digest_of


@dataclass(frozen=True)
class FileEntry:
    digest: str
    size: int


@dataclass(frozen=True)
class ComponentRecord:
    kind: str
    digest: str
    fields: dict[str, Any]
    files: dict[str, FileEntry] = field(default_factory=dict)

    @property
    def absent(self) -> bool:
        return "absent" in self.fields

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "fields": self.fields,
            "files": {p: {"digest": f.digest, "size": f.size} for p, f in sorted(self.files.items())},
        }

    @classmethod
    def from_json(cls, kind: str, data: dict[str, Any]) -> ComponentRecord:
        files = {p: FileEntry(f["digest"], f["size"]) for p, f in data.get("files", {}).items()}
        return cls(kind, data["digest"], data["fields"], files)


@dataclass(frozen=True)
class BundleRecord:
    name: str
    version: str
    digest: str
    metadata: dict[str, Any]
    components: dict[str, ComponentRecord]
    lineage: dict[str, Any] | None = None  # for bundles built by a component rollback: parents, swapped kinds

    @classmethod
    def build(
        cls, name: str, version: str, metadata: dict[str, Any], components: dict[str, ComponentRecord], lineage: dict[str, Any] | None = None
    ) -> BundleRecord:
        """A new record, its bundle digest computed from its components and metadata."""
        return cls(name, version, bundle_digest(name, metadata.get("outcome"), _digests(components)), metadata, components, lineage)

    def computed_digest(self) -> str:
        """The bundle digest its components and metadata give; differs from `digest` only after tampering."""
        return bundle_digest(self.name, self.metadata.get("outcome"), _digests(self.components))

    def altered_component(self) -> str | None:
        """The first component whose digest its fields and file digests do not give (tampering); None if all agree."""
        for kind, component in self.components.items():
            files = {path: entry.digest for path, entry in component.files.items()}
            if component_digest(kind, component.fields, files) != component.digest:
                return kind
        return None

    def to_json(self) -> dict[str, Any]:
        document = {
            "apiVersion": "bundlectl/v1",
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "metadata": self.metadata,
            "components": {k: c.to_json() for k, c in self.components.items()},
        }
        if self.lineage is not None:
            document["lineage"] = self.lineage
        return document

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BundleRecord:

        raw = data["components"]
        components = {k: ComponentRecord.from_json(k, raw[k]) for k in KINDS if k in raw}
        return cls(data["name"], data["version"], data["digest"], data["metadata"], components, data.get("lineage"))

    @property
    def record_digest(self) -> str:
        """Identity of the whole registration (metadata included): equal means re-registering is a no-op."""
        return digest_of(self.to_json())

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def _digests(components: dict[str, ComponentRecord]) -> dict[str, str]:
    return {kind: component.digest for kind, component in components.items()}
