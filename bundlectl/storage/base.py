"""The storage interface every registry backend implements.

Three primitives carry everything: immutable content-addressed objects (create-only), an append-only
event log whose head moves by compare-and-swap, and named pointers that move by compare-and-swap in
the same step as the log append. Commands never see which backend is underneath: a backend raises
BundlectlError subclasses only, besides the two signals LogMoved and PointerMoved.

Objects can be files of any size (model weights, vector indexes), so they are stored from paths and
read back as chunks of at most CHUNK bytes: no backend ever holds a whole file in memory.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Literal, NamedTuple

from bundlectl.errors import NotFound, Refused

CHUNK = 1024 * 1024  # objects are read, and large files stored, in pieces of at most this many bytes


class FileToStore(NamedTuple):
    """A file to store as an object, and the sha256 (hex) of the content its key promises.

    The backend hashes the bytes it stores on the way in and refuses a file that no longer has that
    digest (changed since it was hashed, or while it is stored), so a key never names other content.
    """

    path: Path
    sha256: str


@dataclass(frozen=True)
class StoredEvent:
    """One log record as stored: the backend's id for it and the exact payload bytes."""

    id: str
    payload: bytes


@dataclass(frozen=True)
class Pointer:
    """A pointer's current value and the token (blob id, ETag) a compare-and-swap must present."""

    token: str
    value: bytes


@dataclass(frozen=True)
class PointerUpdate:
    name: str
    expected_token: str | None  # None: the pointer must not exist yet
    value: bytes


# LogMoved and PointerMoved are signals from a backend to the registry layer, which turns them into a
# retry or a Conflict; they are deliberately not BundlectlErrors, so one that escaped would show as a bug.
class LogMoved(Exception):
    """The log head was not the one expected: someone appended first. Safe to re-read and retry."""


class PointerMoved(Exception):
    """A pointer was not at the expected token: someone else moved it. Not retried: a real conflict."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


@dataclass(frozen=True)
class NetworkLimits:
    """How long one remote call may take, for callers that must not hang (the runtime): seconds, attempts in all."""

    connect_timeout: float
    read_timeout: float
    attempts: int = 1


class Unchanged(Enum):
    """read_pointer_if_changed's answer when the pointer still has the token the caller holds."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


class Storage(ABC):
    url: str

    @abstractmethod
    def is_initialized(self) -> bool: ...

    @abstractmethod
    def initialize(self) -> None:
        """Create whatever the backend needs before the first event (idempotent)."""

    @abstractmethod
    def index_path(self) -> Path:
        """Where the local, rebuildable read index for this registry lives."""

    # immutable objects -------------------------------------------------------------
    @abstractmethod
    def has_object(self, key: str) -> bool: ...

    @abstractmethod
    def open_object(self, key: str) -> AbstractContextManager[Iterator[bytes]]:
        """The object's bytes as chunks of at most CHUNK bytes, read as they are consumed; NotFound when absent.

        The backend checks what it can while streaming (git: the object's framing and length); the
        content digest is the caller's to check, since it is known only once the last chunk is in.
        """

    def get_object(self, key: str) -> bytes:
        """The whole object in memory: for small objects (reports, component files read as documents)."""
        with self.open_object(key) as chunks:
            return b"".join(chunks)

    @abstractmethod
    def put_object(self, key: str, data: bytes) -> None:
        """Store `data` under `key` unless the key already exists (content-addressed: same key, same bytes)."""

    @abstractmethod
    def put_files(self, files: dict[str, FileToStore], progress: Callable[[int], None] | None = None) -> None:
        """Store several files as objects, skipping keys already present, each in bounded memory.

        `progress` gets the byte count of each piece stored (or skipped as already present).
        """

    # event log ---------------------------------------------------------------------
    def _new_files(self, files: dict[str, FileToStore], progress: Callable[[int], None] | None) -> Iterator[tuple[str, FileToStore]]:
        """The files to store, in key order: those already present are skipped, their size reported as done."""
        for key, item in sorted(files.items()):
            if not self.has_object(key):
                yield key, item
            elif progress is not None:
                progress(item.path.stat().st_size)

    @abstractmethod
    def log_head(self) -> str | None:
        """Id of the newest event, read as cheaply as the backend allows."""

    @abstractmethod
    def events_after(self, since: str | None, head: str) -> list[StoredEvent] | None:
        """Events after `since` up to `head`, oldest first; None when `since` is not in head's history."""

    @abstractmethod
    def append_event(self, payload: bytes, summary: str, expected_head: str | None, updates: list[PointerUpdate], author: str | None = None) -> str:
        """Append one event and move pointers, all or nothing; raises LogMoved or PointerMoved.

        `author` is who acted, for backends that record it themselves (git's commit author).
        """

    # pointers ----------------------------------------------------------------------
    @abstractmethod
    def read_pointer(self, name: str) -> Pointer | None: ...

    def read_pointer_if_changed(self, name: str, token: str | None) -> Pointer | None | Literal[Unchanged.UNCHANGED]:
        """UNCHANGED when the pointer still has `token`; backends make that check cheap."""
        pointer = self.read_pointer(name)
        return UNCHANGED if pointer is not None and pointer.token == token else pointer

    @abstractmethod
    def list_pointers(self) -> dict[str, str]:
        """Every pointer's name and token (for verify)."""

    @abstractmethod
    def all_object_keys(self) -> list[str]:
        """Every stored object key (for verify)."""

    # state outside the log ---------------------------------------------------------
    # Operational state that is no act and no part of the log (webhook delivery progress), shared by every
    # process that uses the registry; compare-and-swap like a pointer, but outside `pointers/`, so `verify`
    # and the log never see it. A backend that cannot share it refuses.
    def read_state(self, name: str) -> Pointer | None:
        raise self._no_state()

    def swap_state(self, name: str, expected_token: str | None, value: bytes) -> bool:
        """Write state `name` only if it still has `expected_token` (None: only if absent); False if it moved."""
        raise self._no_state()

    def _no_state(self) -> Refused:
        return Refused(f"the registry {self.url} cannot keep shared delivery state", "use a git or S3 registry for webhook delivery")

    # sharing and consistency -------------------------------------------------------
    def refresh(self) -> None:
        """Make the next read see the shared registry as it is now, not a local copy within its time to live.

        Writes, `verify` and `status --check` call it; backends read directly have nothing to do.
        """
        return None

    def mismatched_pointers(self, expected: dict[str, bytes]) -> list[str]:
        """Names of pointers whose stored value is not `expected` (name → value), or that exist unexpected.

        Reads call it on every answer, so a backend implements it only where it is as cheap as reading
        the pointers' tokens (git: a blob id is a hash of the value); elsewhere `verify` alone checks.
        """
        return []

    def trusted_time(self) -> datetime | None:
        """The backend's own clock now, where it has one writers may trust (S3's Date header of its newest answer,
        plus the time since). None where the backend has no clock (git)."""
        return None

    def no_registry(self) -> NotFound:
        """The error for a registry that has no log yet, with how to get one."""
        return NotFound(f"no bundlectl registry in {self.url}", "run `bundlectl init` (or pass --registry / set BUNDLECTL_REGISTRY)")
