"""Git objects written and read by bundlectl itself: a write starts no process, and a large blob streams.

Loose objects are written and read here, CHUNK bytes at a time, in git's own format (zlib of
"<kind> <size>\\0<content>", named by the SHA-1 of that). Blobs of UNCOMPRESSED_FROM bytes and more are
written as zlib "stored" blocks, without compression: storing one costs one pass over the file, at the
speed of the disk rather than of zlib (40 MB/s at level 1 on incompressible data). Any git reads them
like every other loose object, and `git gc` compresses them when it packs them.

Objects that are not loose (packed by `git gc`, or in an alternate) are read through one long-lived
`git cat-file --batch-command`, with its pack windows capped so that git reads them in bounded memory
too (its defaults map up to 1 GiB of a pack at once).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import itertools
import os
import secrets
import stat
import struct
import subprocess
import threading
import time
import weakref
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple

from bundlectl.errors import Refused
from bundlectl.storage import base

# Below this, zlib level 1 (git's own default for loose objects) costs little and saves disk; from it
# on, compressing would dominate the time to store, and model weights and vector indexes barely
# compress anyway. `git gc` compresses everything it packs.
UNCOMPRESSED_FROM = 4 * 1024 * 1024
ABANDONED_AFTER = 60  # seconds a temporary object nobody locks may go unwritten before it counts as abandoned
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known id of the tree with no entries

_KINDS = frozenset({"blob", "tree", "commit", "tag"})
_HEADER_MAX = 32  # "commit 18446744073709551615\0" is the longest header git writes
_BLOCK = 0xFFFF  # the most one deflate stored block holds
_ZLIB_HEADER = b"\x78\x01"  # deflate with a 32 KiB window, "fastest" level flag
_FINAL_BLOCK = b"\x01\x00\x00\xff\xff"  # an empty stored block marked last
_BUFFERS = 3  # chunks in flight while storing: one being read, one being written, one being hashed
# git streams a packed blob only above core.bigFileThreshold, and maps packs in windows of
# core.packedGitWindowSize up to core.packedGitLimit. With the defaults (512 MiB, 1 GiB, 8 GiB) one
# `cat-file` of a large blob holds all of it in memory; with these it stays under ~40 MiB.
_BOUNDED_READS = ("-c", "core.bigFileThreshold=1m", "-c", "core.packedGitWindowSize=16m", "-c", "core.packedGitLimit=32m")
_NO_GIT = ("git is not installed (or not on PATH)", "install git, then retry")


class ObjectInfo(NamedTuple):
    kind: str
    size: int


class MissingObject(Exception):
    """The repository holds no object with this id."""


class DamagedObject(Exception):
    """An object's stored bytes cannot be read back as the object they claim to be."""


class ChangedWhileStoring(Exception):
    """The file's bytes are not the ones it was hashed as (it changed since, or while it was stored)."""


class StoredBlob(NamedTuple):
    sha: str  # git's object id
    sha256: str  # hex sha256 of the content, computed in the same pass


