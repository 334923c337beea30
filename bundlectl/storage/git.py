"""The embedded git registry: objects, log and pointers as git objects under refs/bundlectl/.

- objects:  refs/bundlectl/objects/<key> → blob          (created with `update-ref create`, never moved)
- log:      refs/bundlectl/log → commit chain, one commit per event, payload in the message body
- pointers: refs/bundlectl/pointers/<name> → blob with the pointer's value

Log head and pointers move in one `git update-ref --stdin` transaction with expected old values, so
an append either lands whole or not at all. Nothing appears in the working tree, and the whole
registry travels with `git push/fetch origin 'refs/bundlectl/*:refs/bundlectl/*'`.
"""

from __future__ import annotations

import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bundlectl.errors import BundlectlError, NotFound
from bundlectl.faults import EVENT_WRITTEN, checkpoint
from bundlectl.storage.base import UNCHANGED, LogMoved, Pointer, PointerMoved, PointerUpdate, Storage, StoredEvent
from bundlectl.storage.gitrefs import ZERO, common_dir, read_ref

NAMESPACE = "refs/bundlectl/"
LOG_REF = NAMESPACE + "log"
OBJECT_PREFIX = NAMESPACE + "objects/"
POINTER_PREFIX = NAMESPACE + "pointers/"
LARGE_FILE = 64 * 1024 * 1024


