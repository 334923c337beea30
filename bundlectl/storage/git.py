"""The embedded git registry: objects, log and pointers as git objects under refs/bundlectl/.

- objects:  refs/bundlectl/objects/<key> → blob          (created with `update-ref create`, never moved)
- log:      refs/bundlectl/log → commit chain, one commit per event, payload in the message body
- pointers: refs/bundlectl/pointers/<name> → blob with the pointer's value

Log head and pointers move in one `git update-ref --stdin` transaction with expected old values, so
an append either lands whole or not at all. Nothing appears in the working tree, and the whole
registry travels with `git push/fetch origin 'refs/bundlectl/*:refs/bundlectl/*'`.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

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
    ZERO,
    common_dir,
    list_refs,
    read_ref,
)

if TYPE_CHECKING:
    from git import Repo

log = logging.getLogger(__name__)

NAMESPACE = "refs/bundlectl/"
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
        self._create_refs({OBJECT_PREFIX + key: self._store(data)})

    def put_files(self, files: dict[str, Path], progress: Callable[[int], None] | None = None) -> None:
        missing = {key: path for key, path in files.items() if not self.has_object(key)}
        if not missing:
            return
        keys = sorted(missing)
        # git streams large files to a pack itself; level-1 zlib keeps that near disk speed.
        paths = "".join(str(missing[k].resolve()) + "\n" for k in keys).encode()
        try:
            output = self._git("-c", "core.looseCompression=1", "hash-object", "-w", "--stdin-paths", stdin=paths)
        except _GitFailed as exc:
            raise Refused(f"git could not store the bundle's files in {self.common / 'objects'}: {exc.detail}",
                          "check the free space and permissions of the repository") from None
        shas = output.split()
        if progress is not None:
            progress(sum(missing[k].stat().st_size for k in keys))
        self._create_refs({OBJECT_PREFIX + k: sha for k, sha in zip(keys, shas, strict=True)})

    def _create_refs(self, refs: dict[str, str]) -> None:
        for attempt in range(3):
            todo = {ref: sha for ref, sha in refs.items() if read_ref(self.common, ref) is None}
            if not todo:
                return
            try:
                self._update_refs("".join(f"create {ref} {sha}\n" for ref, sha in todo.items()), list(todo))
                return
            except _GitFailed as exc:
                # a concurrent writer creating some of the same (content-addressed) objects is no
                # failure: re-check what is left; anything else is reported as it is
                if attempt == 2 or self._locks(list(todo), exc):
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
        self, payload: bytes, summary: str, expected_head: str | None, updates: list[PointerUpdate], author: str | None = None
    ) -> str:
        from git import Commit

        if expected_head is not None:
            self._require(LOG_REF, expected_head, "commit")
        parents = [self.repo.commit(expected_head)] if expected_head else []
        who = _commit_actor(author)
        now = f"{int(time.time())} +0000"  # git's internal date format
        commit = Commit.create_from_tree(
            self.repo, self._store(b"", "tree"), f"{summary}\n\n{payload.decode()}\n", parent_commits=parents,
            head=False, author=who, committer=who, author_date=now, commit_date=now,
        )
        if not _OBJECT_ID.fullmatch(commit.hexsha):  # GitPython does not check that git wrote it
            raise Refused(f"git could not write to {self.common / 'objects'}",
                          "check the free space and permissions of the repository")
        checkpoint(EVENT_WRITTEN)
        lines = [f"update {LOG_REF} {commit.hexsha} {expected_head or ZERO}\n"]
        for update in updates:
            blob = self._store(update.value)
            lines.append(f"update {POINTER_PREFIX}{update.name} {blob} {update.expected_token or ZERO}\n")
        refs = [LOG_REF, *(POINTER_PREFIX + update.name for update in updates)]
        try:
            self._update_refs("".join(lines), refs)
        except _GitFailed as exc:
            if self.log_head() != expected_head:
                raise LogMoved() from None
            for update in updates:
                if read_ref(self.common, POINTER_PREFIX + update.name) != update.expected_token:
                    raise PointerMoved(update.name) from None
            raise self._write_refused(exc, refs) from None
        return str(commit.hexsha)

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

    # ref locks ----------------------------------------------------------------------
    def _update_refs(self, script: str, refs: Sequence[str]) -> None:
        """Run one all-or-nothing `update-ref` transaction, recovering once from stale locks.

        A retry after removing a lock cannot overwrite anything: `script` still states every ref's
        expected old value, which git checks under its own lock, so a lost race stays a failure.
        """
        command = ("-c", f"core.filesRefLockTimeout={LOCK_WAIT_MS}", "update-ref", "--stdin")
        try:
            self._git(*command, stdin=script.encode())
        except _GitFailed as exc:
            locks = self._locks(refs, exc)
            if not locks or any(_age(seen) < STALE_LOCK_SECONDS for _, seen in locks):
                raise
            for lock, seen in locks:
                self._remove_stale_lock(lock, seen)
            self._git(*command, stdin=script.encode())

    def _locks(self, refs: Sequence[str], failure: _GitFailed) -> list[tuple[Path, os.stat_result]]:
        """The lock files that stand in the way of a transaction on `refs`, with what we saw of them."""
        candidates = [self.common / f"{ref}.lock" for ref in refs]
        if "packed-refs.lock" in failure.stderr:  # git takes it only to delete refs, which we never do
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
                          f"make sure no git or bundlectl command is running, then delete it: rm '{lock}'") from None
        if not _same_file(aside.lstat(), seen):
            try:  # a live writer took the lock meanwhile: hand it back (link fails if the name is taken)
                os.link(aside, lock)
            except OSError:
                pass
            aside.unlink(missing_ok=True)
            raise Conflict(f"another writer holds {lock}; retry", "nothing was changed")
        aside.unlink(missing_ok=True)
        log.warning("removed %s, a ref lock left %.0f s ago by an interrupted writer", lock, _age(seen))

    def _write_refused(self, failure: _GitFailed, refs: Sequence[str]) -> BundlectlError:
        """What a failed ref transaction means to the user: a live lock, a stuck lock, or git's own reason."""
        for lock, seen in self._locks(refs, failure):
            if _age(seen) < STALE_LOCK_SECONDS:
                return Conflict(
                    f"another writer holds {lock}; retry",
                    f"nothing was changed; a lock left by a killed writer is removed once it is {STALE_LOCK_SECONDS} s old",
                )
            return Refused(f"{lock} was left by an interrupted writer and still blocks the registry",
                           f"make sure no git or bundlectl command is running, then delete it: rm '{lock}'")
        return Refused(f"git could not update the registry refs: {failure.detail}",
                       "nothing was changed; run `git fsck` and `bundlectl verify`")


