"""`export`: write a registered bundle back out as a folder, e.g. to run evals on a rollback-built bundle.

The folder's bundle.yaml is generated from the record, so reading the folder back gives the same
component and bundle digests.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bundlectl.errors import Refused
from bundlectl.record import BundleRecord


def manifest_document(record: BundleRecord) -> dict[str, Any]:
    return {"apiVersion": "bundlectl/v1", "kind": "Bundle", "metadata": record.metadata,
            "components": {kind: component.fields for kind, component in record.components.items()}}


def export_bundle(record: BundleRecord, read_file: Callable[[str], bytes], target: Path) -> Path:
    import yaml

    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise Refused(f"{target} already exists and is not empty; nothing was written", "export into a new folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bundlectl-export-", dir=target.parent))
    try:
        root = staging.resolve()
        for component in record.components.values():
            for relpath in component.files:
                path = (staging / relpath).resolve()
                if not path.is_relative_to(root):  # registered paths were checked; never trust them twice
                    raise Refused(f"stored path {relpath!r} leaves the bundle folder; nothing was written")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(read_file(relpath))
        header = f"# {record.ref} ({record.digest}), exported by bundlectl\n"
        (staging / "bundle.yaml").write_text(header + yaml.safe_dump(manifest_document(record), sort_keys=False, allow_unicode=True))
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target
