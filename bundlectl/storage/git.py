"""The embedded git registry: objects, log and pointers as git objects under refs/bundlectl/.

- objects:  refs/bundlectl/objects/<key> → blob          (created once, never moved)
- log:      refs/bundlectl/log → commit chain, one commit per event, payload in the message body
- pointers: refs/bundlectl/pointers/<name> → blob with the pointer's value

Log head and pointers move in one `git update-ref --stdin` transaction with expected old values, so
an append either lands whole or not at all. That transaction is the only process a promotion starts:
objects are written and read in-process (gitobjects.py), through one long-lived `git cat-file` only
once `git gc` has packed them. Nothing appears in the working tree. A team shares the registry through
a remote (`storage/remote_git.py`), never by pushing these refs by hand: pointers are blobs, which git
will not fast-forward.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from bundlectl.errors import (
    BundlectlError,
    Conflict,
    DamagedStorage,
    NotFound,
    Refused,
)
from bundlectl.foundation.faults import EVENT_WRITTEN, checkpoint
from bundlectl.storage.base import (
    UNCHANGED,
    FileToStore,
    LogMoved,
    Pointer,
    PointerMoved,
    PointerUpdate,
    Storage,
    StoredEvent,
    Unchanged,
)
from bundlectl.storage.gitobjects import (
    EMPTY_TREE,
    ChangedWhileStoring,
    DamagedObject,
    GitObjects,
    MissingObject,
    ObjectInfo,
)
from bundlectl.storage.gitrefs import (
    DAMAGED_HINT,
    NAMESPACE,
    ZERO,
    common_dir,
    list_refs,
    read_ref,
    ref_path,
)

LOG_REF = NAMESPACE + "log"
OBJECT_PREFIX = NAMESPACE + "objects/"
POINTER_PREFIX = NAMESPACE + "pointers/"
STATE_PREFIX = NAMESPACE + "state/"  # delivery state (Storage.swap_state): never moved with the log

# git holds a ref lock only from taking it to renaming it over the ref, milliseconds; and every write
# to the lock file refreshes its mtime. A lock untouched for this long was left by a writer that was
# killed (SIGKILL, power loss) and will never release it, so it is safe to remove.
STALE_LOCK_SECONDS = 10
# How long git itself keeps retrying a lock held by a live writer before it gives up
# (core.filesRefLockTimeout, 100 ms by default): long enough for a busy machine, short for a person.
LOCK_WAIT_MS = 1000

# A pointer's value is a small JSON document; a larger blob under a pointer ref is damage, never read into memory.
POINTER_MAX = 1024 * 1024

_OBJECT_ID = re.compile(r"[0-9a-f]{40}")
_WRITE_HINT = "check the free space and permissions of the repository"

# how git names a lock in its complaints ("Unable to create '/…/refs/bundlectl/log.lock': File exists"):
# the path is not translated, so this holds in every language git speaks
_LOCK_IN_MESSAGE = re.compile(re.escape(NAMESPACE) + r"[^\s'\"`]+?\.lock(?![^\s'\"`])")


@dataclass(frozen=True)
class RefMove:
    """One ref of an append: its new value and the value it must still have (None: it must not exist)."""

    ref: str
    new: str
    expected: str | None


class GitStorage(Storage):
    def __init__(self, git_dir: Path, url: str) -> None:
        self.git_dir = git_dir
        self.common = common_dir(git_dir)
        self.url = url
        self.objects = GitObjects(git_dir, self.common / "objects")
        self._ref_updates = _RefTransactions(git_dir)

    def stop_git(self) -> None:
        """Stop the long-lived git processes (object reader, ref transactions); the next use starts them again."""
        self.objects.close()
        with self._ref_updates.lock:
            _RefTransactions._stop(self._ref_updates.__dict__)

    # plumbing -----------------------------------------------------------------------
    def _git(self, *args: str, stdin: bytes | None = None) -> str:
        """Run git and return its output; a failure raises _GitFailed, which never leaves this class."""
        command = ["git", "--git-dir", str(self.git_dir), *args]
        try:
            done = subprocess.run(command, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL, capture_output=True)
        except FileNotFoundError:
            raise Refused("git is not installed (or not on PATH)", "install git, then retry") from None
        if done.returncode != 0:
            raise _GitFailed(done.stderr.decode(errors="replace"))
        return done.stdout.decode(errors="replace")

    def _store(self, data: bytes, kind: str = "blob") -> str:
        try:
            return self.objects.write(kind, data)
        except OSError as exc:
            raise Refused(f"cannot write to {self.common / 'objects'}: {exc.strerror}", _WRITE_HINT) from None

    def _store_file(self, item: FileToStore, progress: Callable[[int], None] | None) -> str:
        try:
            return self.objects.write_file(item.path, item.sha256, progress)
        except ChangedWhileStoring:
            raise Refused(
                f"{item.path} changed after it was hashed, or while it was being stored; nothing was registered",
                "run the command again once the file is complete",
            ) from None
        except OSError as exc:
            raise Refused(f"cannot store {item.path} in {self.common / 'objects'}: {exc.strerror}", _WRITE_HINT) from None

    def _info(self, ref: str, sha: str) -> ObjectInfo | None:
        """Kind and size of the object `sha` that `ref` points at; None when the repository lacks it."""
        try:
            return self.objects.info(sha)
        except MissingObject:
            return None
        except DamagedObject as exc:
            raise DamagedStorage(f"{ref} points at {sha}, which is damaged ({exc})", DAMAGED_HINT) from None

    def _require(self, ref: str, sha: str, kind: str) -> None:
        """IntegrityFailure unless `sha`, which `ref` points at, is an object of type `kind` here."""
        info = self._info(ref, sha)
        found = None if info is None else info.kind
        if found != kind:
            what = "which is not in this repository" if found is None else f"which is a {found}, not a {kind}"
            raise DamagedStorage(f"{ref} points at {sha}, {what}", DAMAGED_HINT)

    @contextmanager
    def _open(self, ref: str, sha: str, kind: str) -> Iterator[Iterator[bytes]]:
        """The content of the object `ref` points at, in chunks; IntegrityFailure naming `ref` if it is not a sound `kind`."""
        try:
            with self.objects.open(sha) as (info, chunks):
                if info.kind != kind:
                    raise DamagedStorage(f"{ref} points at {sha}, which is a {info.kind}, not a {kind}", DAMAGED_HINT)
                yield _named(chunks, ref, sha)
        except MissingObject:
            raise DamagedStorage(f"{ref} points at {sha}, which is not in this repository", DAMAGED_HINT) from None
        except DamagedObject as exc:
            raise DamagedStorage(f"{ref} points at {sha}, which is damaged ({exc})", DAMAGED_HINT) from None

    def _read_blob(self, ref: str, sha: str) -> bytes:
        """A small blob whole: a pointer value."""
        with self._open(ref, sha, "blob") as chunks:
            return b"".join(chunks)

    # Storage ------------------------------------------------------------------------
    def is_initialized(self) -> bool:
        return read_ref(self.common, LOG_REF) is not None

    def initialize(self) -> None:
        if not (self.common / "objects").is_dir():
            raise NotFound(f"{self.git_dir} is not a git repository")

    def index_path(self) -> Path:
        return self.common / "bundlectl" / "index.sqlite"

    def has_object(self, key: str) -> bool:
        sha = read_ref(self.common, OBJECT_PREFIX + key)
        if sha is None:
            return False
        self._require(OBJECT_PREFIX + key, sha, "blob")  # a ref to a lost object must not pass for stored
        return True

    @contextmanager
    def open_object(self, key: str) -> Iterator[Iterator[bytes]]:
        ref = OBJECT_PREFIX + key
        sha = read_ref(self.common, ref)
        if sha is None:
            raise NotFound(f"object {key} is not in the registry")
        with self._open(ref, sha, "blob") as chunks:
            yield chunks

    def put_object(self, key: str, data: bytes) -> None:
        if self.has_object(key):
            return
        self._create_object_ref(OBJECT_PREFIX + key, self._store(data))

    def put_files(self, files: dict[str, FileToStore], progress: Callable[[int], None] | None = None) -> None:
        for key, item in self._new_files(files, progress):
            self._create_object_ref(OBJECT_PREFIX + key, self._store_file(item, progress))

    def _create_object_ref(self, ref: str, sha: str) -> None:
        """Create `ref` → `sha` as git's files backend does, without git reading the object again.

        `git update-ref` re-hashes a blob before it points a ref at it, mapping the whole object into
        memory: for a 1 GiB file that is seconds, and 1 GiB of memory. An object ref is created once,
        names content this process has just written (and hashed), and never moves, so it is written
        here under git's own protocol: `<ref>.lock` created exclusively, the ref checked absent (loose
        and packed) while it is held, then renamed into place. Every git writer of that ref takes the
        same lock first, and a lock left by a killed writer is recovered as for any other ref.
        """
        path = self.common / ref
        lock = path.with_name(path.name + ".lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Refused(
                f"cannot create the ref {ref}: {exc.strerror} ({_blocking(self.common, ref)})",
                "nothing was changed; run `git fsck` and `bundlectl verify`",
            ) from None
        deadline = time.monotonic() + LOCK_WAIT_MS / 1000
        while True:
            try:
                descriptor = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                break
            except FileExistsError:
                pass
            except OSError as exc:
                raise Refused(f"cannot create the ref {ref}: {exc.strerror}", _WRITE_HINT) from None
            if read_ref(self.common, ref) is not None:
                return  # a concurrent writer stored the same content first
            try:
                seen = lock.lstat()
            except FileNotFoundError:
                continue
            if _age(seen) >= STALE_LOCK_SECONDS:
                self._remove_stale_lock(lock, seen)
            elif time.monotonic() < deadline:
                time.sleep(0.01)  # a live writer holds it for milliseconds; git itself waits as long
            else:
                raise Conflict(
                    f"another writer holds {lock}; retry",
                    f"nothing was changed; a lock left by a killed writer is removed once it is {STALE_LOCK_SECONDS} s old",
                )
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(sha + "\n")
                handle.flush()
                os.fsync(handle.fileno())  # as git hardens refs (core.fsync's default)
            if read_ref(self.common, ref) is None:
                os.rename(lock, path)
                return
        except BaseException as exc:
            lock.unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise Refused(f"cannot create the ref {ref}: {exc.strerror} ({_blocking(self.common, ref)})", _WRITE_HINT) from None
            raise
        lock.unlink()

    # writing objects without publishing them (remote_git.py publishes them with a push) ----------
    def stage_blob(self, data: bytes) -> str:
        """Write `data` into the object store and return its blob id; no ref names it yet."""
        return self._store(data)

    def stage_files(self, files: dict[str, FileToStore], progress: Callable[[int], None] | None = None) -> dict[str, str]:
        """Write each file into the object store (streamed); returns key → blob id, and no ref names them yet."""
        return {key: self._store_file(item, progress) for key, item in sorted(files.items())}

    def stage_event(
        self, payload: bytes, summary: str, expected_head: str | None, updates: list[PointerUpdate], author: str | None = None
    ) -> list[RefMove]:
        """Write an event's commit (authored by the acting identity) and its pointers' blobs; returns the ref moves
        that would publish them."""
        if expected_head is not None:  # never a child of a lost or damaged head: the commit is read whole (it is small)
            with self._open(LOG_REF, expected_head, "commit") as chunks:
                for _ in chunks:
                    pass
        self._store(b"", "tree")  # every event commit has the empty tree (a no-op once it is stored)
        who = _commit_identity(author)
        parent = f"parent {expected_head}\n" if expected_head else ""
        summary = " ".join(summary.split())  # one line: the blank line after it is where the payload starts
        commit = self._store(f"tree {EMPTY_TREE}\n{parent}author {who}\ncommitter {who}\n\n{summary}\n\n{payload.decode()}\n".encode(), "commit")
        moves = [RefMove(LOG_REF, commit, expected_head)]
        for update in updates:
            moves.append(RefMove(POINTER_PREFIX + update.name, self._store(update.value), update.expected_token))
        return moves

    def move_refs(self, moves: list[RefMove]) -> bool:
        """Move these refs here in one transaction, each only from its expected value; False if one had moved."""
        try:
            self._update_refs(_transaction(moves), [m.ref for m in moves])
        except _GitFailed:
            return False
        return True

    def log_head(self) -> str | None:
        return read_ref(self.common, LOG_REF)

    def events_after(self, since: str | None, head: str) -> list[StoredEvent] | None:
        if not _OBJECT_ID.fullmatch(head):
            raise DamagedStorage(f"{LOG_REF} points at {head!r}, not an object id", DAMAGED_HINT)
        if since is not None:
            if not _OBJECT_ID.fullmatch(since):
                return None
            try:
                self._git("merge-base", "--is-ancestor", since, head)
            except _GitFailed:
                self._require(LOG_REF, head, "commit")  # a damaged head is not a rewritten history
                return None
        revs = f"{since}..{head}^{{commit}}" if since else f"{head}^{{commit}}"  # git would list a blob as empty
        try:
            output = self._git("log", "--reverse", "--format=%H%n%B%x00", revs)
        except _GitFailed as exc:
            self._require(LOG_REF, head, "commit")
            raise DamagedStorage(f"the registry log {LOG_REF} cannot be read: {exc.detail}", DAMAGED_HINT) from None
        events = []
        for chunk in output.split("\x00"):
            chunk = chunk.strip("\n")
            if not chunk:
                continue
            sha, _, message = chunk.partition("\n")
            _, _, body = message.partition("\n\n")
            events.append(StoredEvent(sha, body.strip().encode()))
        return events

    def append_event(self, payload: bytes, summary: str, expected_head: str | None, updates: list[PointerUpdate], author: str | None = None) -> str:
        moves = self.stage_event(payload, summary, expected_head, updates, author)
        checkpoint(EVENT_WRITTEN)
        try:
            self._update_refs(_transaction(moves), [m.ref for m in moves])
        except _GitFailed as exc:
            if self.log_head() != expected_head:
                raise LogMoved() from None
            for update in updates:
                if read_ref(self.common, POINTER_PREFIX + update.name) != update.expected_token:
                    raise PointerMoved(update.name) from None
            raise self._write_refused(exc, [m.ref for m in moves]) from None
        return moves[0].new

    # pointers ----------------------------------------------------------------------
    def list_pointers(self) -> dict[str, str]:
        return {ref[len(POINTER_PREFIX) :]: sha for ref, sha in list_refs(self.common, POINTER_PREFIX).items()}

    def all_object_keys(self) -> list[str]:
        return [ref[len(OBJECT_PREFIX) :] for ref in list_refs(self.common, OBJECT_PREFIX)]

    def read_pointer_if_changed(self, name: str, token: str | None) -> Pointer | None | Literal[Unchanged.UNCHANGED]:
        sha = read_ref(self.common, POINTER_PREFIX + name)  # a file read; the blob only when it moved
        if sha is not None and sha == token:
            return UNCHANGED
        return None if sha is None else self._pointer(name, sha)

    def read_pointer(self, name: str) -> Pointer | None:
        sha = read_ref(self.common, POINTER_PREFIX + name)
        return None if sha is None else self._pointer(name, sha)

    def _pointer(self, name: str, sha: str) -> Pointer:
        """A pointer's value, read whole only when it is pointer-sized: a pushed blob of zeros inflating to
        gigabytes must not take every reader's (and every runtime's) memory."""
        ref = POINTER_PREFIX + name
        info = self._info(ref, sha)
        if info is not None and info.size > POINTER_MAX:
            raise DamagedStorage(f"{ref} points at {sha}, a blob of {info.size} bytes: no pointer value is that large", DAMAGED_HINT)
        return Pointer(sha, self._read_blob(ref, sha))

    def read_state(self, name: str) -> Pointer | None:
        sha = read_ref(self.common, STATE_PREFIX + name)
        return None if sha is None else Pointer(sha, self._read_blob(STATE_PREFIX + name, sha))

    def swap_state(self, name: str, expected_token: str | None, value: bytes) -> bool:
        return self.move_refs([RefMove(STATE_PREFIX + name, self._store(value), expected_token)])

    def mismatched_pointers(self, expected: dict[str, bytes]) -> list[str]:
        stored = self.list_pointers()  # ref files only: a blob id is the hash of its value, so no blob is read
        wrong = {name for name, value in expected.items() if stored.get(name) != _blob_id(value)}
        return sorted(wrong | (stored.keys() - expected.keys()))

    def no_registry(self) -> NotFound:
        remotes = re.findall(r'^\s*\[remote "([^"]+)"\]', _text(self.common / "config"), re.MULTILINE)
        if remotes:  # a clone: the registry is on its remote, and `init` here would start a second, divergent one
            remote = "origin" if "origin" in remotes else remotes[0]
            return NotFound(
                f"no bundlectl registry in {self.url}: this clone has no refs/bundlectl/",
                f"use the team's registry on the remote: --registry git+{remote} (or export BUNDLECTL_REGISTRY=git+{remote})",
            )
        return NotFound(f"no bundlectl registry in {self.url}", "create one with `bundlectl init`, or pass --registry / set BUNDLECTL_REGISTRY")

    # ref locks ----------------------------------------------------------------------
    def _update_refs(self, script: str, refs: Sequence[str]) -> None:
        """Run one all-or-nothing `update-ref` transaction, recovering from the stale locks git names.

        git names only the first lock in its way; then every stale lock on the transaction's refs goes at
        once and the transaction is retried. A lock git names again (a live writer took it since) ends
        the recovery. A retry cannot overwrite anything:
        `script` still states every ref's expected old value, which git checks under its own lock, so
        a lost race stays a failure.
        """
        removed: set[Path] = set()
        while True:
            try:
                self._ref_updates.run(script)
                return
            except _GitFailed as exc:
                if not self.recover_stale_locks(exc.stderr, list(refs), removed):
                    raise

    def recover_stale_locks(self, stderr: str, refs: list[str], removed: set[Path]) -> bool:
        """Remove the stale locks behind git's complaint `stderr` about `refs`; True when a retry may succeed.

        `removed` collects what was removed: a lock git names again was taken since by a live writer.
        """
        locks = [(lock, seen) for lock, seen in self._locks(_GitFailed(stderr), refs) if lock not in removed]
        if not locks or any(_age(seen) < STALE_LOCK_SECONDS for _, seen in locks):
            return False
        for lock, seen in locks:
            self._remove_stale_lock(lock, seen)
            removed.add(lock)
        return True

    def held_lock(self, stderr: str) -> Path | None:
        """The lock behind git's complaint `stderr` that is too young to be judged stale, if there is one."""
        return next((lock for lock, seen in self._locks(_GitFailed(stderr), []) if _age(seen) < STALE_LOCK_SECONDS), None)

    def _locks(self, failure: _GitFailed, refs: list[str]) -> list[tuple[Path, os.stat_result]]:
        """When git failed for a lock in its way: the locks it names and those on `refs`, with what we saw of them.

        Only refs under refs/bundlectl/ (and packed-refs.lock, which git takes to delete or pack refs):
        no file elsewhere is ever touched. A failure git names no lock for ("bad name", a missing object,
        an old value that moved) is not a lock problem, whatever lock files exist.
        """
        named = [ref_path(self.common, name.removesuffix(".lock")) for name in _LOCK_IN_MESSAGE.findall(failure.stderr)]
        if not named and "packed-refs.lock" not in failure.stderr:
            return []
        candidates = [path.with_name(path.name + ".lock") for path in dict.fromkeys([*named, *(ref_path(self.common, ref) for ref in refs)])]
        if "packed-refs.lock" in failure.stderr:
            candidates.append(self.common / "packed-refs.lock")
        found = []
        for path in candidates:
            try:
                found.append((path, path.lstat()))
            except OSError:
                continue
        return found

    def _remove_stale_lock(self, lock: Path, seen: os.stat_result) -> None:
        """Remove a lock judged stale from `seen`, but never a live writer's lock that replaced it since."""
        # Moved aside first, under a name git ignores (it ends in .lock), in the same folder (so the
        # rename is atomic): then the file we delete is provably the one we judged.
        aside = lock.with_name(f"{lock.name.removesuffix('.lock')}.stale-{os.getpid()}-{time.monotonic_ns()}.lock")
        try:
            if not _same_file(lock.lstat(), seen):
                return  # another process recovered it first (and may hold a new one: leave that alone)
            lock.rename(aside)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise Refused(
                f"{lock} was left by an interrupted writer and cannot be removed ({exc.strerror})",
                f"make sure no git or bundlectl command is running, then delete it: {_rm(lock, seen)}",
            ) from None
        if not _same_file(aside.lstat(), seen):
            try:  # a live writer took the lock meanwhile: hand it back (link fails if the name is taken)
                os.link(aside, lock)
            except OSError:
                pass
            aside.unlink(missing_ok=True)
            raise Conflict(f"another writer holds {lock}; retry", "nothing was changed")
        try:
            if stat.S_ISDIR(seen.st_mode):  # not git's (git creates lock files): whatever made it left it
                import shutil  # shutil pulls in bz2 and lzma: a read command never needs it

                shutil.rmtree(aside)
            else:
                aside.unlink(missing_ok=True)
        except OSError as exc:
            raise Refused(
                f"{lock} was left by an interrupted writer and cannot be removed ({exc.strerror})",
                f"make sure no git or bundlectl command is running, then delete it: {_rm(aside, seen)}",
            ) from None
        import logging  # here, not at start-up: only recovering a stale lock logs anything

        logging.getLogger(__name__).warning("removed %s, a ref lock left %.0f s ago by an interrupted writer", lock, _age(seen))

    def _write_refused(self, failure: _GitFailed, refs: list[str]) -> BundlectlError:
        """What a failed ref transaction means to the user: a live lock, a stuck lock, or git's own reason."""
        for lock, seen in self._locks(failure, refs):
            if _age(seen) < STALE_LOCK_SECONDS:
                return Conflict(
                    f"another writer holds {lock}; retry",
                    f"nothing was changed; a lock left by a killed writer is removed once it is {STALE_LOCK_SECONDS} s old",
                )
            return Refused(
                f"{lock} was left by an interrupted writer and still blocks the registry",
                f"make sure no git or bundlectl command is running, then delete it: {_rm(lock, seen)}",
            )
        return Refused(f"git could not update the registry refs: {failure.detail}", "nothing was changed; run `git fsck` and `bundlectl verify`")


