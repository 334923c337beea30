"""A registry on a git remote: refs/bundlectl/ of the remote is the registry, this machine keeps a mirror.

The mirror is a bare repository in the cache folder, one per remote URL. Reads fetch into it at most
once per BUNDLECTL_FETCH_TTL seconds (writes, `verify` and `status --check` fetch first) and then
read it as the local git registry is read. A write stages its objects and its event in the mirror and
publishes them with one `git push --atomic` that leases the log head and every pointer it moves, so
the remote takes all of it or none. A lease lost to another writer is a fetch, then LogMoved (the
registry layer plans again) or PointerMoved (a conflict). Pointers are blobs, which git never
fast-forwards: every pointer update is a leased, forced one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from bundlectl.digest.filehash import cache_dir
from bundlectl.errors import BundlectlError, Conflict, NotFound, Refused, UsageProblem
from bundlectl.foundation.faults import EVENT_WRITTEN, PUSHED, checkpoint
from bundlectl.storage.base import FileToStore, LogMoved, NetworkLimits, Pointer, PointerMoved, PointerUpdate, Unchanged
from bundlectl.storage.git import (
    LOCK_WAIT_MS,
    OBJECT_PREFIX,
    POINTER_PREFIX,
    STALE_LOCK_SECONDS,
    STATE_PREFIX,
    GitStorage,
    RefMove,
    first_complaint,
)
from bundlectl.storage.gitrefs import find_git_dir, read_ref

log = logging.getLogger(__name__)

DEFAULT_FETCH_TTL = 2.0  # seconds a fetch serves reads on this machine (BUNDLECTL_FETCH_TTL)
DEFAULT_TIMEOUT = 60.0  # seconds any one fetch or push may take (BUNDLECTL_REMOTE_TIMEOUT)
PUSH_BATCH = 1000  # object refs per push: a register of many files stays far below the OS's argument limit
REFSPEC = "+refs/bundlectl/*:refs/bundlectl/*"  # forced: the remote is the truth; the index catches rewrites

_SCHEMES = ("ssh://", "git://", "https://", "http://")
_REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SCP_LIKE = re.compile(r"(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9][A-Za-z0-9.-]*:[^\s:][^\s]*")  # git@host:org/repo.git
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")
_LOCKED = ("cannot lock ref", ".lock'", "failed to lock", "Unable to create")


def open_remote(url: str, cwd: Path, limits: NetworkLimits | None = None) -> RemoteGitStorage:
    """The registry behind `git+URL` (ssh, git, https, http, or scp-like `user@host:path`) or `git+REMOTE`.

    `limits` (the runtime's) bound each fetch or push; otherwise BUNDLECTL_REMOTE_TIMEOUT does.
    """
    timeout = limits.connect_timeout + limits.read_timeout if limits else _seconds("BUNDLECTL_REMOTE_TIMEOUT", DEFAULT_TIMEOUT, zero=False)
    return RemoteGitStorage(remote_url(url, cwd), _seconds("BUNDLECTL_FETCH_TTL", DEFAULT_FETCH_TTL), timeout)


def remote_url(url: str, cwd: Path) -> str:
    """The URL git reaches the registry at. Only forms git treats as a network URL get through: no option
    (a leading dash), no `ext::` command transport, nothing git would run."""
    rest = url.removeprefix("git+")
    if _UNSAFE.search(rest) or rest.startswith("-"):
        raise UsageProblem(f"registry {url!r} is not a git URL", "write it as git+ssh://host/repo.git or git+origin")
    if rest.startswith(_SCHEMES):
        host = rest.split("://", 1)[1].split("@")[-1]
        if not host or host.startswith(("-", "/")):
            raise UsageProblem(f"registry {url!r} names no host", "write it as git+ssh://host/path/repo.git")
        return rest
    if _SCP_LIKE.fullmatch(rest) and "::" not in rest and "://" not in rest:
        return rest
    if _REMOTE_NAME.fullmatch(rest):
        return _configured_remote(rest, url, cwd)
    raise UsageProblem(
        f"registry {url!r}: git+ takes ssh://, git://, https:// or http:// URLs, or a remote's name",
        "for example git+ssh://git@host/team/registry.git or git+origin; a path needs no git+",
    )


def _configured_remote(name: str, url: str, cwd: Path) -> str:
    git_dir = find_git_dir(cwd)
    if git_dir is None:
        raise NotFound(
            f"registry {url} names a remote of the repository around you, but there is none around {cwd}",
            "run bundlectl inside your clone of the project, or give the URL: --registry git+ssh://…",
        )
    found = subprocess.run(
        ["git", "--git-dir", str(git_dir), "remote", "get-url", name],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "LC_ALL": "C"},
    )
    address = found.stdout.strip()
    if found.returncode != 0 or not address:
        raise NotFound(
            f"the repository around {cwd} has no remote {name!r}", f"add it (git remote add {name} URL), or give the URL: --registry git+ssh://…"
        )
    if address.startswith("-") or _UNSAFE.search(address):
        raise UsageProblem(f"remote {name!r} has the URL {address!r}, which bundlectl will not pass to git", "fix it with `git remote set-url`")
    if "://" not in address and not _SCP_LIKE.fullmatch(address):  # a path: relative to the work tree, as git reads it
        root = git_dir.parent if git_dir.name == ".git" else git_dir
        address = str((root / address).resolve())
    return address


def _seconds(variable: str, default: float, zero: bool = True) -> float:
    text = os.environ.get(variable)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    lowest_ok = value >= 0 if zero else value > 0  # a timeout of 0 would fail every fetch at once
    if not (lowest_ok and value < 86400):  # NaN fails this too
        raise UsageProblem(f"{variable}={text!r} is not a number of seconds", f"set it to a number like {default:g}, or unset it")
    return value


class RemoteGitStorage(GitStorage):
    """GitStorage on the mirror, whose reads fetch first and whose writes are leased pushes to the remote."""

    def __init__(self, remote: str, fetch_ttl: float, timeout: float) -> None:
        self.remote = remote
        self.fetch_ttl, self.timeout = fetch_ttl, timeout
        super().__init__(_mirror(remote), "git+" + remote)
        self._stamp = self.common / "bundlectl" / "fetched"  # its mtime: when the last fetch started
        self._must_fetch = False
        self._fetched_at: float | None = None  # time.monotonic() of this process's last fetch
        self._pending: dict[str, str] = {}  # objects staged in the mirror, published with the next event

    # freshness ----------------------------------------------------------------------
    def refresh(self) -> None:
        self._must_fetch = True

    def _sync(self) -> None:
        """Fetch unless a fetch (here, or by another process on this machine) is younger than the TTL."""
        if not self._must_fetch:
            if self._fetched_at is not None and time.monotonic() - self._fetched_at < self.fetch_ttl:
                return
            if 0 <= time.time() - _mtime(self._stamp) < self.fetch_ttl:
                return
        self.fetch()

    def fetch(self) -> None:
        """Bring the mirror to the remote's refs/bundlectl/ now (one network round trip)."""
        asked = time.time()
        self._remake_mirror()
        with self._mirror_lock():
            # a fetch another process started after we asked serves us as well as our own would
            if _mtime(self._stamp) < asked:
                started = time.time()
                self._fetch_refs()
                self._stamp.touch()
                os.utime(self._stamp, (started, started))
        self._must_fetch, self._fetched_at = False, time.monotonic()

    def _fetch_refs(self) -> None:
        removed: set[Path] = set()
        while True:
            done = self._network("fetch", "--atomic", "--prune", "--no-tags", "--no-write-fetch-head", "--quiet", self.remote, REFSPEC)
            if done.returncode == 0:
                return
            if not any(sign in done.stderr for sign in _LOCKED):
                raise Refused(
                    f"cannot fetch the registry from {self.remote}: {first_complaint(done.stderr)}",
                    "check the URL, your access to the repository and the network",
                )
            if not self.recover_stale_locks(done.stderr, [], removed):
                held = self.held_lock(done.stderr)
                if held is not None:  # a live fetch's lock, or a killed one's not yet old enough to remove
                    raise Conflict(
                        f"another process holds {held} in this machine's copy of {self.url}; retry",
                        f"nothing was changed; a lock left by a killed git is removed once it is {STALE_LOCK_SECONDS} s old",
                    )
                raise Refused(
                    f"cannot update this machine's copy of {self.url} in {self.common}: {first_complaint(done.stderr)}",
                    f"retry; if it persists, delete {self.common} (it is only a cache)",
                )

    def _remake_mirror(self) -> None:
        """The mirror is only a cache: one deleted under a running process (a cleaned cache folder) is made again."""
        if (self.common / "bundlectl").is_dir() and (self.common / "HEAD").is_file():
            return
        _mirror_at(self.common, self.remote)
        self.stop_git()  # its processes read and write the deleted one

    @contextmanager
    def _mirror_lock(self) -> Iterator[None]:
        """One process at a time moves the mirror's refs, so they never step back to an older fetch.

        An flock: the kernel releases it when its holder dies, so a killed process leaves nothing behind.
        """
        import fcntl

        deadline = time.monotonic() + self.timeout + 5
        try:
            handle = open(self.common / "bundlectl" / "mirror.lock", "a+b")
        except OSError as exc:
            raise Refused(
                f"cannot use the mirror of {self.remote} in {self.common}: {exc.strerror}",
                "retry; it is only a cache, which the next fetch makes again if it is gone",
            ) from None
        with handle:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise Refused(
                            f"another bundlectl process has been updating {self.common} for too long",
                            "retry; if it persists, look for a stuck bundlectl or git process",
                        ) from None
                    time.sleep(0.01)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _network(self, *args: str) -> subprocess.CompletedProcess[str]:
        """One git command that talks to the remote, bounded by the timeout; never prompts.

        git runs in a process group of its own, so a timeout (or an interrupt) stops the ssh or
        https helper it started as well, not git alone.
        """
        env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C", "GIT_TERMINAL_PROMPT": "0"}
        command = ["git", "--git-dir", str(self.common), "-c", f"core.filesRefLockTimeout={LOCK_WAIT_MS}", *args]
        try:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, process_group=0
            )
        except FileNotFoundError:
            raise Refused("git is not installed (or not on PATH)", "install git, then retry") from None
        try:
            stdout, stderr = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            raise _TimedOut(
                f"git {args[0]} {self.remote} took longer than {self.timeout:g} s",
                "check the network, or allow more time: BUNDLECTL_REMOTE_TIMEOUT=SECONDS",
            ) from None
        except BaseException:
            _stop(process)
            raise
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)

    # reads: fetch first, then read the mirror ------------------------------------------
    def is_initialized(self) -> bool:
        self._sync()
        return super().is_initialized()

    def log_head(self) -> str | None:
        self._sync()
        return super().log_head()

    def read_pointer_if_changed(self, name: str, token: str | None) -> Pointer | None | Literal[Unchanged.UNCHANGED]:
        self._sync()  # how the runtime polls: a fetch at most once per TTL
        return super().read_pointer_if_changed(name, token)

    def read_state(self, name: str) -> Pointer | None:
        self._sync()
        return super().read_state(name)

    def swap_state(self, name: str, expected_token: str | None, value: bytes) -> bool:
        """A leased push of the state ref: the remote is where every deliverer sees it."""
        move = RefMove(STATE_PREFIX + name, self.stage_blob(value), expected_token)
        if self._push_once([move], leased=[move]) is not None:
            self._must_fetch = True
            return False
        self._mirror_pushed([move])
        return True

    def no_registry(self) -> NotFound:
        return NotFound(
            f"no bundlectl registry under refs/bundlectl/ of {self.remote}",
            f"if the team's registry belongs there, create it once: bundlectl init --registry {self.url}; otherwise check the URL",
        )

    # objects: staged in the mirror, published with the event that needs them -------------
    def has_object(self, key: str) -> bool:
        return key in self._pending or super().has_object(key)

    def get_object(self, key: str) -> bytes:
        if key in self._pending:
            return self._read_blob(OBJECT_PREFIX + key, self._pending[key])
        return super().get_object(key)

    def put_object(self, key: str, data: bytes) -> None:
        if not self.has_object(key):
            self._pending[key] = self.stage_blob(data)

    def put_files(self, files: dict[str, FileToStore], progress: Callable[[int], None] | None = None) -> None:
        missing = {key: path for key, path in files.items() if not self.has_object(key)}
        if missing:
            self._pending.update(self.stage_files(missing, progress))

    # the write: one atomic, leased push ------------------------------------------------
    def append_event(self, payload: bytes, summary: str, expected_head: str | None, updates: list[PointerUpdate], author: str | None = None) -> str:
        moves = self.stage_event(payload, summary, expected_head, updates, author)
        checkpoint(EVENT_WRITTEN)
        objects = [
            RefMove(OBJECT_PREFIX + key, sha, None)
            for key, sha in sorted(self._pending.items())
            if read_ref(self.common, OBJECT_PREFIX + key) is None
        ]
        failure = self._push(moves, objects)
        if failure is not None:
            self._settle(failure, moves, updates)
        else:
            checkpoint(PUSHED)
            self._mirror_pushed(moves + objects)
        self._pending.clear()
        return moves[0].new

    def _push(self, moves: list[RefMove], objects: list[RefMove]) -> str | None:
        """Push objects, then the event with its leases; None when the remote took it all, else why not."""
        # objects alone are harmless on the remote (unreferenced until an event names them), so a large
        # set goes ahead in batches; the last batch travels with the event
        while len(objects) > PUSH_BATCH:
            batch, objects = objects[:PUSH_BATCH], objects[PUSH_BATCH:]
            failure = self._push_once(batch)
            if failure is not None:
                return failure
        return self._push_once(objects + moves, leased=moves)

    def _push_once(self, refs: list[RefMove], leased: list[RefMove] | None = None) -> str | None:
        leases = [f"--force-with-lease={m.ref}:{m.expected or ''}" for m in leased or []]
        try:
            done = self._network("push", "--atomic", "--porcelain", "--no-verify", *leases, self.remote, *(f"{m.new}:{m.ref}" for m in refs))
        except _TimedOut as exc:
            return exc.message
        if done.returncode == 0:
            return None
        rejected = [line.split("\t", 2)[-1] for line in done.stdout.splitlines() if line.startswith("!")]
        return "; ".join(rejected) or first_complaint(done.stderr)

    def _settle(self, failure: str, moves: list[RefMove], updates: list[PointerUpdate]) -> None:
        """After a push that failed (or whose answer was lost): what the remote holds now says what happened."""
        try:
            self.fetch()
        except BundlectlError as exc:
            raise Refused(
                f"the push to {self.remote} did not complete ({failure}), and the remote cannot be read back ({exc.message})",
                "check the network; then `bundlectl history` or `status` shows whether it landed",
            ) from None
        head = super().log_head()
        if head == moves[0].new:
            return  # it landed; only the answer was lost
        if head != moves[0].expected:
            raise LogMoved()
        for update in updates:
            if read_ref(self.common, POINTER_PREFIX + update.name) != update.expected_token:
                raise PointerMoved(update.name)
        if "stale info" in failure or any(sign in failure for sign in _LOCKED):
            raise LogMoved()  # the remote was busy (another push held its ref locks): plan and try again
        raise Refused(
            f"{self.remote} refused the registry update: {failure}", "nothing was changed; check your permission to push to refs/bundlectl/ there"
        )

    def _mirror_pushed(self, moves: list[RefMove]) -> None:
        """Show the mirror what the remote now holds, so reads here see this write without a fetch.

        Each ref moves only from the value it had when this write planned: a fetch by another process
        may have carried the mirror past it already, and the mirror must never step back.
        """
        try:
            with self._mirror_lock():
                if self.move_refs(moves):
                    return
        except BundlectlError as exc:
            log.warning("could not record the push in %s (%s); the next read fetches", self.common, exc.message)
        self._must_fetch = True


