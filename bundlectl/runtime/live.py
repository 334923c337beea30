"""Following the live bundle of NAME in ENV from a serving process: cached, refreshed, never backwards.

The pointer is polled with a conditional read (on S3 one GET that answers 304 when unchanged; on
git a ref-file read). A moved pointer is accepted only if the event log agrees with it, the bundle's
digest recomputes, and its pointer version is higher than any seen: a replayed or stale copy is
refused and reported. If the registry cannot be reached, the last verified bundle keeps serving and
`problem` says why; nothing switches silently.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    _files: dict[str, bytes] = field(default_factory=dict)

    @property
    def attributes(self) -> dict[str, Any]:
        """The stamp: what every request served with this bundle carries (`bundle.*` namespace)."""
        return stamp_attributes(self.name, self.version, self.digest, self.env, self.pointer_version)

    def file(self, relpath: str) -> bytes:
        """A component file's bytes, read from the registry once and checked against its digest."""
        if relpath not in self._files:
            self._files[relpath] = self._read(relpath)
        return self._files[relpath]

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
                 clock: Callable[[], float] = time.monotonic, cwd: Path | None = None, storage: Any = None) -> None:
        from bundlectl.storage.locate import open_storage, registry_url

        self.name, self.env = name, env
        self.poll_interval = poll_interval
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
        return LiveBundle(self.name, self.env, record.version, record.digest, value.pointer_version, record, source.read_file)

    def _serving(self) -> str:
        return f"; still serving {self._live.version} (pointer version {self._live.pointer_version})" if self._live else ""

    def _report(self, problem: str) -> None:
        if problem != self.problem:
            log.warning("bundlectl runtime %s/%s: %s", self.name, self.env, problem)
        self.problem = problem
