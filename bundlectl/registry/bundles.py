"""Registering bundles and reading them back: immutable, content-addressed, one version one content."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from bundlectl.bundle.record import BundleRecord
from bundlectl.digest.canonical import PREFIX, hex_of
from bundlectl.errors import DigestMismatch, NotFound, Refused
from bundlectl.foundation.faults import OBJECTS_STORED, checkpoint
from bundlectl.foundation.progress import NoProgress, ProgressSink
from bundlectl.registry.events import RegisterData
from bundlectl.registry.index import Index
from bundlectl.registry.log import Planned, append, signing
from bundlectl.registry.objects import blob_key
from bundlectl.registry.read import index_at_head
from bundlectl.registry.rows import BundleRow, proven
from bundlectl.storage.base import FileToStore, Storage
from bundlectl.trust.identity import Acting

if TYPE_CHECKING:
    from bundlectl.bundle.folder import FolderBundle


@dataclass(frozen=True)
class RegisterResult:
    record: BundleRecord
    created: bool
    dry_run: bool
    seq: int | None
    stored_files: int

    def to_json(self) -> dict[str, Any]:
        """The `register --json` document."""
        record = self.record
        return {
            "name": record.name,
            "version": record.version,
            "digest": record.digest,
            "created": self.created,
            "dry_run": self.dry_run,
            "seq": self.seq,
        }


def register_bundle(
    storage: Storage,
    folder: FolderBundle,
    actor: Acting,
    reason: str | None = None,
    *,
    dry_run: bool = False,
    progress: ProgressSink | None = None,
) -> RegisterResult:
    """Store a bundle's files and append its register event; same content again is a no-op."""
    record = folder.record

    def store_files() -> int:
        files = {}
        for component in record.components.values():
            for relpath, entry in component.files.items():
                files[blob_key(entry.digest)] = FileToStore(folder.paths[relpath], hex_of(entry.digest))
        sink = progress or NoProgress()
        missing = {k: f for k, f in files.items() if not storage.has_object(k)}
        sink.start(sum(f.path.stat().st_size for f in missing.values()), "storing files")
        try:
            storage.put_files(missing, sink.advance)
        finally:
            sink.finish()
        checkpoint(OBJECTS_STORED)
        return len(missing)

    return _register(storage, record, actor, reason, dry_run, store_files)


def register_built(storage: Storage, record: BundleRecord, actor: Acting, reason: str | None = None, dry_run: bool = False) -> RegisterResult:
    """Register a bundle composed from registered ones (a component rollback): every file it names is
    already stored by the bundles it came from, so this is the register event alone."""
    return _register(storage, record, actor, reason, dry_run, lambda: 0)


def _register(
    storage: Storage, record: BundleRecord, actor: Acting, reason: str | None, dry_run: bool, store_files: Callable[[], int]
) -> RegisterResult:
    """Objects first, then the one register event (crash safety); nothing at all for known content or a dry run,
    nor for an act the keys may not sign."""
    plan = _register_plan(record)
    index = index_at_head(storage)
    first_plan = plan(index)
    if first_plan is None or dry_run:
        return RegisterResult(record, False, dry_run and first_plan is not None, None, 0)
    signing(index, first_plan, actor)  # refused before any file is stored
    stored = store_files()
    event = append(storage, plan, actor, reason)
    return RegisterResult(record, event is not None, False, event.seq if event else None, stored)


def _register_plan(record: BundleRecord) -> Callable[[Index], Planned | None]:
    """The register event for `record`, or None when exactly this content is registered under its version."""
    identity = record.record_digest

    def plan(index: Index) -> Planned | None:
        existing = index.bundle(record.name, record.version)
        if existing is None:
            return Planned(
                "register",
                RegisterData(name=record.name, version=record.version, digest=record.digest, record_digest=identity, record=record.to_json()),
            )
        if existing.record_digest == identity:
            return None
        raise Refused(
            f"{record.ref} is already registered with different content "
            f"(registered digest {existing.digest[:19]}…, this folder {record.digest[:19]}…); nothing was written",
            "registered bundles are immutable: bump metadata.version in bundle.yaml",
        )

    return plan


class BundleList(NamedTuple):
    """`list [NAME]`: the registered bundles, each with who registered it and when."""

    bundles: list[BundleRow]

    def to_json(self) -> dict[str, Any]:
        """The `list --json` document."""
        return {
            "bundles": [
                {
                    "name": r.name,
                    "version": r.version,
                    "digest": r.digest,
                    "registered_at": r.time,
                    "registered_by": r.actor,
                    "registered_by_signed": r.signed,
                }
                for r in self.bundles
            ]
        }


