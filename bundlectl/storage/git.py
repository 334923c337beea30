"""The embedded git registry: objects, log and pointers as git objects under refs/bundlectl/.

- objects:  refs/bundlectl/objects/<key> → blob          (created with `update-ref create`, never moved)
- log:      refs/bundlectl/log → commit chain, one commit per event, payload in the message body
- pointers: refs/bundlectl/pointers/<name> → blob with the pointer's value

Log head and pointers move in one `git update-ref --stdin` transaction with expected old values, so
an append either lands whole or not at all. Nothing appears in the working tree. A team shares the
registry through a remote (`storage/remote_git.py`), never by pushing these refs by hand: pointers
are blobs, which git will not fast-forward.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bundlectl.errors import (
    BundlectlError,
    Conflict,
    IntegrityFailure,
    NotFound,
    Refused,
)
from bundlectl.faults import EVENT_WRITTEN, checkpoint
from bundlectl.storage.base import (
    UNCHANGED,
    LogMoved,
    Pointer,
    PointerMoved,
    PointerUpdate,
    Storage,
    StoredEvent,
    Unchanged,
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

if TYPE_CHECKING:
    from git import Repo

log = logging.getLogger(__name__)

LOG_REF = NAMESPACE + "log"
OBJECT_PREFIX = NAMESPACE + "objects/"
POINTER_PREFIX = NAMESPACE + "pointers/"

# git holds a ref lock only from taking it to renaming it over the ref, milliseconds; and every write
# to the lock file refreshes its mtime. A lock untouched for this long was left by a writer that was
# killed (SIGKILL, power loss) and will never release it, so it is safe to remove.
STALE_LOCK_SECONDS = 10
# How long git itself keeps retrying a lock held by a live writer before it gives up
# (core.filesRefLockTimeout, 100 ms by default): long enough for a busy machine, short for a person.
LOCK_WAIT_MS = 1000

_OBJECT_ID = re.compile(r"[0-9a-f]{40}")
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
        self._repo: Repo | None = None

    # plumbing -----------------------------------------------------------------------
    @property
    def repo(self) -> Repo:
        if self._repo is None:
            import git

            try:
                self._repo = git.Repo(self.git_dir)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError):
                raise NotFound(f"{self.git_dir} is not a git repository") from None
        return self._repo

    def _git(self, *args: str, stdin: bytes | None = None) -> str:
        """Run git and return its output; a failure raises _GitFailed, which never leaves this class."""
        import git

        command = ["git", *args]
        try:
            if stdin is None:
                status, out, err = self.repo.git.execute(command, with_extended_output=True, with_exceptions=False)
            else:
                with tempfile.TemporaryFile() as handle:  # GitPython takes stdin as a file
                    handle.write(stdin)
                    handle.seek(0)
                    status, out, err = self.repo.git.execute(
                        command, istream=handle, with_extended_output=True, with_exceptions=False
                    )
        except git.GitCommandNotFound:
            raise Refused("git is not installed (or not on PATH)", "install git, then retry") from None
        if status != 0:
            raise _GitFailed(err)
        return out

    def _store(self, data: bytes, kind: str = "blob") -> str:
        try:
            sha = self._git("hash-object", "-t", kind, "-w", "--stdin", stdin=data).strip()
        except _GitFailed as exc:
            raise Refused(f"git could not write to {self.common / 'objects'}: {exc.detail}",
                          "check the free space and permissions of the repository") from None
        return sha

    def _object_type(self, sha: str) -> str | None:
        """The type of the object `sha` ("blob", "commit", …), or None when the repository lacks it."""
        try:
            kind = self.repo.odb.info(bytes.fromhex(sha)).type
        except ValueError:  # what GitPython raises for an object git reports missing
            return None
        return kind.decode() if isinstance(kind, bytes) else str(kind)

    def _require(self, ref: str, sha: str, kind: str) -> None:
        """IntegrityFailure unless `sha`, which `ref` points at, is an object of type `kind` here."""
        found = self._object_type(sha)
        if found != kind:
            what = "which is not in this repository" if found is None else f"which is a {found}, not a {kind}"
            raise IntegrityFailure(f"{ref} points at {sha}, {what}", DAMAGED_HINT)

    def _read_blob(self, ref: str, sha: str) -> bytes:
        try:
            stream = self.repo.odb.stream(bytes.fromhex(sha))
        except ValueError:
            raise IntegrityFailure(f"{ref} points at {sha}, which is not in this repository", DAMAGED_HINT) from None
        kind = stream.type.decode() if isinstance(stream.type, bytes) else str(stream.type)
        data = bytes(stream.read())
        if kind != "blob":
            raise IntegrityFailure(f"{ref} points at {sha}, which is a {kind}, not a blob", DAMAGED_HINT)
        return data

    # Storage ------------------------------------------------------------------------
    def is_initialized(self) -> bool:
        return read_ref(self.common, LOG_REF) is not None

    def initialize(self) -> None:
        _ = self.repo

    def index_path(self) -> Path:
        return self.common / "bundlectl" / "index.sqlite"

    def has_object(self, key: str) -> bool:
        sha = read_ref(self.common, OBJECT_PREFIX + key)
        if sha is None:
            return False
        self._require(OBJECT_PREFIX + key, sha, "blob")  # a ref to a lost object must not pass for stored
        return True

    def get_object(self, key: str) -> bytes:
        sha = read_ref(self.common, OBJECT_PREFIX + key)
        if sha is None:
            raise NotFound(f"object {key} is not in the registry")
        return self._read_blob(OBJECT_PREFIX + key, sha)

    def put_object(self, key: str, data: bytes) -> None:
        if self.has_object(key):
            return
        self._create_refs({OBJECT_PREFIX + key: self.stage_blob(data)})

    def put_files(self, files: dict[str, Path], progress: Callable[[int], None] | None = None) -> None:
        missing = {key: path for key, path in files.items() if not self.has_object(key)}
        if missing:
            self._create_refs({OBJECT_PREFIX + k: sha for k, sha in self.stage_files(missing, progress).items()})

    # writing objects without publishing them (remote_git.py publishes them with a push) ----------
    def stage_blob(self, data: bytes) -> str:
        """Write `data` into the object store and return its blob id; no ref names it yet."""
        return self._store(data)

    def stage_files(self, files: dict[str, Path], progress: Callable[[int], None] | None = None) -> dict[str, str]:
        """Write each file into the object store; returns key → blob id, and no ref names them yet."""
        keys = sorted(files)
        # git streams large files to a pack itself; level-1 zlib keeps that near disk speed.
        paths = "".join(str(files[k].resolve()) + "\n" for k in keys).encode()
        try:
            output = self._git("-c", "core.looseCompression=1", "hash-object", "-w", "--stdin-paths", stdin=paths)
        except _GitFailed as exc:
            raise Refused(f"git could not store the bundle's files in {self.common / 'objects'}: {exc.detail}",
                          "check the free space and permissions of the repository") from None
        if progress is not None:
            progress(sum(files[k].stat().st_size for k in keys))
        return dict(zip(keys, output.split(), strict=True))

    def stage_event(
        self, payload: bytes, summary: str, expected_head: str | None, updates: list[PointerUpdate]
    ) -> list[RefMove]:
        """Write an event's commit and its pointers' blobs; returns the ref moves that would publish them."""
        from git import Actor, Commit

        if expected_head is not None:
            self._require(LOG_REF, expected_head, "commit")
        parents = [self.repo.commit(expected_head)] if expected_head else []
        who = Actor("bundlectl", "bundlectl@localhost")
        now = f"{int(time.time())} +0000"  # git's internal date format
        commit = Commit.create_from_tree(
            self.repo, self._store(b"", "tree"), f"{summary}\n\n{payload.decode()}\n", parent_commits=parents,
            head=False, author=who, committer=who, author_date=now, commit_date=now,
        )
        if not _OBJECT_ID.fullmatch(commit.hexsha):  # GitPython does not check that git wrote it
            raise Refused(f"git could not write to {self.common / 'objects'}",
                          "check the free space and permissions of the repository")
        moves = [RefMove(LOG_REF, str(commit.hexsha), expected_head)]
        for update in updates:
            moves.append(RefMove(POINTER_PREFIX + update.name, self._store(update.value), update.expected_token))
        return moves

    def move_refs(self, moves: list[RefMove]) -> bool:
        """Move these refs here in one transaction, each only from its expected value; False if one had moved."""
        try:
            self._update_refs(_transaction(moves))
        except _GitFailed:
            return False
        return True

    def _create_refs(self, refs: dict[str, str]) -> None:
        for attempt in range(3):
            todo = {ref: sha for ref, sha in refs.items() if read_ref(self.common, ref) is None}
            if not todo:
                return
            try:
                self._update_refs("".join(f"create {ref} {sha}\n" for ref, sha in todo.items()))
                return
            except _GitFailed as exc:
                # a concurrent writer creating some of the same (content-addressed) objects is no
                # failure: re-check what is left; anything else is reported as it is
                if attempt == 2 or self._locks(exc, list(todo)):
                    raise self._write_refused(exc, list(todo)) from None

    def log_head(self) -> str | None:
        return read_ref(self.common, LOG_REF)

    def events_after(self, since: str | None, head: str) -> list[StoredEvent] | None:
        if not _OBJECT_ID.fullmatch(head):
            raise IntegrityFailure(f"{LOG_REF} points at {head!r}, not an object id", DAMAGED_HINT)
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
            raise IntegrityFailure(f"the registry log {LOG_REF} cannot be read: {exc.detail}", DAMAGED_HINT) from None
        events = []
        for chunk in output.split("\x00"):
            chunk = chunk.strip("\n")
            if not chunk:
                continue
            sha, _, message = chunk.partition("\n")
            _, _, body = message.partition("\n\n")
            events.append(StoredEvent(sha, body.strip().encode()))
        return events

    def append_event(
        self, payload: bytes, summary: str, expected_head: str | None, updates: list[PointerUpdate]
    ) -> str:
        moves = self.stage_event(payload, summary, expected_head, updates)
        checkpoint(EVENT_WRITTEN)
        try:
            self._update_refs(_transaction(moves))
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
        return {ref[len(POINTER_PREFIX):]: sha for ref, sha in list_refs(self.common, POINTER_PREFIX).items()}

    def all_object_keys(self) -> list[str]:
        return [ref[len(OBJECT_PREFIX):] for ref in list_refs(self.common, OBJECT_PREFIX)]

    def read_pointer_if_changed(self, name: str, token: str | None) -> Pointer | None | Literal[Unchanged.UNCHANGED]:
        sha = read_ref(self.common, POINTER_PREFIX + name)  # a file read; the blob only when it moved
        if sha is not None and sha == token:
            return UNCHANGED
        return None if sha is None else Pointer(sha, self._read_blob(POINTER_PREFIX + name, sha))

    def read_pointer(self, name: str) -> Pointer | None:
        sha = read_ref(self.common, POINTER_PREFIX + name)
        return None if sha is None else Pointer(sha, self._read_blob(POINTER_PREFIX + name, sha))

    def mismatched_pointers(self, expected: dict[str, bytes]) -> list[str]:
        stored = self.list_pointers()  # ref files only: a blob id is the hash of its value, so no blob is read
        wrong = {name for name, value in expected.items() if stored.get(name) != _blob_id(value)}
        return sorted(wrong | (stored.keys() - expected.keys()))

    def no_registry(self) -> NotFound:
        remotes = re.findall(r'^\s*\[remote "([^"]+)"\]', _text(self.common / "config"), re.MULTILINE)
        if remotes:  # a clone: the registry is on its remote, and `init` here would start a second, divergent one
            remote = "origin" if "origin" in remotes else remotes[0]
            return NotFound(f"no bundlectl registry in {self.url}: this clone has no refs/bundlectl/",
                            f"use the team's registry on the remote: --registry git+{remote} "
                            f"(or export BUNDLECTL_REGISTRY=git+{remote})")
        return NotFound(f"no bundlectl registry in {self.url}",
                        "create one with `bundlectl init`, or pass --registry / set BUNDLECTL_REGISTRY")

    # ref locks ----------------------------------------------------------------------
    def _update_refs(self, script: str) -> None:
        """Run one all-or-nothing `update-ref` transaction, recovering from the stale locks git names.

        git names only the first lock in its way; then every stale lock on the transaction's refs goes at
        once and the transaction is retried. A lock git names again (a live writer took it since) ends
        the recovery. A retry cannot overwrite anything:
        `script` still states every ref's expected old value, which git checks under its own lock, so
        a lost race stays a failure.
        """
        command = ("-c", f"core.filesRefLockTimeout={LOCK_WAIT_MS}", "update-ref", "--stdin")
        refs = [line.split()[1] for line in script.splitlines()]
        removed: set[Path] = set()
        while True:
            try:
                self._git(*command, stdin=script.encode())
                return
            except _GitFailed as exc:
                if not self.recover_stale_locks(exc.stderr, refs, removed):
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

    def _locks(self, failure: _GitFailed, refs: list[str]) -> list[tuple[Path, os.stat_result]]:
        """When git failed for a lock in its way: the locks it names and those on `refs`, with what we saw of them.

        Only refs under refs/bundlectl/ (and packed-refs.lock, which git takes to delete or pack refs):
        no file elsewhere is ever touched. A failure git names no lock for ("bad name", a missing object,
        an old value that moved) is not a lock problem, whatever lock files exist.
        """
        named = [ref_path(self.common, name.removesuffix(".lock")) for name in _LOCK_IN_MESSAGE.findall(failure.stderr)]
        if not named and "packed-refs.lock" not in failure.stderr:
            return []
        candidates = [path.with_name(path.name + ".lock")
                      for path in dict.fromkeys([*named, *(ref_path(self.common, ref) for ref in refs)])]
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
            raise Refused(f"{lock} was left by an interrupted writer and cannot be removed ({exc.strerror})",
                          f"make sure no git or bundlectl command is running, then delete it: {_rm(lock, seen)}") from None
        if not _same_file(aside.lstat(), seen):
            try:  # a live writer took the lock meanwhile: hand it back (link fails if the name is taken)
                os.link(aside, lock)
            except OSError:
                pass
            aside.unlink(missing_ok=True)
            raise Conflict(f"another writer holds {lock}; retry", "nothing was changed")
        try:
            if stat.S_ISDIR(seen.st_mode):  # not git's (git creates lock files): whatever made it left it
                shutil.rmtree(aside)
            else:
                aside.unlink(missing_ok=True)
        except OSError as exc:
            raise Refused(f"{lock} was left by an interrupted writer and cannot be removed ({exc.strerror})",
                          f"make sure no git or bundlectl command is running, then delete it: {_rm(aside, seen)}") from None
        log.warning("removed %s, a ref lock left %.0f s ago by an interrupted writer", lock, _age(seen))

    def _write_refused(self, failure: _GitFailed, refs: list[str]) -> BundlectlError:
        """What a failed ref transaction means to the user: a live lock, a stuck lock, or git's own reason."""
        for lock, seen in self._locks(failure, refs):
            if _age(seen) < STALE_LOCK_SECONDS:
                return Conflict(
                    f"another writer holds {lock}; retry",
                    f"nothing was changed; a lock left by a killed writer is removed once it is {STALE_LOCK_SECONDS} s old",
                )
            return Refused(f"{lock} was left by an interrupted writer and still blocks the registry",
                           f"make sure no git or bundlectl command is running, then delete it: {_rm(lock, seen)}")
        return Refused(f"git could not update the registry refs: {failure.detail}",
                       "nothing was changed; run `git fsck` and `bundlectl verify`")


def _transaction(moves: list[RefMove]) -> str:
    """The `update-ref --stdin` script that makes `moves` all at once, each only from its expected value."""
    return "".join(f"update {m.ref} {m.new} {m.expected or ZERO}\n" for m in moves)


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
