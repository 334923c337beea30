"""The one error family: every refusal carries its message, a hint and the exit code the CLI uses."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple


class ExitCode(IntEnum):
    """The exit codes (README: Exit codes), named once; 70 (EX_SOFTWARE) only ever means a bug in bundlectl."""

    OK = 0
    REFUSED = 1
    USAGE = 2
    CONFLICT = 3
    NOT_FOUND = 4
    INTEGRITY = 5
    BUG = 70
    INTERRUPTED = 130  # 128 + SIGINT, as shells report a process stopped by Ctrl-C
    TERMINATED = 143  # 128 + SIGTERM: a write in progress removed its temporary files on the way out


EXIT_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "done",
    ExitCode.REFUSED: "refused: invalid input, a failed gate or check, a content conflict",
    ExitCode.USAGE: "usage error (a wrong option or argument)",
    ExitCode.CONFLICT: "conflict: someone else moved the pointer first; nothing changed",
    ExitCode.NOT_FOUND: "not found: ref, registry, repository",
    ExitCode.INTEGRITY: "integrity failure: digest mismatch, broken log chain, tampering",
    ExitCode.BUG: "a bug in bundlectl (a crash report is written; please attach it to a bug report)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
    ExitCode.TERMINATED: "terminated (SIGTERM); nothing half-written was kept",
}


class BundlectlError(Exception):
    """Base of every expected failure; anything else reaching the CLI is a bug."""

    exit_code = ExitCode.REFUSED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def details(self) -> dict[str, Any]:
        """Structured facts beside the message, for --json (e.g. the gate a refusal failed)."""
        return {}


class Refused(BundlectlError):
    exit_code = ExitCode.REFUSED


class UsageProblem(BundlectlError):
    exit_code = ExitCode.USAGE


class Conflict(BundlectlError):
    exit_code = ExitCode.CONFLICT


class NotFound(BundlectlError):
    exit_code = ExitCode.NOT_FOUND


class IntegrityFailure(BundlectlError):
    """Something stored is not what bundlectl wrote (exit 5); each subclass names the check that fired."""

    exit_code = ExitCode.INTEGRITY


class DamagedStorage(IntegrityFailure):
    """The backend's own objects or refs are damaged: a ref naming a missing or wrong object, a malformed S3 document."""


class DigestMismatch(IntegrityFailure):
    """Stored bytes do not hash to the digest they are stored under, or a bundle's digest does not match its components."""


class BrokenChain(IntegrityFailure):
    """The log is not one unbroken chain: a seq or prev hash out of order, records cut or rewritten, the log deleted."""


class MalformedRecord(IntegrityFailure):
    """A log record, pointer value or stored document is not in the form bundlectl writes."""


class PointerMismatch(IntegrityFailure):
    """A pointer (an environment's, a pause, a canary or the head) does not hold what the log says it must."""


class IndexMismatch(IntegrityFailure):
    """The local read index disagrees with the log it is built from: it was edited outside bundlectl."""


class TamperedRecord(IntegrityFailure):
    """A record breaks the log's rules once trust is set: unsigned, signed by a key not allowed, or not allowed at all."""


class Problem(NamedTuple):
    """One finding about an input file, located as precisely as we can."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}

    def annotation(self) -> str:
        """The finding without its place: what a CI annotation (which carries file and line itself) says."""
        return f"{self.field}: {self.message}" if self.field else self.message

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        what = f"{self.field}: " if self.field else ""
        return f"{where}: {what}{self.message}"


class InvalidInput(Refused):
    """Input that failed validation; carries every problem found, each with file, line and field."""

    def __init__(self, problems: list[Problem], hint: str | None = None) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems), hint)
