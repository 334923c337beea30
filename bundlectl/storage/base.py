"""The storage interface every registry backend implements.

Three primitives carry everything: immutable content-addressed objects (create-only), an append-only
event log whose head moves by compare-and-swap, and named pointers that move by compare-and-swap in
the same step as the log append. Commands never see which backend is underneath: a backend raises
BundlectlError subclasses only, besides the two signals LogMoved and PointerMoved.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Literal


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
    def get_object(self, key: str) -> bytes: ...

    @abstractmethod
    def put_object(self, key: str, data: bytes) -> None:
        """Store `data` under `key` unless the key already exists (content-addressed: same key, same bytes)."""

    @abstractmethod
    def put_files(self, files: dict[str, Path], progress: Callable[[int], None] | None = None) -> None:
        """Store several files as objects, skipping keys already present."""

    # event log ---------------------------------------------------------------------
    @abstractmethod
    def log_head(self) -> str | None:
        """Id of the newest event, read as cheaply as the backend allows."""

    @abstractmethod
    def events_after(self, since: str | None, head: str) -> list[StoredEvent] | None:
        """Events after `since` up to `head`, oldest first; None when `since` is not in head's history."""

    @abstractmethod
    def append_event(
        self, payload: bytes, summary: str, expected_head: str | None, updates: list[PointerUpdate], author: str | None = None
    ) -> str:
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