class _TimedOut(Refused):
    """A fetch or push that did not finish in time; a push's caller reads the remote back to learn what happened."""


def _mirror(remote: str) -> Path:
    """This machine's bare mirror of `remote`, created on first use (atomically, however many processes race)."""

    return _mirror_at(cache_dir() / "remotes" / (hashlib.sha256(remote.encode()).hexdigest()[:16] + ".git"), remote)


def _mirror_at(path: Path, remote: str) -> Path:
    if (path / "HEAD").exists():
        try:
            (path / "bundlectl").mkdir(exist_ok=True)  # where its lock, its fetch time and its read index live
        except OSError as exc:
            raise Refused(
                f"cannot use the mirror of {remote} in {path}: {exc.strerror}", "check the permissions of the cache folder (BUNDLECTL_CACHE_DIR)"
            ) from None
        return path
    fresh: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(prefix=".new-", dir=path.parent))
        for command in (["init", "--bare", "--quiet", str(fresh)], ["--git-dir", str(fresh), "config", "bundlectl.remote", remote]):
            subprocess.run(["git", *command], capture_output=True, check=True, stdin=subprocess.DEVNULL)
        (fresh / "bundlectl").mkdir()
        fresh.rename(path)
    except (OSError, subprocess.CalledProcessError) as exc:
        if fresh is not None:
            shutil.rmtree(fresh, ignore_errors=True)
        if not (path / "HEAD").exists():  # no other process made it meanwhile: a real failure
            reason = exc.strerror if isinstance(exc, OSError) else "`git init` failed"
            raise Refused(
                f"cannot create a mirror of {remote} in {path.parent}: {reason}", "check the permissions of the cache folder (BUNDLECTL_CACHE_DIR)"
            ) from None
    return path


def _stop(process: subprocess.Popen[str]) -> None:
    """Kill a git command and everything it started (its own process group, by its id)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.communicate()


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("-inf")
