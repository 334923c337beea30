"""What the runtime serves: a verified bundle with every file already fetched and checked, and the snapshot it swaps whole."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bundlectl.foundation.outcomes import ARM, CANARY, LIVE
from bundlectl.foundation.stamp import stamp_attributes
from bundlectl.runtime.errors import FileNotInBundle, Paused
from bundlectl.runtime.routing import BUCKETS, routing_bucket

if TYPE_CHECKING:
    from bundlectl.bundle.record import BundleRecord
    from bundlectl.registry.pointers import CanaryValue, PauseValue, PointerValue


@dataclass(frozen=True)
class LiveBundle:
    """One verified bundle as served: its identity, its record, and its files (fetched and checked before it went live)."""

    name: str
    env: str
    version: str
    digest: str
    pointer_version: int
    record: BundleRecord
    files: Mapping[str, bytes]  # bundle-relative path → bytes, every small file of every component
    paths: Mapping[str, Path] = field(default_factory=dict)  # every large file → its verified local read-only copy
    files_dir: Path | None = None  # where `path()` writes local copies of small files
    arm: str = LIVE  # "live", or "candidate" for the canary's share of requests
    canary: int | None = None  # the log seq of the canary step in force (for both arms); None without a canary

    @cached_property
    def attributes(self) -> dict[str, Any]:
        """The stamp: what every request served with this bundle carries (`bundle.*` namespace). Do not modify it."""
        attributes = stamp_attributes(self.name, self.version, self.digest, self.env, self.pointer_version)
        attributes[ARM] = self.arm
        if self.canary is not None:
            attributes[CANARY] = self.canary
        return attributes

    @cached_property
    def series(self) -> tuple[str, str, str, str, str, str]:
        """The labels outcomes are counted under (`outcomes.PROM_LABELS`, in that order)."""
        return (self.name, self.env, self.version, self.digest, self.arm, "" if self.canary is None else str(self.canary))

    def file(self, relpath: str) -> bytes:
        """A component file's bytes; never touches the network (they were fetched before this bundle went live).

        Small files are in memory; a large one (index, weights) is read whole from its local copy: prefer `path`.
        """
        if relpath in self.files:
            return self.files[relpath]
        from bundlectl.digest.canonical import sha256_of
        from bundlectl.errors import BundlectlError, IntegrityFailure
        from bundlectl.safeio.regular import read_regular

        path = self.path(relpath)
        entry = next(c.files[relpath] for c in self.record.components.values() if relpath in c.files)
        try:  # the copy is in a folder others may write: a symlink or a FIFO swapped in is refused, never followed or waited on
            data = read_regular(path, entry.size, follow=False)
        except (OSError, BundlectlError) as exc:
            data, why = None, getattr(exc, "message", None) or str(exc)
        if data is None or sha256_of(data) != entry.digest:
            raise IntegrityFailure(
                f"the local copy of {relpath} of {self.name}@{self.version} ({path}) is no longer the "
                f"verified file: {why if data is None else 'its bytes changed'}",
                "something replaced it in the cache folder; restart the runtime to fetch it again",
            )
        return data

    def path(self, relpath: str) -> Path:
        """A component file as a local read-only file, for large ones: open it, mmap it, hand it to a library.

        Large files were copied in chunks and checked before this bundle went live, under their digest, so
        versions and processes sharing the folder share one copy; a small file is written there from memory.
        """
        if relpath in self.paths:
            return self.paths[relpath]
        if relpath not in self.files or self.files_dir is None:
            raise self._not_in_bundle(relpath)
        from bundlectl.runtime.files import local_copy

        digest = next(c.files[relpath].digest for c in self.record.components.values() if relpath in c.files)
        return local_copy(self.files_dir, digest, len(self.files[relpath]), lambda handle: handle.write(self.files[relpath]))

    def _not_in_bundle(self, relpath: str) -> FileNotInBundle:
        known = sorted([*self.files, *self.paths])
        return FileNotInBundle(f"{relpath} is not a file of {self.name}@{self.version}", f"its files are: {', '.join(known) or 'none'}")

    def text(self, relpath: str) -> str:
        return self.file(relpath).decode("utf-8")

    def document(self, relpath: str) -> Any:
        """A JSON or YAML component file (schema, tool manifest, guardrails) as data, parsed safely."""
        from bundlectl.bundle.content.documents import parse_document

        return parse_document(self.file(relpath), relpath)

    def files_of(self, kind: str) -> list[str]:
        return sorted(self.record.components[kind].files)


@dataclass(frozen=True)
class PauseState:
    """The newest pause or resume of the environment, as the log records it."""

    paused: bool
    reason: str | None
    by: str
    since: str
    seq: int


@dataclass(frozen=True)
class Serving:
    """Everything `current()` needs, swapped as one object: a reader sees the old snapshot or the new, never a mix."""

    bundle: LiveBundle
    pointer: PointerValue
    pause: PauseState | None = None  # None: never paused
    tokens: tuple[str | None, str | None, str | None] = (None, None, None)  # environment, pause and canary pointer tokens
    canary: CanaryValue | None = None  # the canary pointer as last read (None: never set; percent 0: none runs)
    candidate: LiveBundle | None = None  # served to the canary's share of keys, verified like the live bundle
    from_cache: bool = False  # loaded from the runtime cache, not yet confirmed by the registry's log

    @cached_property
    def _bound(self) -> int:
        """The bucket bound of the candidate's share (0: no candidate)."""
        if self.candidate is None or self.canary is None:
            return 0
        return self.canary.percent * (BUCKETS // 100)

    @cached_property
    def unrouted(self) -> LiveBundle:
        """The live bundle for a request without a routing key: not randomised between the arms, so its stamp leaves
        the canary step out and the guard does not count it in the comparison (it would skew the arms' ratio)."""
        return replace(self.bundle, canary=None) if self.bundle.canary is not None else self.bundle

    def route(self, key: str, secret: bytes = b"") -> LiveBundle:
        """The bundle for this routing key: sticky (the same key, the same arm), and a growing share keeps its keys."""
        bound = self._bound
        if not bound:
            return self.bundle
        assert self.candidate is not None
        return self.candidate if routing_bucket(key, self.candidate.digest, secret) < bound else self.bundle

    @property
    def pause_value(self) -> PauseValue | None:
        from bundlectl.registry.pointers import PauseValue

        pause = self.pause
        return PauseValue(self.bundle.name, self.bundle.env, pause.paused, pause.seq) if pause else None

    def refusal(self) -> Paused | None:
        """The exception `current()` raises while paused."""
        pause = self.pause
        if pause is None or not pause.paused:
            return None
        return Paused(self.bundle.name, self.bundle.env, pause.reason, pause.by, pause.since)