def _transaction(moves: list[RefMove]) -> str:
    """The `update-ref --stdin` script that makes `moves` all at once, each only from its expected value."""
    return "".join(f"update {m.ref} {m.new} {m.expected or ZERO}\n" for m in moves)


def _commit_identity(author: str | None) -> str:
    """The acting identity as git's author and committer line, so `git log refs/bundlectl/log` says who acted."""
    name = re.sub(r"[<>\n\x00]", "", author or "").strip() or "bundlectl"
    first = name.split(",")[0].strip()  # several signers (a threshold of admins): the first one's address
    email = first if re.fullmatch(r"[^\s@]+@[^\s@]+", first) else f"{re.sub(r'[^A-Za-z0-9._-]+', '-', first)}@bundlectl"
    return f"{name} <{email}> {int(time.time())} +0000"  # git's internal date format


def _age(seen: os.stat_result) -> float:
    """How long ago a lock was last written; a time in the future counts as far from now (a skewed or
    touched clock), never as forever fresh."""
    return abs(time.time() - seen.st_mtime)


def _blob_id(data: bytes) -> str:
    """The id git gives a blob holding `data`: what a pointer ref holds when it has that value."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _rm(path: Path, seen: os.stat_result) -> str:
    return f"rm -r '{path}'" if stat.S_ISDIR(seen.st_mode) else f"rm '{path}'"


def _same_file(now: os.stat_result, seen: os.stat_result) -> bool:
    return (now.st_dev, now.st_ino, now.st_mtime_ns) == (seen.st_dev, seen.st_ino, seen.st_mtime_ns)


def _named(chunks: Iterator[bytes], ref: str, sha: str) -> Iterator[bytes]:
    """The chunks of an object being read; damage found midway (a truncated object) names the ref too."""
    try:
        yield from chunks
    except DamagedObject as exc:
        raise DamagedStorage(f"{ref} points at {sha}, which is damaged ({exc})", DAMAGED_HINT) from None


def _blocking(common: Path, ref: str) -> str:
    """Why a ref file cannot be made: the ref, or the ref that stands where one of its folders must be."""
    parts = ref.split("/")
    for end in range(len(parts) - 1, 0, -1):
        prefix = "/".join(parts[:end])
        if prefix.startswith(NAMESPACE) and read_ref(common, prefix) is not None:
            return f"{prefix} is a ref, so no ref can live under it"
    if (common / ref).is_dir():
        return f"{ref} is a folder of other refs"
    return "check the repository's permissions"


class _RefTransactions:
    """One long-lived `git update-ref --stdin`, running one transaction at a time (start, prepare, commit).

    A process that appends many events (a rehearsal, `registry copy`, a service calling the API) starts
    git once. git ends the process on a transaction it refuses (a moved ref, a held lock); the next
    transaction starts a new one. Between transactions it holds no lock, so stopping it loses nothing.
    """

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self.lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None  # git's stderr; read from where the current transaction began
        self._owner = 0  # the pid that started it: a forked child starts its own
        weakref.finalize(self, _RefTransactions._stop, self.__dict__)

    def run(self, script: str) -> None:
        """Apply `script` (update/create lines) all or nothing; _GitFailed with git's complaint if refused."""
        with self.lock:
            process, errors = self._started()
            assert process.stdin is not None and process.stdout is not None
            seen = os.fstat(errors.fileno()).st_size
            try:
                try:
                    process.stdin.write(f"start\n{script}prepare\ncommit\n".encode())
                    process.stdin.flush()
                except BrokenPipeError:
                    pass  # git is gone; its complaint is read below
                for step in (b"start: ok", b"prepare: ok", b"commit: ok"):
                    if process.stdout.readline().strip() != step:
                        process.wait()
                        errors.seek(seen)
                        raise _GitFailed(errors.read().decode(errors="replace"))
            except BaseException:
                _RefTransactions._stop(self.__dict__)  # refused, or interrupted midway: never reuse that process
                raise

    def _started(self) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
        process, errors = self._process, self._errors
        if process is not None and errors is not None and process.poll() is None and self._owner == os.getpid():
            return process, errors
        _RefTransactions._stop(self.__dict__)
        command = ["git", "--git-dir", str(self.git_dir), "-c", f"core.filesRefLockTimeout={LOCK_WAIT_MS}", "update-ref", "--stdin"]
        import tempfile  # a writer's path only: tempfile's import (random, shutil) is a read command's cost otherwise

        errors = tempfile.TemporaryFile()
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        except FileNotFoundError:
            errors.close()
            raise Refused("git is not installed (or not on PATH)", "install git, then retry") from None
        self._process, self._errors, self._owner = process, errors, os.getpid()
        return process, errors

    @staticmethod
    def _stop(state: dict[str, Any]) -> None:
        """End the process: its input closed, so git finishes whatever it was doing and exits (killed if it hangs)."""
        process, errors = state.get("_process"), state.get("_errors")
        state["_process"] = state["_errors"] = None
        if errors is not None:
            errors.close()
        if process is None:
            return
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass
        if state.get("_owner") == os.getpid():
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class _GitFailed(Exception):
    """A git command failed; private to this module, which turns it into a BundlectlError or a signal."""

    def __init__(self, stderr: str) -> None:
        super().__init__(stderr)
        self.stderr = stderr

    @property
    def detail(self) -> str:
        return first_complaint(self.stderr)


def first_complaint(stderr: str) -> str:
    """git's first complaint, without its "fatal:" or "error:" prefix."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    first = lines[0] if lines else "no reason given"
    return first.removeprefix("fatal: ").removeprefix("error: ")
