"""`bundlectl eval`: run a harness on the bundle's exact files and bind the report it wrote as a measured run.

The bundle is exported to a fresh folder, the command runs there (environment `BUNDLECTL_BUNDLE_DIR`,
`BUNDLECTL_BUNDLE_DIGEST`), and bundlectl itself measures when it ran, how it exited and where. The
report must have been written by this run: it must exist only after it, and the run time it states
must fall inside the time bundlectl measured.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from bundlectl.clock import rfc3339
from bundlectl.errors import InvalidInput, Problem, Refused, UsageProblem
from bundlectl.evidence.provenance import measured_run
from bundlectl.evidence.report import Report
from bundlectl.evidence.store import EvidenceAdded, add_evidence, component_reader
from bundlectl.identity import Acting
from bundlectl.registry.fresh import fresh_index
from bundlectl.registry.log import recorded_actor
from bundlectl.registry.rows import BundleRow
from bundlectl.storage.base import Storage

WINDOW_SLACK = timedelta(seconds=2)  # report times and ours come from one clock; this covers rounding only
_VERSION_PATTERNS = (re.compile(rb"\bpytest-(\d+\.\d+[\w.]*)"),
                     re.compile(rb"\bpromptfoo[@ v]+(\d+\.\d+\.\d+)"))
_SCANNED = 64 * 1024  # a tool says its version near the start of its output


class EvalRun(NamedTuple):
    added: EvidenceAdded
    exit_status: int
    report: str
    started_at: str
    ended_at: str
    folder: Path | None  # the exported bundle, when kept


def report_path(command: list[str], explicit: str | None) -> str:
    """Where the command writes its report: --report, else promptfoo's -o/--output, else pytest's --junitxml."""
    if explicit:
        return explicit
    flags = ["--junitxml", "--junit-xml"]
    if any(Path(arg).name.startswith("promptfoo") for arg in command[:3]):
        flags += ["-o", "--output"]
    for index, arg in enumerate(command):
        for flag in flags:
            if arg == flag and index + 1 < len(command):
                return command[index + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    raise UsageProblem(f"cannot tell where `{' '.join(command)}` writes its report",
                       "pass --report FILE (relative to the exported bundle folder the command runs in)")


def run_eval(storage: Storage, bundle: BundleRow, command: list[str], report: str | None, fmt: str, actor: Acting,
             reason: str | None = None, keep: bool = False, output: Callable[[bytes], None] | None = None) -> EvalRun:
    """Run COMMAND on BUNDLE's exported files and bind its report; its standard output goes to `output` as it comes."""
    from bundlectl.export import export_bundle

    if not command:
        raise UsageProblem("no command to run", "write it after `--`: bundlectl eval REF -- promptfoo eval -c … -o results.json")
    written = report_path(command, report)
    recorded_actor(fresh_index(storage), "evidence", {}, actor)  # keys that may not sign it are refused before the run
    record = bundle.record()
    folder = Path(tempfile.mkdtemp(prefix="bundlectl-eval-")) / bundle.name
    try:
        export_bundle(record, component_reader(storage, record), folder)
        target = Path(written) if Path(written).is_absolute() else folder / written
        before = target.stat().st_mtime_ns if target.exists() else None
        env = {**os.environ, "BUNDLECTL_BUNDLE_DIR": str(folder), "BUNDLECTL_BUNDLE_DIGEST": bundle.digest,
               "BUNDLECTL_BUNDLE_REF": record.ref}
        started = datetime.now(UTC)
        status, said = _run(command, folder, env, output or _stdout)
        ended = datetime.now(UTC)
        if not target.is_file() or (before is not None and target.stat().st_mtime_ns == before):
            raise Refused(f"`{' '.join(command)}` exited {status} and wrote no report at {written}; nothing was stored",
                          "check the command's output above; --report FILE says where it writes its report")
        tool_version = said or _installed_version(command, folder)
        provenance = measured_run(command, status, started, ended, socket.gethostname(), tool_version)

        def written_by_this_run(parsed: Report) -> None:
            if not started - WINDOW_SLACK <= parsed.run_at <= ended + WINDOW_SLACK:
                raise InvalidInput([Problem(written, f"says it ran at {rfc3339(parsed.run_at)}, but this run went from "
                                                     f"{rfc3339(started)} to {rfc3339(ended)}: the command did not write it "
                                                     "(a copied or stale report?)")],
                                   "the command must run the suite itself; nothing was stored")

        added = add_evidence(storage, bundle, target.read_bytes(), written, None, fmt, actor, reason,
                             provenance=provenance, check_report=written_by_this_run)
        return EvalRun(added, status, written, rfc3339(started), rfc3339(ended), folder if keep else None)
    finally:
        if not keep:
            shutil.rmtree(folder.parent, ignore_errors=True)


def _stdout(chunk: bytes) -> None:
    os.write(1, chunk)


def _run(command: list[str], folder: Path, env: dict[str, str], output: Callable[[bytes], None]) -> tuple[int, str | None]:
    """Run and stream the command's standard output through, noting a version it states; its exit status."""
    try:
        process = subprocess.Popen(command, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    except (FileNotFoundError, PermissionError) as exc:
        raise UsageProblem(f"cannot run {command[0]!r}: {exc.strerror}", "is the tool installed and on PATH?") from None
    assert process.stdout is not None
    head, version = b"", None
    try:
        while chunk := os.read(process.stdout.fileno(), 65536):
            output(chunk)
            if version is None and len(head) < _SCANNED:
                head += chunk
                version = next((m.group(1).decode() for p in _VERSION_PATTERNS if (m := p.search(head))), None)
    finally:
        status = process.wait()
    return status, version


def _installed_version(command: list[str], folder: Path) -> str | None:
    """promptfoo's version from the package it runs (npx promptfoo@X, or node_modules/.bin/promptfoo)."""
    import json

    for arg in command[:3]:
        name, _, pinned = Path(arg).name.partition("@")
        if name != "promptfoo":
            continue
        if pinned:
            return pinned
        found = shutil.which(arg) if "/" not in arg else str(folder / arg)  # an absolute arg stays itself under /
        if not found:
            return None
        for parent in Path(found).resolve().parents:
            manifest = parent / "package.json"
            if manifest.is_file():
                try:
                    package = json.loads(manifest.read_text())
                except (OSError, ValueError):
                    return None
                return str(package.get("version")) if package.get("name") == "promptfoo" else None
    return None
