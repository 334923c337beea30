"""The stable JSON shape of a bundle for `show --json`."""

from __future__ import annotations

from typing import Any

from bundlectl.bundle.record import BundleRecord


def describe(record: BundleRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "version": record.version,
        "digest": record.digest,
        "metadata": record.metadata,
        "lineage": record.lineage,
        "components": {
            kind: {
                "digest": c.digest,
                "absent": c.absent,
                "fields": c.fields,
                "files": {p: {"digest": f.digest, "size": f.size} for p, f in c.files.items()},
            }
            for kind, c in record.components.items()
        },
    }