def _commit_actor(author: str | None) -> Any:
    """The acting identity as git's author and committer, so `git log refs/bundlectl/log` says who acted."""
    from git import Actor

    name = re.sub(r"[<>\n\x00]", "", author or "").strip() or "bundlectl"
    first = name.split(",")[0].strip()  # several signers (a threshold of admins): the first one's address
    email = first if re.fullmatch(r"[^\s@]+@[^\s@]+", first) else f"{re.sub(r'[^A-Za-z0-9._-]+', '-', first)}@bundlectl"
    return Actor(name, email)


def _age(seen: os.stat_result) -> float:
    return time.time() - seen.st_mtime


def _same_file(now: os.stat_result, seen: os.stat_result) -> bool:
    return (now.st_dev, now.st_ino, now.st_mtime_ns) == (seen.st_dev, seen.st_ino, seen.st_mtime_ns)


class _GitFailed(Exception):
    """A git command failed; private to this module, which turns it into a BundlectlError or a signal."""

    def __init__(self, stderr: str) -> None:
        super().__init__(stderr)
        self.stderr = stderr

    @property
    def detail(self) -> str:
        """git's first complaint, without its "fatal:" or "error:" prefix."""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        first = lines[0] if lines else "no reason given"
        return first.removeprefix("fatal: ").removeprefix("error: ")
