"""A local cache of the case outcomes of stored eval reports, so a report over 10,000-case runs is not a re-bind.

An entry is keyed by what fully determines it: the stored report (its key is the sha256 of its bytes), the
bundle it is bound to (its digest) and this layout's version. Only the report reads it; the gate and `verify`
always bind the stored report itself.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from bundlectl.digest.filehash import cache_dir
from bundlectl.evidence.report import CaseResult

LAYOUT = "report-cases-v1"


def _entry(report_key: str, bundle_digest: str) -> Path:
    name = hashlib.sha256(f"{LAYOUT}\n{report_key}\n{bundle_digest}".encode()).hexdigest()
    return cache_dir() / "report-cases" / f"{name}.json"


def _read(path: Path) -> list[CaseResult] | None:
    try:
        rows = json.loads(path.read_bytes())
        return [CaseResult(str(i), s if isinstance(s, str) else None, p is True, variant=int(v)) for i, v, s, p in rows]
    except (OSError, ValueError, TypeError):  # missing, or not what this layout writes: bind again
        return None


def _write(path: Path, cases: list[CaseResult]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps([[c.id, c.variant, c.slice, c.passed] for c in cases]), encoding="utf-8")
        temporary.replace(path)
    except OSError:
        pass  # a read-only cache only costs time


def cached_cases(report_key: str, bundle_digest: str, bind: Callable[[], list[CaseResult]]) -> list[CaseResult]:
    """The cases of the report stored at `report_key` as bound to the bundle `bundle_digest`; `bind` computes them."""
    path = _entry(report_key, bundle_digest)
    found = _read(path)
    if found is None:
        found = bind()
        _write(path, found)
    return found
