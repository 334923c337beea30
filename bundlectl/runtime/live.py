"""Following the live bundle of NAME in ENV from a serving process: cached, refreshed, never backwards.

The pointer is polled with a conditional read (on S3 one GET that answers 304 when unchanged; on
git a ref-file read). A moved pointer is accepted only if the event log agrees with it, the bundle's
digest recomputes, and its pointer version is higher than any seen: a replayed or stale copy is
refused and reported. If the registry cannot be reached, the last verified bundle keeps serving and
`problem` says why; nothing switches silently.

Component files are read from the registry on demand, their digests checked: small ones whole into
memory (`file`, `text`, `document`), large ones (indexes, weights) as local read-only copies kept by
digest in the cache folder (`path`), streamed in chunks so no process ever holds them whole.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bundlectl.clock import event_time
from bundlectl.errors import BundlectlError, IntegrityFailure, NotFound
from bundlectl.record import BundleRecord
from bundlectl.stamp import REQUEST_ID, stamp_attributes

if TYPE_CHECKING:
    from bundlectl.registry.pointers import PointerValue

log = logging.getLogger("bundlectl.runtime")


class RegistryUnavailable(BundlectlError):
    """Raised only when no verified bundle was ever loaded: there is nothing safe to serve."""


@dataclass
class LiveBundle:
    """One verified bundle as served: its identity, its record, and its files on demand."""

    name: str
    env: str
    version: str
    digest: str
    pointer_version: int
    record: BundleRecord
    _read: Callable[[str], bytes]
    _copy: Callable[[str, IO[bytes]], None]
    _files_dir: Path
    _files: dict[str, bytes] = field(default_factory=dict)
    _paths: dict[str, Path] = field(default_factory=dict)

    @property
    def attributes(self) -> dict[str, Any]:
        """The stamp: what every request served with this bundle carries (`bundle.*` namespace)."""
        return stamp_attributes(self.name, self.version, self.digest, self.env, self.pointer_version)

    def file(self, relpath: str) -> bytes:
        """A component file's bytes, read from the registry once and checked against its digest.

        They stay in memory for the bundle's life: for large files (indexes, weights) use `path`.
        """
        if relpath not in self._files:
            self._files[relpath] = self._read(relpath)
        return self._files[relpath]

    def path(self, relpath: str) -> Path:
        """A component file as a local read-only file, for large ones: open it, mmap it, hand it to a library.

        Copied out of the registry once, in chunks, into the cache folder under its digest (so bundle
        versions and processes sharing a file share one copy), and checked against that digest: when
        copied, and when an existing copy is first used by this bundle (through the stat-keyed hash cache).
        """
        if relpath not in self._paths:
            digest = next(c.files[relpath].digest for c in self.record.components.values() if relpath in c.files)
            self._paths[relpath] = _local_copy(digest, relpath, self._copy, self._files_dir)
        return self._paths[relpath]

    def text(self, relpath: str) -> str:
        return self.file(relpath).decode("utf-8")

    def document(self, relpath: str) -> Any:
        """A JSON or YAML component file (schema, tool manifest, guardrails) as data, parsed safely."""
        from bundlectl.content.documents import parse_document

        return parse_document(self.file(relpath), relpath)

    def files_of(self, kind: str) -> list[str]:
        return sorted(self.record.components[kind].files)


class Runtime:
    def __init__(self, name: str, env: str, registry: str | None = None, *, endpoint_url: str | None = None,
                 poll_interval: float = 30.0, request_log: str | Path | None = None,
                 clock: Callable[[], float] = time.monotonic, cwd: Path | None = None, storage: Any = None,
                 files_dir: str | Path | None = None) -> None:
        """`files_dir` holds the local copies `LiveBundle.path` hands out (default: `files/` in bundlectl's cache folder)."""
        from bundlectl.digest.filehash import cache_dir
        from bundlectl.storage.locate import open_storage, registry_url

        self.name, self.env = name, env
        self.poll_interval = poll_interval
        self.files_dir = Path(files_dir) if files_dir is not None else cache_dir() / "files"
        self.storage = storage or open_storage(registry_url(registry), cwd or Path.cwd(), endpoint_url=endpoint_url)
        self.problem: str | None = None
        self._clock = clock
        self._lock = threading.Lock()
        self._live: LiveBundle | None = None
        self._token: str | None = None
        self._next_check = 0.0
        self._log = open(request_log, "a", buffering=1, encoding="utf-8") if request_log else None
        self._trace: Any = None
        try:
            from opentelemetry import trace

            self._trace = trace
        except ImportError:
            pass
        self.refresh()
        if self._live is None:
            raise RegistryUnavailable(f"no verified bundle of {name} in {env}: {self.problem}",
                                      "check the registry and that something is promoted there")

    # serving ------------------------------------------------------------------------
    def current(self) -> LiveBundle:
        """The bundle to serve now: the cached one, re-checked at most every poll_interval seconds."""
        if self._clock() >= self._next_check:
            self.refresh()
        live = self._live
        assert live is not None
        return live

    def stamp(self, request_id: str | None = None) -> dict[str, Any]:
        """Mark the current request: OTel span attributes when OpenTelemetry is present, and a JSON line."""
        attributes = self.current().attributes
        if request_id is not None:
            attributes = {**attributes, REQUEST_ID: request_id}
        if self._trace is not None:
            span = self._trace.get_current_span()
            if span.is_recording():
                span.set_attributes(attributes)
        if self._log is not None:
            self._log.write(json.dumps({"time": event_time(), **attributes}) + "\n")
        return attributes

    def close(self) -> None:
        if self._log is not None:
            self._log.close()

    # following the pointer -----------------------------------------------------------
    def refresh(self) -> bool:
        """Check the pointer now; True when a newer verified bundle was loaded."""
        if not self._lock.acquire(blocking=self._live is None):
            return False  # another thread is refreshing; keep serving what we have
        try:
            self._next_check = self._clock() + self.poll_interval
            return self._refresh()
        except Exception as exc:  # serving must go on whatever the registry holds; `problem` says why
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            self._report(f"registry unreachable or inconsistent ({message})" + self._serving())
            return False
        finally:
            self._lock.release()

    def _refresh(self) -> bool:
        from bundlectl.registry.pointers import PointerValue, pointer_name
        from bundlectl.storage.base import UNCHANGED

        name = pointer_name(self.name, self.env)
        pointer = self.storage.read_pointer_if_changed(name, self._token)
        if pointer is UNCHANGED:
            self.problem = None
            return False
        if pointer is None:
            raise NotFound(f"nothing of {self.name} is live in {self.env}")
        value = PointerValue.decode(pointer.value, name)
        seen = self._live.pointer_version if self._live else 0
        if value.pointer_version < seen:
            self._report(f"refused a replayed or stale pointer: version {value.pointer_version} "
                         f"({value.version}) is older than version {seen} already served" + self._serving())
            return False
        if self._live is not None and value.pointer_version == seen and value.digest == self._live.digest:
            self._token, self.problem = pointer.token, None
            return False
        self._live = self._verified(value)
        self._token, self.problem = pointer.token, None
        log.info("now serving %s@%s (%s) in %s, pointer version %s", self.name, self._live.version,
                 self._live.digest, self.env, self._live.pointer_version)
        return True

    def _verified(self, value: PointerValue) -> LiveBundle:
        from bundlectl.refs import registry_source
        from bundlectl.registry.fresh import fresh_index

        index = fresh_index(self.storage)
        logged = index.pointer(self.name, self.env)
        if logged is None or (logged.pointer_version, logged.digest) != (value.pointer_version, value.digest):
            raise IntegrityFailure(f"the pointer says {value.version} (version {value.pointer_version}) but the log "
                                   f"says {logged.version if logged else 'nothing'} (version {logged.pointer_version if logged else 0})")
        row = index.bundle(self.name, value.version)
        if row is None or row.digest != value.digest:
            raise IntegrityFailure(f"{self.name}@{value.version} is not registered with digest {value.digest}")
        record = row.record()
        if record.computed_digest() != record.digest:
            raise IntegrityFailure(f"{record.ref}: the bundle digest does not match its components")
        source = registry_source(record, self.storage, record.ref)
        return LiveBundle(self.name, self.env, record.version, record.digest, value.pointer_version, record, source.read_file,
                          source.copy_file, self.files_dir)

    def _serving(self) -> str:
        return f"; still serving {self._live.version} (pointer version {self._live.pointer_version})" if self._live else ""

    def _report(self, problem: str) -> None:
        if problem != self.problem:
            log.warning("bundlectl runtime %s/%s: %s", self.name, self.env, problem)
        self.problem = problem


def _local_copy(digest: str, relpath: str, copy: Callable[[str, IO[bytes]], None], folder: Path) -> Path:
    """The file with this digest under `folder`: checked if already there, else copied in and renamed into place."""
    from bundlectl.digest.filehash import FileHasher

    hex_digest = digest.removeprefix("sha256:")
    target = folder / hex_digest[:2] / hex_digest
    if target.is_file() and FileHasher().digest(target) == digest:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{hex_digest}.{secrets.token_hex(4)}.partial")
    try:
        with open(partial, "xb") as handle:
            copy(relpath, handle)  # raises IntegrityFailure, once the last chunk is in, if the digest differs
        os.chmod(partial, 0o444)
        os.replace(partial, target)  # a damaged copy found above is replaced whole, never edited in place
    finally:
        partial.unlink(missing_ok=True)
    return target