class GitStorage(Storage):
    def __init__(self, git_dir: Path, url: str) -> None:
        self.git_dir = git_dir
        self.common = common_dir(git_dir)
        self.url = url
        self._repo: Any = None

    # plumbing -----------------------------------------------------------------------
    @property
    def repo(self) -> Any:
        if self._repo is None:
            import git

            try:
                self._repo = git.Repo(self.git_dir)
            except (git.InvalidGitRepositoryError, git.NoSuchPathError):
                raise NotFound(f"{self.git_dir} is not a git repository") from None
        return self._repo

    def _git(self, *args: str, stdin: bytes | None = None) -> str:
        """Run git through GitPython; stdin goes through a temporary file (GitPython takes a file)."""
        import git

        try:
            if stdin is None:
                return str(self.repo.git.execute(["git", *args]))
            with tempfile.TemporaryFile() as handle:
                handle.write(stdin)
                handle.seek(0)
                return str(self.repo.git.execute(["git", *args], istream=handle))
        except git.GitCommandError as exc:
            raise _GitFailed(exc.stderr or str(exc)) from None

    def _store_blob(self, data: bytes) -> str:
        from gitdb import IStream

        stream = self.repo.odb.store(IStream(b"blob", len(data), io.BytesIO(data)))
        return stream.hexsha.decode() if isinstance(stream.hexsha, bytes) else stream.hexsha

    # Storage ------------------------------------------------------------------------
    def is_initialized(self) -> bool:
        return read_ref(self.common, LOG_REF) is not None

    def initialize(self) -> None:
        _ = self.repo

    def index_path(self) -> Path:
        return self.common / "bundlectl" / "index.sqlite"

    def has_object(self, key: str) -> bool:
        return read_ref(self.common, OBJECT_PREFIX + key) is not None

    def get_object(self, key: str) -> bytes:
        sha = read_ref(self.common, OBJECT_PREFIX + key)
        if sha is None:
            raise NotFound(f"object {key} is not in the registry")
        from gitdb.util import hex_to_bin

        return bytes(self.repo.odb.stream(hex_to_bin(sha)).read())

    def put_object(self, key: str, data: bytes) -> None:
        if self.has_object(key):
            return
        self._create_refs({OBJECT_PREFIX + key: self._store_blob(data)})

    def put_files(self, files: dict[str, Path], progress: Callable[[int], None] | None = None) -> None:
        missing = {key: path for key, path in files.items() if not self.has_object(key)}
        if not missing:
            return
        keys = sorted(missing)
        # git streams large files to a pack itself; level-1 zlib keeps that near disk speed.
        paths = "".join(str(missing[k].resolve()) + "\n" for k in keys).encode()
        output = self._git("-c", "core.looseCompression=1", "hash-object", "-w", "--stdin-paths", stdin=paths)
        shas = output.split()
        if progress is not None:
            progress(sum(missing[k].stat().st_size for k in keys))
        self._create_refs({OBJECT_PREFIX + k: sha for k, sha in zip(keys, shas)})

    def _create_refs(self, refs: dict[str, str]) -> None:
        for attempt in range(3):
            todo = {ref: sha for ref, sha in refs.items() if read_ref(self.common, ref) is None}
            if not todo:
                return
            script = "".join(f"create {ref} {sha}\n" for ref, sha in todo.items()).encode()
            try:
                self._git("update-ref", "--stdin", stdin=script)
                return
            except _GitFailed:
                if attempt == 2:  # a concurrent writer created some of them; re-check what is left
                    raise

    def log_head(self) -> str | None:
        return read_ref(self.common, LOG_REF)

    def events_after(self, since: str | None, head: str) -> list[StoredEvent] | None:
        if since is not None:
            try:
                self._git("merge-base", "--is-ancestor", since, head)
            except _GitFailed:
                return None
        revs = f"{since}..{head}" if since else head
        output = self._git("log", "--reverse", "--format=%H%n%B%x00", revs)
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
        from git import Actor, Commit

        empty_tree = self._empty_tree()
        parents = [self.repo.commit(expected_head)] if expected_head else []
        who = Actor("bundlectl", "bundlectl@localhost")
        now = f"{int(time.time())} +0000"  # git's internal date format
        commit = Commit.create_from_tree(
            self.repo, empty_tree, f"{summary}\n\n{payload.decode()}\n", parent_commits=parents,
            head=False, author=who, committer=who, author_date=now, commit_date=now,
        )
        checkpoint(EVENT_WRITTEN)
        lines = [f"update {LOG_REF} {commit.hexsha} {expected_head or ZERO}\n"]
        for update in updates:
            blob = self._store_blob(update.value)
            lines.append(f"update {POINTER_PREFIX}{update.name} {blob} {update.expected_token or ZERO}\n")
        try:
            self._git("update-ref", "--stdin", stdin="".join(lines).encode())
        except _GitFailed as exc:
            if self.log_head() != expected_head:
                raise LogMoved() from None
            for update in updates:
                current = self.read_pointer(update.name)
                if (current.token if current else None) != update.expected_token:
                    raise PointerMoved(update.name) from None
            raise BundlectlError(f"git refused to update the registry: {exc.stderr.strip()}") from None
        return str(commit.hexsha)

    def _empty_tree(self) -> str:
        from gitdb import IStream

        stream = self.repo.odb.store(IStream(b"tree", 0, io.BytesIO(b"")))
        return stream.hexsha.decode() if isinstance(stream.hexsha, bytes) else stream.hexsha

    def list_pointers(self) -> dict[str, str]:
        output = self._git("for-each-ref", "--format=%(refname) %(objectname)", POINTER_PREFIX)
        return {ref[len(POINTER_PREFIX):]: sha for ref, _, sha in (l.partition(" ") for l in output.splitlines() if l)}

    def all_object_keys(self) -> list[str]:
        output = self._git("for-each-ref", "--format=%(refname)", OBJECT_PREFIX)
        return [line[len(OBJECT_PREFIX):] for line in output.splitlines() if line]

    def read_pointer_if_changed(self, name: str, token: str | None) -> Pointer | None | object:
        sha = read_ref(self.common, POINTER_PREFIX + name)  # a file read; the blob only when it moved
        if sha is not None and sha == token:
            return UNCHANGED
        return self.read_pointer(name)

    def read_pointer(self, name: str) -> Pointer | None:
        sha = read_ref(self.common, POINTER_PREFIX + name)
        if sha is None:
            return None
        from gitdb.util import hex_to_bin

        return Pointer(sha, bytes(self.repo.odb.stream(hex_to_bin(sha)).read()))


class _GitFailed(Exception):
    def __init__(self, stderr: str) -> None:
        super().__init__(stderr)
        self.stderr = stderr