def list_bundles(storage: Storage, name: str | None = None) -> BundleList:
    index = index_at_head(storage)
    trust_since = index.trust_since()
    return BundleList([row._replace(signed=proven(row.seq, trust_since)) for row in index.bundles(name)])


def find_bundle(index: Index, name: str, selector: str) -> BundleRow:
    """NAME@VERSION or NAME@sha256:PREFIX (12+ hex) → the registered bundle."""
    if selector.startswith(PREFIX):
        prefix = selector
        if len(hex_of(prefix)) < 12:
            raise Refused(f"digest prefix {selector!r} is too short", "give at least 12 hex digits")
        rows = index.bundles_by_digest_prefix(name, prefix)
        digests = {r.digest for r in rows}
        if not rows:
            raise NotFound(f"no bundle {name} with digest {selector}", "see `bundlectl list`")
        if len(digests) > 1:
            raise Refused(f"{name}@{selector} is ambiguous ({len(digests)} bundles match)", "give more digits")
        return rows[-1]
    row = index.bundle(name, selector)
    if row is None:
        row = _live_bundle(index, name, selector)
    if row is None:
        known = [r.version for r in index.bundles(name)]
        env = selector.partition("~")[0]
        if env in index.environments():  # NAME@ENV: an environment, with nothing of NAME live in it
            raise NotFound(
                f"nothing of {name} has been live in {env}, so {name}@{selector} names no bundle",
                f"promote a version first: `bundlectl promote {name}@VERSION --env {env}`"
                + (f" (registered: {', '.join(known[-5:])})" if known else ""),
            )
        hint = f"registered versions: {', '.join(known[-5:])}" if known else f"nothing named {name} is registered"
        raise NotFound(f"{name}@{selector} is not registered", hint)
    return row


def _live_bundle(index: Index, name: str, selector: str) -> BundleRow | None:
    """NAME@ENV (live now) and NAME@ENV~N (N moves back) through the index's pointer history."""
    env, _, back = selector.partition("~")
    if back and not (back.isascii() and back.isdigit()):
        raise Refused(f"{name}@{selector}: {back!r} is not a number of steps back", f"write it as {name}@{env}~1")
    steps = min(int(back or 0), 2**31)  # no history is longer; the index's integers are 64-bit
    moves = index.moves(name, env, limit=steps + 1)
    if not moves:
        return None
    if len(moves) <= steps:
        raise NotFound(f"{name}@{selector}: {env} has only {len(moves)} promotions in its history")
    return index.bundle(name, moves[steps].to_version)


def copy_blob(storage: Storage, digest: str, label: str, write: Callable[[bytes], object]) -> None:
    """Stream a stored file to `write` in chunks, checked against its digest once the last chunk is in.

    What `write` received is to be trusted only when this returns: a mismatch is an IntegrityFailure
    after the fact, so callers write to something they throw away on failure (a staging folder, a buffer).
    """
    hasher = hashlib.sha256()
    with storage.open_object(blob_key(digest)) as chunks:
        for chunk in chunks:
            hasher.update(chunk)
            write(chunk)
    if PREFIX + hasher.hexdigest() != digest:
        raise DigestMismatch(
            f"stored content of {label} does not match its digest {digest[:19]}…",
            "run `bundlectl verify`; the registry was modified outside bundlectl",
        )


def read_blob(storage: Storage, digest: str, label: str) -> bytes:
    """A stored file's bytes, checked against its digest on the way out (for files read as documents)."""
    buffer = io.BytesIO()
    copy_blob(storage, digest, label, buffer.write)
    return buffer.getvalue()


class StoredFiles:
    """A registered bundle's files by relative path: read whole, or copied out in chunks; digests always checked."""

    def __init__(self, storage: Storage, digests: dict[str, str], label: str) -> None:
        self.storage, self.digests, self.label = storage, digests, label

    def __call__(self, relpath: str) -> bytes:
        return read_blob(self.storage, self.digests[relpath], f"{self.label}:{relpath}")

    def copy_to(self, relpath: str, target: IO[bytes]) -> None:
        copy_blob(self.storage, self.digests[relpath], f"{self.label}:{relpath}", target.write)
