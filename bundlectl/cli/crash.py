"""The crash report an internal error (exit 70) leaves behind: versions, the command line and the traceback, in one file."""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bundlectl import __version__
from bundlectl.digest.filehash import cache_dir

# the libraries whose versions a bug report most often needs
LIBRARIES = ("click", "pydantic", "PyYAML", "GitPython", "deepdiff", "cryptography", "jsonschema", "boto3")


def write_crash_report(exc: BaseException, argv: list[str]) -> Path | None:
    """Write the report under the cache folder (else the temp folder) and return its path; None if neither is writable."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = crash_report(exc, argv)
    for folder in (cache_dir() / "crashes", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"bundlectl-crash-{stamp}-{os.getpid()}.txt"
            path.write_text(text)
            return path
        except OSError:
            continue
    return None


def crash_report(exc: BaseException, argv: list[str]) -> str:
    lines = [f"bundlectl {__version__}", f"python {sys.version.split()[0]} ({sys.executable})", f"platform {platform.platform()}"]
    for name in LIBRARIES:
        try:
            lines.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{name} (not installed)")
    lines += ["", "command: " + " ".join(["bundlectl", *argv]), "", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    return "\n".join(lines)
