"""`bundlectl eval`: run a harness on the bundle's exact files and bind the report it wrote as a measured run.

The bundle is exported to a fresh folder, the command (by default the harness the bundle declares,
`evals: {harness: [...]}`) runs there (environment `BUNDLECTL_BUNDLE_DIR`, `BUNDLECTL_BUNDLE_DIGEST`),
and bundlectl itself measures when it ran, how it exited, where, and which executable ran (its path
and sha256; its version from `TOOL --version`, never from the command's output). The report must have
been written by this run: it must exist only after it, and the run time it states must fall inside
the time bundlectl measured. What ran must be the bundle: the exported files are unchanged after the
run, and a promptfoo run names the exported suite as its only config and read its prompts from the
exported folder. Only a run of exactly the declared harness counts under `provenance: run`.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from bundlectl.bundle.export import export_bundle
from bundlectl.bundle.record import BundleRecord
from bundlectl.digest.filehash import sha256_file
from bundlectl.errors import InvalidInput, Problem, Refused, UsageProblem
from bundlectl.evidence.add import EvidenceAdded, add_evidence
from bundlectl.evidence.importers import read_report
from bundlectl.evidence.provenance import measured_run
from bundlectl.evidence.record import declared_harness, outside_run
from bundlectl.evidence.report import Report
from bundlectl.foundation.clock import rfc3339
from bundlectl.registry.bundles import StoredFiles
from bundlectl.registry.log import recorded_actor
from bundlectl.registry.read import index_at_head
from bundlectl.registry.rows import BundleRow
from bundlectl.storage.base import Storage
from bundlectl.trust.identity import Acting

_VERSION = re.compile(r"\b(\d+\.\d+(?:\.\d+)?(?:[-+.][0-9A-Za-z.]+)?)")
_VERSION_TIMEOUT = 60  # seconds for `TOOL --version`
_LAUNCHERS = ("npx", "pnpx", "bunx")


class EvalRun(NamedTuple):
    added: EvidenceAdded
    command: list[str]  # what ran: the command given, or the bundle's declared harness
    exit_status: int
    report: str
    started_at: str
    ended_at: str
    folder: Path | None  # the exported bundle, when kept

    def to_json(self) -> dict[str, Any]:
        """The `eval --json` document: the evidence bound, and the run that made it."""
        return {
            **self.added.to_json(),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "command": self.command,
            "exit_status": self.exit_status,
            "report": self.report,
            "folder": str(self.folder) if self.folder else None,
        }


def report_path(command: list[str], explicit: str | None) -> str:
    """Where the command writes its report: --report, else promptfoo's -o/--output, else pytest's --junitxml."""
    if explicit:
        return explicit
    flags = ["--junitxml", "--junit-xml"]
    if _is_promptfoo(command):
        flags += ["-o", "--output"]
    for index, arg in enumerate(command):
        for flag in flags:
            if arg == flag and index + 1 < len(command):
                return command[index + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    raise UsageProblem(
        f"cannot tell where `{' '.join(command)}` writes its report",
        "pass --report FILE (relative to the exported bundle folder the command runs in)",
    )


def run_eval(
    storage: Storage,
    bundle: BundleRow,
    command: list[str],
    report: str | None,
    fmt: str,
    actor: Acting,
    reason: str | None = None,
    *,
    keep: bool = False,
    output: Callable[[bytes], None] | None = None,
    store: bool = True,
) -> EvalRun:
    """Run COMMAND (default: the bundle's declared harness) on BUNDLE's exported files and bind its report;
    its standard output goes to `output` as it comes."""

    recorded_actor(index_at_head(storage), "evidence", {}, actor)  # keys that may not sign it are refused before the run
    record = bundle.record()
    harness = declared_harness(record)
    if not command:
        if harness is None:
            raise UsageProblem(
                f"no command to run, and {record.ref} declares no harness",
                "declare it in bundle.yaml (evals: {harness: [promptfoo, eval, -c, …, -o, results.json]}), "
                "or write the command after `--`: bundlectl eval REF -- COMMAND…",
            )
        command = harness
    written = report_path(command, report)
    folder = Path(tempfile.mkdtemp(prefix="bundlectl-eval-")) / bundle.name
    try:
        digests = {p: f.digest for c in record.components.values() for p, f in c.files.items()}
        export_bundle(record, StoredFiles(storage, digests, record.ref).copy_to, folder)
        _check_promptfoo_configs(command, folder, record)
        target = Path(written) if Path(written).is_absolute() else folder / written
        before = target.stat().st_mtime_ns if target.exists() else None
        env = {**os.environ, "BUNDLECTL_BUNDLE_DIR": str(folder), "BUNDLECTL_BUNDLE_DIGEST": bundle.digest, "BUNDLECTL_BUNDLE_REF": record.ref}
        executable = _executable(command[0], folder, env)
        resolved = os.path.realpath(executable)
        ran = (resolved, sha256_file(Path(resolved)))  # hashed before it runs: what ran, not what it left behind
        tool_version = _tool_version(command, executable, folder, env)
        started = datetime.now(UTC)
        status = _run(command, executable, folder, env, output or _stdout)
        ended = datetime.now(UTC)
        _check_bundle_unchanged(record, folder, command)
        if not target.is_file() or (before is not None and target.stat().st_mtime_ns == before):
            raise Refused(
                f"`{' '.join(command)}` exited {status} and wrote no report at {written}; nothing was stored",
                "check the command's output above; --report FILE says where it writes its report",
            )
        provenance = measured_run(command, status, started, ended, socket.gethostname(), ran, tool_version)

        def written_by_this_run(parsed: Report) -> None:
            if outside_run(parsed.run_at, started, ended):
                raise InvalidInput(
                    [
                        Problem(
                            written,
                            f"says it ran at {rfc3339(parsed.run_at)}, but this run went from "
                            f"{rfc3339(started)} to {rfc3339(ended)}: the command did not write it "
                            "(a copied or stale report?)",
                        )
                    ],
                    "the command must run the suite itself; nothing was stored",
                )
            _check_ran_in(parsed, folder, written)

        added = add_evidence(
            storage,
            bundle,
            read_report(target, written),
            written,
            None,
            fmt,
            actor,
            reason,
            provenance=provenance,
            check_report=written_by_this_run,
            store=store,
        )
        return EvalRun(added, command, status, written, rfc3339(started), rfc3339(ended), folder if keep else None)
    finally:
        if not keep:
            shutil.rmtree(folder.parent, ignore_errors=True)


def _stdout(chunk: bytes) -> None:
    os.write(1, chunk)


def _executable(word: str, folder: Path, env: dict[str, str]) -> str:
    """The file the command's first word runs: a path (relative to the bundle folder it runs in), or found on PATH."""
    found = (word if os.path.isabs(word) else str(folder / word)) if "/" in word else shutil.which(word, path=env.get("PATH"))
    if not found or not os.path.isfile(found) or not os.access(found, os.X_OK):
        from bundlectl.evidence.promptfoo_install import promptfoo_hint

        raise UsageProblem(
            f"cannot run {word!r}: no such executable" + ("" if "/" in word else " on PATH"),
            promptfoo_hint() if word == "promptfoo" else "is the tool installed and on PATH?",
        )
    return found


def _tool_version(command: list[str], executable: str, folder: Path, env: dict[str, str]) -> str | None:
    """The version the installed tool states (`TOOL --version`; `python -m MODULE --version`; `npx PACKAGE --version`).

    A script of the bundle itself is not asked: it is pinned by the bundle digest, and asking would run it."""
    if Path(os.path.realpath(executable)).is_relative_to(os.path.realpath(folder)):
        return None
    words = _tool(command)[1]
    try:
        said = subprocess.run(
            [executable, *command[1:words], "--version"],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = _VERSION.search((said.stdout or said.stderr)[:4096].decode("utf-8", "replace")) if said.returncode == 0 else None
    return found.group(1) if found else None


def _run(command: list[str], executable: str, folder: Path, env: dict[str, str], output: Callable[[bytes], None]) -> int:
    """Run the command, streaming its standard output through; its exit status."""
    try:
        process = subprocess.Popen(command, executable=executable, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    except (FileNotFoundError, PermissionError) as exc:
        raise UsageProblem(f"cannot run {command[0]!r}: {exc.strerror}", "is the tool installed and on PATH?") from None
    assert process.stdout is not None
    try:
        while chunk := os.read(process.stdout.fileno(), 65536):
            output(chunk)
    finally:
        status = process.wait()
    return status


def _tool(command: list[str]) -> tuple[str, int]:
    """The tool a command runs, and how many of its first words name it: `promptfoo …` (1), `npx -y promptfoo@X …`
    (3), `python -m pytest …` (3)."""
    name = Path(command[0]).name
    if name in _LAUNCHERS:
        index = next((i for i, arg in enumerate(command) if i and not arg.startswith("-")), 0)
        return (Path(command[index]).name, index + 1) if index else (name, 1)
    if name.startswith("python") and command[1:2] == ["-m"] and len(command) > 2:
        return command[2], 3
    return name, 1


def _is_promptfoo(command: list[str]) -> bool:
    """Whether the command runs promptfoo: `promptfoo …`, `/path/to/promptfoo …` or `npx [-y] promptfoo[@X] …`."""
    return _tool(command)[0].partition("@")[0] == "promptfoo"


def _promptfoo_configs(command: list[str]) -> list[str] | None:
    """The configs a promptfoo command names (`-c A [B…]`, `--config A`, `--config=A`); None when it is not promptfoo."""
    if not _is_promptfoo(command):
        return None
    configs: list[str] = []
    taking = False
    for arg in command:
        if arg in ("-c", "--config"):
            taking = True
        elif arg.startswith(("--config=", "-c=")):
            configs.append(arg.split("=", 1)[1])
            taking = False
        elif taking and not arg.startswith("-"):
            configs.append(arg)  # promptfoo's -c takes several paths
        else:
            taking = False
    return configs


def _check_promptfoo_configs(command: list[str], folder: Path, record: BundleRecord) -> None:
    """A promptfoo run of a bundle runs its suite, exported, alone: another config (an overlay, a copy
    elsewhere next to another provider.py) would change what ran while the report still looked like it."""
    configs = _promptfoo_configs(command)
    if configs is None:
        return
    suite = record.components["evals"].fields.get("suite")
    exported = (folder / suite).resolve() if suite else None
    wrong = next((c for c in configs if (folder / c).resolve() != exported), None)
    if exported is None or len(configs) != 1 or wrong is not None:
        named = f"`-c {wrong}`" if wrong else f"{len(configs)} configs ({', '.join(configs)})" if configs else "no config"
        raise Refused(
            f"the promptfoo command names {named}; a run of {record.ref} runs its own suite, "
            f"{suite or '(none declared)'}, alone; nothing ran and nothing was stored",
            f"bundlectl eval {record.ref} -- promptfoo eval -c {suite or 'SUITE'} -o results.json",
        )


def _check_ran_in(report: Report, folder: Path, written: str) -> None:
    """Every prompt file a promptfoo run read lies inside the exported bundle (the report names them by absolute path)."""
    root = os.path.realpath(folder)
    for index, prompt in enumerate((report.config or {}).get("prompts") or []):
        entry = prompt.get("id") if isinstance(prompt, dict) else prompt
        path = entry[len("file://") :] if isinstance(entry, str) and entry.startswith("file://") else None
        if path is not None and not Path(os.path.realpath(folder / path)).is_relative_to(root):
            raise InvalidInput(
                [
                    Problem(
                        written,
                        f"ran the prompt file {path}, outside the exported bundle ({folder}): the run did not run this bundle's files",
                        field=f"config.prompts[{index}]",
                    )
                ],
                "run the bundle's own suite with `-c` relative to the bundle folder; nothing was stored",
            )


def _check_bundle_unchanged(record: BundleRecord, folder: Path, command: list[str]) -> None:
    """The exported files are still the registered ones after the run: a harness that edits them ran something else."""
    for component in record.components.values():
        for path, entry in sorted(component.files.items()):
            exported = folder / path
            if not exported.is_file() or sha256_file(exported) != entry.digest:
                raise Refused(
                    f"`{' '.join(command)}` changed {path} of the exported bundle while it ran, so what it ran is "
                    "not the registered bundle; nothing was stored",
                    "a harness must not edit the bundle's files; write outputs elsewhere",
                )
