"""The last verified bundle on disk (`Runtime(cache_dir=…)`), so a process that starts while the registry is down can serve.

Layout: `live/NAME@ENV.json` (the pointer, the pause state and the bundle record) and `blobs/HEX` (file
bytes by sha256; the runtime keeps its local copies of large files there too, so they are never copied
twice). Every write is atomic (temporary file, fsync, rename), blobs before the state that names them.
Nothing is trusted on the way back: the record's digest is recomputed and every blob is hashed
again, so a damaged or edited cache is refused, never served.
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bundlectl.digest.canonical import canonical_json, hex_of, sha256_of
from bundlectl.errors import BundlectlError
from bundlectl.foundation.clock import event_time
from bundlectl.runtime.bundle import LiveBundle, PauseState, Serving
from bundlectl.safeio.regular import read_regular

if TYPE_CHECKING:
    from bundlectl.bundle.record import BundleRecord, FileEntry

FORMAT = 1
_HEX = re.compile(r"[0-9a-f]{64}")
MAX_STATE_BYTES = 64 * 1024 * 1024  # a state or lease file larger than this was not written by a runtime
STALE_BLOB_SECONDS = 3600  # unreferenced blobs younger than this may belong to a state another process is writing; also a lease's life


class CacheUnusable(BundlectlError):
    """The cache holds nothing this runtime may serve; the message says why."""


class LastGood:
    """The cache of one runtime: NAME in ENV of one registry, in a folder several runtimes may share."""

    def __init__(self, folder: Path, name: str, env: str, registry: str) -> None:
        self.folder, self.name, self.env, self.registry = folder, name, env, registry
        self.state_path = folder / "live" / f"{name}@{env}.json"
        self.lease_path = folder / "in-use" / f"{name}@{env}.{uuid.uuid4().hex}.json"  # this runtime's, see keep()
        self._leased: list[str] | None = None

    # writing -----------------------------------------------------------------------
    def save(self, serving: Serving) -> None:
        from bundlectl.runtime.files import local_copy

        bundle = serving.bundle
        for relpath, entry in _file_entries(bundle.record).items():
            if relpath in bundle.paths:  # a large file: copied from its verified local copy unless that is already here
                local_copy(blob_folder(self.folder), entry.digest, entry.size, functools.partial(_copy_file, bundle.paths[relpath]))
            elif self.blob(entry.digest, entry.size) is None:  # missing or damaged: written (again) from the verified bytes
                _write_atomic(self._blob_path(entry.digest), bundle.files[relpath])
        self.keep(bundle)  # leased before the state names them: blobs reused from an earlier bundle may be old
        state = {
            "format": FORMAT,
            "registry": self.registry,
            "name": self.name,
            "env": self.env,
            "saved_at": event_time(),
            "pointer": asdict(serving.pointer),
            "pause": asdict(serving.pause) if serving.pause else None,
            "record": bundle.record.to_json(),
        }
        _write_atomic(self.state_path, canonical_json(state))
        self._collect_garbage()

    def keep(self, *bundles: LiveBundle) -> None:
        """Mark the blobs of the bundle this runtime serves as in use, so no runtime sharing the folder collects them.

        Another process of the same NAME@ENV may save a newer bundle over the state that named them. Each runtime
        keeps a lease, `in-use/NAME@ENV.ID.json`, listing its blobs and refreshed at every check; garbage collection
        spares what a lease younger than STALE_BLOB_SECONDS names, and removes older leases (their process is gone).
        The blobs themselves are not touched, so the stat-keyed hash cache keeps sparing large ones.
        """
        wanted = sorted({hex_of(entry.digest) for bundle in bundles for entry in _file_entries(bundle.record).values()})
        try:
            if wanted != self._leased:
                _write_atomic(self.lease_path, canonical_json(wanted))
                self._leased = wanted
            else:
                os.utime(self.lease_path)
        except OSError:
            self._leased = None  # written again at the next check

    def release(self) -> None:
        """The runtime stops: its blobs are no longer in use by it."""
        self.lease_path.unlink(missing_ok=True)

    def _collect_garbage(self) -> None:
        """Remove blobs no state and no lease in the folder names (old bundles); a failure here only costs disk space."""
        try:
            wanted: set[str] = set()
            for path in (self.folder / "live").glob("*.json"):
                try:
                    record = json.loads(_read_state(path))["record"]
                    wanted |= {hex_of(f["digest"]) for c in record["components"].values() for f in c.get("files", {}).values()}
                except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError, MemoryError, BundlectlError):
                    return  # a state we cannot read (a FIFO, a device, garbage) may name any blob: keep them all
            now = time.time()
            for lease in (self.folder / "in-use").glob("*.json"):
                if now - lease.stat().st_mtime > STALE_BLOB_SECONDS:
                    lease.unlink(missing_ok=True)
                    continue
                try:
                    named = json.loads(_read_state(lease))
                except (RecursionError, MemoryError, BundlectlError):
                    return
                if not isinstance(named, list):
                    return
                wanted |= {str(hexdigest) for hexdigest in named}
            for blob in blob_folder(self.folder).iterdir():
                if _HEX.fullmatch(blob.name) and blob.name not in wanted and now - blob.stat().st_mtime > STALE_BLOB_SECONDS:
                    blob.unlink()
        except (OSError, ValueError):
            pass

    # reading -----------------------------------------------------------------------
    def blob(self, digest: str, size: int) -> bytes | None:
        """A file by its digest and size, if the cache holds it intact (a regular file of that size, never followed elsewhere)."""
        try:
            data = read_regular(self._blob_path(digest), size, follow=False)
        except (OSError, BundlectlError):
            return None
        return data if len(data) == size and sha256_of(data) == digest else None

    def load(self) -> tuple[Serving, str]:
        """The cached bundle, verified again, and when it was saved; CacheUnusable says why not."""
        from bundlectl.bundle.record import BundleRecord
        from bundlectl.registry.pointers import PointerValue

        where = str(self.state_path)
        try:
            state = json.loads(_read_state(self.state_path))
        except FileNotFoundError:
            raise CacheUnusable(f"no cached bundle of {self.name} in {self.env} in {self.folder}") from None
        except BundlectlError as exc:
            raise CacheUnusable(f"{where} cannot be used ({exc.message})") from None
        except (OSError, ValueError, RecursionError, MemoryError) as exc:
            raise CacheUnusable(f"{where} cannot be read ({type(exc).__name__}: {exc})") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise CacheUnusable(f"{where} is not a bundlectl runtime cache")
        if (state.get("registry"), state.get("name"), state.get("env")) != (self.registry, self.name, self.env):
            raise CacheUnusable(
                f"{where} was written for another registry or environment ({state.get('registry')}, {state.get('name')} in {state.get('env')})"
            )
        try:
            pointer = PointerValue.decode(canonical_json(state["pointer"]), where)
            record = BundleRecord.from_json(state["record"])
            pause = _pause(state["pause"])
            saved_at = str(state["saved_at"])
        except (BundlectlError, KeyError, TypeError, ValueError, AttributeError, RecursionError):
            raise CacheUnusable(f"{where} is damaged: it is not the state bundlectl wrote") from None
        if (
            (record.name, record.version, record.digest) != (self.name, pointer.version, pointer.digest)
            or record.computed_digest() != record.digest
            or record.altered_component() is not None
        ):
            raise CacheUnusable(f"{where} is damaged: the bundle record does not match its digest")
        from bundlectl.runtime.files import IN_MEMORY_MAX, verified_copy

        files, paths = {}, {}
        for component in record.components.values():
            for relpath, entry in component.files.items():
                large = entry.size > IN_MEMORY_MAX
                found = verified_copy(blob_folder(self.folder), entry.digest, entry.size) if large else self.blob(entry.digest, entry.size)
                if found is None:
                    raise CacheUnusable(f"{where}: the cached copy of {relpath} is missing or does not match its digest")
                if isinstance(found, Path):
                    paths[relpath] = found
                else:
                    files[relpath] = found
        bundle = LiveBundle(
            self.name, self.env, record.version, record.digest, pointer.pointer_version, record, files, paths, blob_folder(self.folder)
        )
        return Serving(bundle, pointer, pause, from_cache=True), saved_at

    def _blob_path(self, digest: str) -> Path:
        from bundlectl.runtime.files import copy_path

        try:
            return copy_path(blob_folder(self.folder), digest)
        except ValueError as exc:
            raise CacheUnusable(str(exc)) from None


def blob_folder(folder: Path) -> Path:
    return folder / "blobs"


def _read_state(path: Path) -> bytes:
    """A state or lease file, if it is a regular file of bounded size: a FIFO, a device or a symlink in a folder other
    processes can write is refused at once (UnsafeFile), never waited on or read without end."""
    return read_regular(path, MAX_STATE_BYTES, follow=False)


def _copy_file(source: Path, target: IO[bytes]) -> None:
    import shutil

    from bundlectl.safeio.regular import open_regular

    with open_regular(source, follow=False) as handle:  # a FIFO swapped into a shared folder is refused, not waited on
        shutil.copyfileobj(handle, target, 1024 * 1024)


def _file_entries(record: BundleRecord) -> dict[str, FileEntry]:
    """Bundle-relative path → digest and size of every file of the record."""
    return {relpath: entry for component in record.components.values() for relpath, entry in component.files.items()}


def _pause(raw: Any) -> PauseState | None:
    if raw is None:
        return None
    pause = PauseState(**raw)
    if not (
        isinstance(pause.paused, bool)
        and isinstance(pause.seq, int)
        and isinstance(pause.by, str)
        and isinstance(pause.since, str)
        and isinstance(pause.reason, (str, type(None)))
    ):
        raise TypeError("pause state of the wrong types")
    return pause


def _write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never a part: write aside, flush to disk, then rename over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(scratch, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(scratch, path)
    finally:
        scratch.unlink(missing_ok=True)
