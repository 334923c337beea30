"""The digest rules (documented in the README under "Digests").

component digest = sha256(canonical_json({"kind", "fields", "files": {path: file sha256}}))
    `fields` are the manifest fields with defaults left out, so writing a default explicitly does not
    change the digest; `files` maps each referenced file's bundle-relative path to the sha256 of its bytes.
bundle digest = sha256(canonical_json({"apiVersion", "name", "outcome", "components": {kind: digest}}))
    version, owner, description and labels are bookkeeping, not behaviour, and are left out.
"""

from __future__ import annotations

from typing import Any

from bundlectl.digest.canonical import digest_of

API_VERSION = "bundlectl/v1"


def component_digest(kind: str, fields: dict[str, Any], file_digests: dict[str, str]) -> str:
    return digest_of({"kind": kind, "fields": fields, "files": file_digests})


def bundle_digest(name: str, outcome: dict[str, Any] | None, component_digests: dict[str, str]) -> str:
    return digest_of({"apiVersion": API_VERSION, "name": name, "outcome": outcome, "components": component_digests})