class GitObjects:
    """The object database of one repository: `objects` is its objects folder, `git_dir` is for git itself."""

    def __init__(self, git_dir: Path, objects: Path) -> None:
        self.git_dir = git_dir
        self.objects = objects
        self._readers: dict[str, _CatFile] = {}
        self._batch_command = True  # git >= 2.36 answers info and contents in one process
        weakref.finalize(self, _close_all, self._readers)

    def close(self) -> None:
        _close_all(self._readers)

    # writing ------------------------------------------------------------------------
    def write(self, kind: str, data: bytes) -> str:
        """Store a small object, zlib level 1 like git's loose objects, and return its id."""
        header = f"{kind} {len(data)}\0".encode()
        digest = hashlib.sha1(header)
        digest.update(data)
        sha = digest.hexdigest()
        if self._freshen(sha):
            return sha
        with self._temporary() as (handle, temporary):
            handle.write(zlib.compress(header + data, 1))
        self._install(temporary, sha)
        return sha

    def write_file(self, path: Path, sha256: str, progress: Callable[[int], None] | None = None) -> str:
        """Store a file's bytes as a blob, in bounded memory, and return its id.

        `sha256` is the hex digest the file was hashed as; the bytes stored are hashed again on the
        way in, and a file that no longer has that digest (it changed since, or while it is read) is
        refused with ChangedWhileStoring, leaving nothing behind.
        """
        from bundlectl.safeio.regular import open_regular

        with open_regular(path, follow=False) as source:  # a symlink or a FIFO swapped in since it was hashed is refused
            size = os.fstat(source.fileno()).st_size
            if size >= UNCOMPRESSED_FROM:
                self.remove_abandoned()
            if size < UNCOMPRESSED_FROM:
                data = source.read(size + 1)
                if len(data) != size or hashlib.sha256(data).hexdigest() != sha256:
                    raise ChangedWhileStoring(str(path))
                sha = self.write("blob", data)
                if progress is not None:
                    progress(len(data))
                return sha
            with self._temporary() as (handle, temporary):
                stored = _write_stored(source, size, handle.fileno(), progress)
                if stored.sha256 != sha256 or source.read(1):
                    raise ChangedWhileStoring(str(path))
        if self._freshen(stored.sha):  # stored already (by someone else meanwhile, or before a crash): keep it
            temporary.unlink(missing_ok=True)
        else:
            self._install(temporary, stored.sha)
        return stored.sha

    def _freshen(self, sha: str) -> bool:
        """True when the object is already stored loose: its time refreshed, as git does, so a concurrent prune spares it."""
        try:
            os.utime(self._path(sha))
            return True
        except OSError:
            return False  # absent, or not ours to touch: write it (again), as git does

    @contextmanager
    def _temporary(self) -> Iterator[tuple[IO[bytes], Path]]:
        """A new file in the objects folder, removed unless the block succeeds; `git prune` knows the name.

        Created read-only as git creates objects (mode 0444 less the umask), and open for writing.
        """
        while True:
            temporary = self.objects / f"tmp_obj_{secrets.token_hex(6)}"
            try:
                descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o444)
                break
            except FileExistsError:
                continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # held while written: an unlocked, unwritten one was abandoned
            with os.fdopen(descriptor, "wb") as handle:
                yield handle, temporary
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def remove_abandoned(self) -> list[Path]:
        """Remove the temporary objects a killed writer left (as large as the file it was storing; git would keep them
        for two weeks). bundlectl holds an flock on each while writing it; one nobody holds and nobody wrote to for
        ABANDONED_AFTER seconds (git's own writers take no lock, but write on) was abandoned."""
        removed = []
        for temporary in self.objects.glob("tmp_obj_*"):
            try:
                descriptor = os.open(temporary, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
            except OSError:
                continue
            try:
                found = os.fstat(descriptor)
                if not stat.S_ISREG(found.st_mode) or time.time() - found.st_mtime < ABANDONED_AFTER:
                    continue
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a writer is alive
                temporary.unlink(missing_ok=True)
                removed.append(temporary)
            except OSError:
                continue
            finally:
                os.close(descriptor)
        return removed

    def _install(self, temporary: Path, sha: str) -> None:
        """Move a finished object into place; an object already there has the same content by its name."""
        target = self._path(sha)
        try:
            target.parent.mkdir(exist_ok=True)
            os.replace(temporary, target)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _path(self, sha: str) -> Path:
        return self.objects / sha[:2] / sha[2:]

    # reading ------------------------------------------------------------------------
    def info(self, sha: str) -> ObjectInfo:
        """Kind and size of an object; MissingObject or DamagedObject when it cannot be had."""
        try:
            handle = open(self._path(sha), "rb")
        except (FileNotFoundError, NotADirectoryError):
            with self._reader() as reader:
                return reader.ask(sha, contents=False)
        with handle:
            info, _ = _split_header(_inflated(handle, sha, 512), sha)
            return info

    @contextmanager
    def open(self, sha: str) -> Iterator[tuple[ObjectInfo, Iterator[bytes]]]:
        """An object's kind and size, and its content as chunks of at most CHUNK bytes."""
        try:
            handle = open(self._path(sha), "rb", buffering=0)
        except (FileNotFoundError, NotADirectoryError):
            with self._reader() as reader:
                info = reader.ask(sha, contents=True)
                yield info, reader.content()
            return
        with handle:
            yield _split_header(_inflated(handle, sha, base.CHUNK), sha)

    def read(self, sha: str) -> tuple[ObjectInfo, bytes]:
        """A small object whole (commits, pointer values)."""
        with self.open(sha) as (info, chunks):
            return info, b"".join(chunks)

    @contextmanager
    def _reader(self) -> Iterator[_CatFile]:
        """The long-lived `cat-file`, or a one-off one while that is busy (another thread, a nested read)."""
        while True:
            option = "--batch-command" if self._batch_command else "--batch"
            shared = self._readers.setdefault(option, _CatFile(self.git_dir, option))
            spare = None if shared.lock.acquire(blocking=False) else _CatFile(self.git_dir, option)
            reader = spare or shared
            try:
                try:
                    reader.start()
                except _Unsupported:  # git before 2.36: a --batch for contents, a --batch-check for info
                    self._batch_command = False
                    continue
                yield reader
                return
            finally:
                if spare is not None:
                    spare.close()
                else:
                    shared.finish()
                    shared.lock.release()


class _Unsupported(Exception):
    """This git has no `cat-file --batch-command`."""


class _CatFile:
    """One `git cat-file` process, started on first use and asked one object at a time.

    With --batch-command it answers `info` and `contents` alike; with --batch (older git) every
    answer carries the content, so an info-only question on a large blob goes to a --batch-check
    started beside it.
    """

    def __init__(self, git_dir: Path, option: str) -> None:
        self.git_dir, self.option = git_dir, option
        self.lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._errors: IO[bytes] | None = None  # git's stderr, read only when it stops answering
        self._owner = 0  # the pid that started it: a forked child must not share its pipes
        self._unread = 0  # content bytes of the last answer not read yet (plus its newline)
        self._check: _CatFile | None = None  # the --batch-check beside a --batch

    def start(self) -> subprocess.Popen[bytes]:
        process = self._process
        if process is not None and process.poll() is None and self._owner == os.getpid():
            return process
        self.close()
        command = ["git", "--git-dir", str(self.git_dir), *_BOUNDED_READS, "cat-file", self.option]
        import tempfile  # on first use of cat-file, not at start-up (tempfile pulls in random and shutil)

        errors = tempfile.TemporaryFile()
        try:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        except FileNotFoundError:
            errors.close()
            raise Refused(*_NO_GIT) from None
        self._process, self._errors, self._owner = process, errors, os.getpid()
        if self.option == "--batch-command":
            self._probe(process)
        return process

    def _probe(self, process: subprocess.Popen[bytes]) -> None:
        """Ask for nothing in particular (the empty tree): a git without --batch-command exits with its usage instead."""
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(f"info {EMPTY_TREE}\n".encode())
            process.stdin.flush()
        except BrokenPipeError:
            pass
        if not process.stdout.readline():
            process.wait()
            self.close()
            raise _Unsupported()

    def ask(self, sha: str, contents: bool) -> ObjectInfo:
        if self.option == "--batch" and not contents:
            if self._check is None:
                self._check = _CatFile(self.git_dir, "--batch-check")
            self._check.start()
            return self._check.ask(sha, contents=True)
        process = self.start()
        assert process.stdin is not None and process.stdout is not None
        question = sha if self.option != "--batch-command" else f"{'contents' if contents else 'info'} {sha}"
        try:
            process.stdin.write(question.encode() + b"\n")
            process.stdin.flush()
        except BrokenPipeError:
            raise self._failed() from None
        answer = process.stdout.readline().split()
        if len(answer) == 2 and answer[1] == b"missing":
            raise MissingObject(sha)
        if len(answer) != 3 or not answer[2].isdigit() or answer[1].decode(errors="replace") not in _KINDS:
            raise self._failed()
        info = ObjectInfo(answer[1].decode(), int(answer[2]))
        self._unread = info.size + 1 if contents and self.option != "--batch-check" else 0
        return info

    def content(self) -> Iterator[bytes]:
        """The content of the object `ask` just answered for, CHUNK bytes at a time."""
        process = self._process
        if process is None or process.stdout is None:
            raise self._failed()
        while self._unread > 1:
            piece = process.stdout.read(min(base.CHUNK, self._unread - 1))
            if not piece:
                raise self._failed()
            self._unread -= len(piece)
            yield piece
        if process.stdout.read(1) != b"\n":
            raise self._failed()
        self._unread = 0

    def finish(self) -> None:
        """After each request: a reader that stopped early leaves bytes in the pipe, so that process goes."""
        if self._unread:
            self.close()

    def _failed(self) -> DamagedObject:
        """git stopped answering: it died on a damaged pack or repository; its complaint is the reason."""
        reason = "git cat-file stopped answering"
        if self._process is not None and self._errors is not None and self._owner == os.getpid():
            self._process.kill()
            self._process.wait()
            self._errors.seek(0)
            lines = [line.strip() for line in self._errors.read().decode(errors="replace").splitlines() if line.strip()]
            if lines:
                reason = lines[0].removeprefix("fatal: ").removeprefix("error: ")
        self.close()
        return DamagedObject(reason)

    def close(self) -> None:
        process, errors, self._process, self._errors = self._process, self._errors, None, None
        self._unread = 0
        if self._check is not None:
            self._check.close()
        if errors is not None:
            errors.close()
        if process is None:
            return
        if self._owner == os.getpid():  # cat-file only reads: stopping it mid-answer loses nothing
            process.kill()
            process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


def _close_all(readers: dict[str, _CatFile]) -> None:
    for reader in readers.values():
        reader.close()


def _write_stored(source: io.FileIO, size: int, descriptor: int, progress: Callable[[int], None] | None) -> StoredBlob:
    """Write `size` bytes of `source` as a loose blob of zlib stored blocks, hashing them on the way.

    One pass over the file, CHUNK bytes at a time through _BUFFERS reused buffers. A helper thread
    computes the SHA-1 (the blob's id) and zlib's Adler-32 of each chunk while this one computes the
    sha256 (what the registry calls the file) and writes the chunk out: the two halves cost about the
    same, so storing takes about half as long as doing it all in turn (hashlib, zlib and os.writev all
    let go of the GIL for chunks this size).
    """
    header = b"blob %d\0" % size
    sha1, sha256 = hashlib.sha1(header), hashlib.sha256()
    adler = [zlib.adler32(header)]
    _write_all(descriptor, [_ZLIB_HEADER, _block_header(len(header)), header])
    buffers = [bytearray(base.CHUNK) for _ in range(_BUFFERS)]
    hashing: deque[Future[None]] = deque()

    def digest(chunk: memoryview) -> None:  # in order: the helper runs one task at a time
        sha1.update(chunk)
        adler[0] = zlib.adler32(chunk, adler[0])

    total = count = 0
    with ThreadPoolExecutor(1, thread_name_prefix="bundlectl-hash") as helper:
        try:
            while total < size:  # never past the size seen at the start: a file still growing must not loop forever
                if len(hashing) == _BUFFERS:
                    hashing.popleft().result()  # the oldest buffer is free again
                view = memoryview(buffers[count % _BUFFERS])
                read = source.readinto(view[: min(base.CHUNK, size - total)])
                if not read:
                    break
                chunk = view[:read]
                hashing.append(helper.submit(digest, chunk))
                sha256.update(chunk)
                _write_all(
                    descriptor,
                    [part for start in range(0, read, _BLOCK) for part in (_block_header(min(_BLOCK, read - start)), chunk[start : start + _BLOCK])],
                )
                total += read
                count += 1
                if progress is not None:
                    progress(read)
        finally:
            while hashing:
                hashing.popleft().result()
    if total != size:
        raise ChangedWhileStoring(str(size))
    _write_all(descriptor, [_FINAL_BLOCK, struct.pack(">I", adler[0])])
    return StoredBlob(sha1.hexdigest(), sha256.hexdigest())


def _block_header(length: int) -> bytes:
    """A non-final stored block of `length` bytes: type bits, then LEN and its complement (RFC 1951 3.2.4)."""
    return struct.pack("<BHH", 0, length, length ^ 0xFFFF)


def _write_all(descriptor: int, parts: list[bytes | memoryview]) -> None:
    written = os.writev(descriptor, parts)
    if written == sum(len(part) for part in parts):
        return
    rest = memoryview(b"".join(parts))[written:]  # a short write (a signal, a nearly full disk): finish it
    while rest:
        rest = rest[os.write(descriptor, rest) :]


def _inflated(handle: IO[bytes], sha: str, size: int) -> Iterator[bytes]:
    """A loose object's inflated bytes, header included, at most `size` at a time."""
    inflater = zlib.decompressobj()
    try:
        while not inflater.eof:
            data = inflater.unconsumed_tail or handle.read(size)
            if not data:
                raise DamagedObject(f"loose object {sha} is truncated")
            piece = inflater.decompress(data, size)
            if piece:
                yield piece
    except zlib.error as exc:
        raise DamagedObject(f"loose object {sha} cannot be inflated ({exc})") from None
    if inflater.unused_data or handle.read(1):
        raise DamagedObject(f"loose object {sha} has bytes after its end")


def _split_header(pieces: Iterator[bytes], sha: str) -> tuple[ObjectInfo, Iterator[bytes]]:
    """Parse "<kind> <size>\\0" off the front; the rest is checked to be exactly `size` bytes long."""
    start = b""
    for piece in pieces:
        start += piece
        if b"\0" in start or len(start) > _HEADER_MAX:
            break
    header, found, rest = start.partition(b"\0")
    kind, _, size = header.decode(errors="replace").partition(" ")
    if not found or kind not in _KINDS or not size.isdigit():
        raise DamagedObject(f"loose object {sha} has no valid header")
    info = ObjectInfo(kind, int(size))

    def content() -> Iterator[bytes]:
        count = 0
        for piece in itertools.chain([rest] if rest else [], pieces):
            count += len(piece)
            if count > info.size:  # never more than the header says: a zlib bomb stops here, not gigabytes later
                raise DamagedObject(f"loose object {sha} holds more than the {info.size} bytes its header says")
            yield piece
        if count != info.size:
            raise DamagedObject(f"loose object {sha} holds {count} bytes, its header says {info.size}")

    return info, content()
