"""`export`: write a registered bundle back out as a folder, e.g. to run evals on a rollback-built bundle.

The folder's bundle.yaml is generated from the record, so reading the folder back gives the same
component and bundle digests.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from bundlectl.bundle.record import BundleRecord
from bundlectl.errors import Refused


def manifest_document(record: BundleRecord) -> dict[str, Any]:
    return {
        "apiVersion": "bundlectl/v1",
        "kind": "Bundle",
        "metadata": record.metadata,
        "components": {kind: component.fields for kind, component in record.components.items()},
    }


def export_bundle(record: BundleRecord, copy_file: Callable[[str, IO[bytes]], None], target: Path) -> Path:
    """Write the bundle into the new folder `target`; `copy_file(relpath, handle)` writes one file, in chunks.

    Everything is written to a staging folder beside `target` and renamed into place at the end, so a
    file whose stored bytes fail their digest check (which `copy_file` raises once its last chunk is
    in) leaves nothing behind.
    """
    import yaml

    if target.is_symlink():  # renamed over, or emptied, it would not be where it leads
        raise Refused(f"{target} is a symbolic link; nothing was written", "export into a new folder")
    if target.exists() and not target.is_dir():
        raise Refused(f"{target} already exists and is not a folder; nothing was written", "export into a new folder")
    if target.exists() and any(target.iterdir()):
        raise Refused(f"{target} already exists and is not empty; nothing was written", "export into a new folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".bundlectl-export-", dir=target.parent))
    except OSError as exc:
        raise _unwritable(target, exc) from None
    try:
        root = staging.resolve()
        for component in record.components.values():
            for relpath in component.files:
                path = (staging / relpath).resolve()
                if not path.is_relative_to(root):  # registered paths were checked; never trust them twice
                    raise Refused(f"stored path {relpath!r} leaves the bundle folder; nothing was written")
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "xb") as handle:
                    copy_file(relpath, handle)
        header = f"# {record.ref} ({record.digest}), exported by bundlectl\n"
        manifest = yaml.safe_dump(manifest_document(record), sort_keys=False, allow_unicode=True)
        (staging / "bundle.yaml").write_text(header + manifest)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise _unwritable(target, exc) from None
        raise
    return target


def _unwritable(target: Path, exc: OSError) -> Refused:
    return Refused(f"cannot export into {target}: {exc.strerror}; nothing was written", "export into a new folder in a place you can write to")
