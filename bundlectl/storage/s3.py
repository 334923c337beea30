"""The S3 registry: the same storage interface on object storage, safe for many writers without a lock server.

Layout under s3://bucket/prefix/:
- objects/<key>        immutable, written with If-None-Match: * (content-addressed)
- log/<seq>.json       the event log, one immutable object per event, created with If-None-Match: *
- pointers/<name>      environment pointers, swapped with If-Match: <etag>
- head.json            where the log ends (a hint that only moves forward)

The log record is the commit point: whoever creates log/<N> first wins position N, so two writers can
never both append after the same head. Each record carries the pointer writes it implies; the writer
(or, if it died, the next command to look) rolls them forward with If-Match, so pointers always end up
agreeing with the log. No retry can overwrite: every write is conditional and a lost response that
comes back as 412 is recognised by comparing the stored bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from bundlectl.digest.filehash import cache_dir
from bundlectl.errors import (
    BundlectlError,
    Conflict,
    DamagedStorage,
    NotFound,
    Refused,
    UsageProblem,
)
from bundlectl.foundation.faults import EVENT_WRITTEN, LOG_MOVED, checkpoint
from bundlectl.safeio.regular import open_regular, read_regular
from bundlectl.storage.base import (
    CHUNK,
    UNCHANGED,
    FileToStore,
    LogMoved,
    NetworkLimits,
    Pointer,
    PointerMoved,
    PointerUpdate,
    Storage,
    StoredEvent,
    Unchanged,
)
from bundlectl.storage.s3_client import new_client

MULTIPART_THRESHOLD = 16 * 1024 * 1024
PART_SIZE = 8 * 1024 * 1024
# Parts in memory at once, being read or uploaded: PART_SIZE × UPLOAD_THREADS (32 MiB) bounds what an
# upload of any size holds, and four parallel parts keep a link to S3 busy.
UPLOAD_THREADS = 4
READ_THREADS = 16
SEQ_WIDTH = 12

_EVENT_ID = re.compile(rf"[0-9]{{{SEQ_WIDTH}}}-[0-9a-f]{{16}}")
_DAMAGED_HINT = "it was changed outside bundlectl; run `bundlectl verify`, and restore the registry from a backup"


def parse_s3_url(url: str) -> tuple[str, str]:
    rest = url[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise UsageProblem(f"registry {url!r} names no bucket", "write it as s3://bucket/prefix")
    return bucket, prefix.strip("/")


class S3Storage(Storage):
    def __init__(self, url: str, endpoint_url: str | None = None, limits: NetworkLimits | None = None) -> None:
        self.url = url.rstrip("/")
        self.bucket, prefix = parse_s3_url(url)
        self.prefix = prefix + "/" if prefix else ""
        self.endpoint_url = endpoint_url
        self.limits = limits
        self._client: Any = None  # a botocore S3 client; boto3 ships no type stubs
        self._server_time: tuple[datetime, float] | None = None  # the newest Date header, and when it arrived (monotonic)

    # plumbing -----------------------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            # boto3 and botocore ship no type stubs (boto3-stubs is not a dependency): the client is Any
            from botocore.config import Config

            # botocore's retry modes handle throttling and transient errors, bounded; AWS_RETRY_MODE and
            # AWS_MAX_ATTEMPTS still win. Conditional writes make every retry safe (see append_event).
            retries: dict[str, Any] = {
                "mode": os.environ.get("AWS_RETRY_MODE", "standard"),
                "max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS", "3")),
            }
            connect, read = 5.0, 60.0
            if self.limits is not None:  # a caller that must not hang (the runtime) bounds every call itself
                retries = {"mode": "standard", "total_max_attempts": self.limits.attempts}
                connect, read = self.limits.connect_timeout, self.limits.read_timeout
            config = Config(retries=retries, connect_timeout=connect, read_timeout=read, max_pool_connections=max(UPLOAD_THREADS, READ_THREADS) + 2)
            self._client = new_client(self.endpoint_url, config)
        return self._client

    def _key(self, *parts: str) -> str:
        return self.prefix + "/".join(parts)

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def _call(self, operation: str, handles: tuple[type[_Signal], ...] = (), **kwargs: Any) -> Any:
        """One S3 call, with every botocore failure turned into a one-line bundlectl error.

        The answers a caller lists in `handles` (404, 304, 412, 403) come back as private signals for it
        to act on; every other failure, those answers included, leaves as its public BundlectlError.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = getattr(self.client, operation)(Bucket=self.bucket, **kwargs)
            self._note_date(response)
            return response
        except ClientError as exc:
            error = _client_error(exc, self, operation, kwargs.get("Key"))
            if isinstance(error, _Signal) and not isinstance(error, handles):
                raise error.public from None
            raise error from None
        except BotoCoreError as exc:
            raise _transport_error(exc, self) from None

    def _note_date(self, response: Any) -> None:
        date = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date") if isinstance(response, dict) else None
        if date:
            from email.utils import parsedate_to_datetime

            try:
                self._server_time = (parsedate_to_datetime(date).astimezone(UTC), time.monotonic())
            except (TypeError, ValueError):
                pass  # a Date header that does not parse is no clock to trust

    def trusted_time(self) -> datetime | None:
        if self._server_time is None:
            return None
        date, received = self._server_time
        return date + timedelta(seconds=time.monotonic() - received)

    def _get(self, key: str, **kwargs: Any) -> tuple[bytes, str] | None:
        """Body and ETag of a key, or None when it does not exist."""
        try:
            response = self._call("get_object", (_Missing,), Key=key, **kwargs)
        except _Missing:
            return None
        return response["Body"].read(), response["ETag"]

    def _put_new(self, key: str, data: bytes) -> bool:
        """Create `key` only if absent; False if it already existed."""
        return self._swap(key, data, None)

    def _swap(self, key: str, data: bytes, expected: str | None, handles: tuple[type[_Signal], ...] = ()) -> bool:
        """Write `key` only if it still has ETag `expected` (None: only if absent); False if it did not."""
        condition = {"IfNoneMatch": "*"} if expected is None else {"IfMatch": expected}
        try:
            self._call("put_object", (_PreconditionFailed, *handles), Key=key, Body=data, **condition)
            return True
        except _PreconditionFailed:
            return False

    # Storage ------------------------------------------------------------------------
    def is_initialized(self) -> bool:
        return self.log_head() is not None

    def initialize(self) -> None:
        try:
            self._call("head_bucket", (_Missing,))
        except _Missing:
            raise NotFound(f"bucket {self.bucket} does not exist", "create it first, or check --registry") from None
        self._require_conditional_writes()

    def _require_conditional_writes(self) -> None:
        """Refuse endpoints that ignore If-None-Match / If-Match: on them no write here would be safe."""
        marker = self._key("registry.json")
        self._put_new(marker, json.dumps({"format": 1, "kind": "bundlectl-registry"}).encode())
        ignored = []
        if self._swap(marker, b"{}", None):
            ignored.append("If-None-Match")
        if self._swap(marker, b"{}", '"00000000000000000000000000000000"'):
            ignored.append("If-Match")
        if ignored:
            raise Refused(
                f"the S3 endpoint for {self.url} ignores {' and '.join(ignored)} (a conditional write succeeded "
                "that must fail); concurrent writers could overwrite each other there",
                "use AWS S3 or a store with conditional writes (recent MinIO, Ceph RGW, R2)",
            )

    def index_path(self) -> Path:

        where = self.url + "|" + (self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "")
        return cache_dir() / "registries" / hashlib.sha256(where.encode()).hexdigest()[:16] / "index.sqlite"

    def has_object(self, key: str) -> bool:
        try:
            self._call("head_object", (_Missing,), Key=self._key("objects", key))
            return True
        except _Missing:
            return False

    @contextmanager
    def open_object(self, key: str) -> Iterator[Iterator[bytes]]:
        try:
            response = self._call("get_object", (_Missing,), Key=self._key("objects", key))
        except _Missing:
            raise NotFound(f"object {key} is not in the registry") from None
        body = response["Body"]
        try:
            yield self._chunks(body)
        finally:
            body.close()

    def _chunks(self, body: Any) -> Iterator[bytes]:
        """A response body read as it is consumed; a connection lost midway is the usual one-line error."""
        from botocore.exceptions import BotoCoreError

        try:
            yield from body.iter_chunks(CHUNK)
        except BotoCoreError as exc:
            raise _transport_error(exc, self) from None

    def put_object(self, key: str, data: bytes) -> None:
        self._put_new(self._key("objects", key), data)

    def put_files(self, files: dict[str, FileToStore], progress: Callable[[int], None] | None = None) -> None:
        for key, item in self._new_files(files, progress):
            try:
                size = item.path.stat().st_size
                if size < MULTIPART_THRESHOLD:
                    data = read_regular(item.path, MULTIPART_THRESHOLD, follow=False)
                    if hashlib.sha256(data).hexdigest() != item.sha256:
                        raise _changed(item)
                    self._put_new(self._key("objects", key), data)
                    if progress is not None:
                        progress(size)
                else:
                    self._multipart(self._key("objects", key), item, size, progress)
            except OSError as exc:
                raise Refused(f"cannot read {item.path}: {exc.strerror}", "check the file and retry") from None

    def _multipart(self, key: str, item: FileToStore, size: int, progress: Callable[[int], None] | None) -> None:
        """Parallel multipart upload in bounded memory; completion is conditional, so an existing object is never replaced.

        The file is read once, in order: each part is hashed (in order, by a helper thread) while it is
        uploaded (UPLOAD_THREADS at a time), and the upload is completed only if the bytes sent have the
        digest the key promises. At most UPLOAD_THREADS + 1 parts are in memory: one read ahead.
        Parts carry CRC32 checksums (as s3transfer's upload_file does): the server checks each part and
        completes from the part checksums instead of re-reading the whole object.
        """
        upload = self._call("create_multipart_upload", Key=key, ChecksumAlgorithm="CRC32")["UploadId"]
        slots = threading.BoundedSemaphore(UPLOAD_THREADS + 1)  # one per part held in memory
        digest = hashlib.sha256()

        def send(number: int, body: bytes, hashed: Future[None]) -> dict[str, Any]:
            try:
                part = self._call("upload_part", Key=key, UploadId=upload, PartNumber=number, Body=body, ChecksumAlgorithm="CRC32")
                hashed.result()
            finally:
                slots.release()
            if progress is not None:
                progress(len(body))
            return {"ETag": part["ETag"], "PartNumber": number, "ChecksumCRC32": part["ChecksumCRC32"]}

        try:
            sending: list[Future[dict[str, Any]]] = []
            changed = False
            with ThreadPoolExecutor(UPLOAD_THREADS) as pool, ThreadPoolExecutor(1) as hasher, open_regular(item.path, follow=False) as handle:
                for offset in range(0, size, PART_SIZE):
                    slots.acquire()
                    if any(f.done() and f.exception() for f in sending):
                        slots.release()
                        break  # a part failed: stop reading; its error is raised below
                    wanted = min(PART_SIZE, size - offset)
                    body = handle.read(wanted)
                    if len(body) != wanted:  # the file shrank
                        slots.release()
                        changed = True
                        break
                    sending.append(pool.submit(send, len(sending) + 1, body, hasher.submit(digest.update, body)))
                    del body
                changed = changed or bool(handle.read(1))  # or grew
                parts = [f.result() for f in sending]
            if changed or digest.hexdigest() != item.sha256:
                raise _changed(item)
            try:
                self._call(
                    "complete_multipart_upload", (_PreconditionFailed,), Key=key, UploadId=upload, MultipartUpload={"Parts": parts}, IfNoneMatch="*"
                )
            except _PreconditionFailed:  # someone stored the same content first: nothing to do
                self._call("abort_multipart_upload", Key=key, UploadId=upload)
        except BaseException:
            try:
                self._call("abort_multipart_upload", Key=key, UploadId=upload)
            except BundlectlError:
                pass
            raise

    # event log ---------------------------------------------------------------------
    def _log_key(self, seq: int) -> str:
        return self._key("log", f"{seq:0{SEQ_WIDTH}d}.json")

    def _read_head(self) -> tuple[int, str | None, str | None]:
        key = self._key("head.json")
        found = self._get(key)
        if found is None:
            return 0, None, None
        head = _parse(found[0], self._where(key), {"seq": int, "id": str})
        if head["seq"] < 0 or not _EVENT_ID.fullmatch(head["id"]):
            raise DamagedStorage(f"{self._where(key)} is damaged: it does not name a log record", _DAMAGED_HINT)
        return int(head["seq"]), str(head["id"]), found[1]

    def _read_record(self, seq: int) -> dict[str, Any] | None:
        """The log record at `seq`, checked for the fields every reader relies on; None past the end."""
        key = self._log_key(seq)
        found = self._get(key)
        if found is None:
            return None
        record = _parse(found[0], self._where(key), {"payload": str, "pointers": list})
        if not all(
            isinstance(p, dict)
            and isinstance(p.get("name"), str)
            and isinstance(p.get("value"), str)
            and isinstance(p.get("expected"), (str, type(None)))
            for p in record["pointers"]
        ):
            raise DamagedStorage(f"{self._where(key)} is damaged: its pointer writes are malformed", _DAMAGED_HINT)
        return record

    def log_head(self) -> str | None:
        seq, event_id, _ = self._read_head()
        while True:  # records past head.json are committed events whose roll-forward did not finish
            record = self._read_record(seq + 1)
            if record is None:
                return event_id
            seq, event_id = seq + 1, _event_id(seq + 1, record["payload"].encode())
            self._roll_forward(record, seq, event_id)

    def events_after(self, since: str | None, head: str) -> list[StoredEvent] | None:
        start = 0
        if since is not None:
            start = _seq_of(since)
            record = self._read_record(start)
            if record is None or _event_id(start, record["payload"].encode()) != since:
                return None
        end = _seq_of(head)

        def fetch(seq: int) -> StoredEvent:
            record = self._read_record(seq)
            if record is None:
                raise NotFound(f"log record {seq} is missing from {self.url}", "run `bundlectl verify`")
            payload = record["payload"].encode()
            return StoredEvent(_event_id(seq, payload), payload)

        with ThreadPoolExecutor(READ_THREADS) as pool:
            return list(pool.map(fetch, range(start + 1, end + 1)))

    def append_event(self, payload: bytes, summary: str, expected_head: str | None, updates: list[PointerUpdate], author: str | None = None) -> str:
        seq = (_seq_of(expected_head) if expected_head else 0) + 1
        for update in updates:
            current = self.read_pointer(update.name)
            if (current.token if current else None) != update.expected_token:
                if self.log_head() != expected_head:
                    raise LogMoved()
                raise PointerMoved(update.name)
        record = {
            "summary": summary,
            "payload": payload.decode(),
            "pointers": [{"name": u.name, "expected": u.expected_token, "value": u.value.decode()} for u in updates],
        }
        body = json.dumps(record, sort_keys=True).encode()
        checkpoint(EVENT_WRITTEN)
        if not self._put_new(self._log_key(seq), body):
            existing = self._get(self._log_key(seq))
            if existing is None or existing[0] != body:  # a 412 for our own retried write is a success
                raise LogMoved()
        event_id = _event_id(seq, payload)
        checkpoint(LOG_MOVED)
        self._roll_forward(record, seq, event_id)
        return event_id

    def _roll_forward(self, record: dict[str, Any], seq: int, event_id: str) -> None:
        """Apply a committed record's pointer writes and advance head.json; safe to repeat, by anyone."""
        try:
            for pointer in record["pointers"]:
                # a refusal means someone already rolled it forward, or a later record moved it on
                self._swap(self._key("pointers", pointer["name"]), pointer["value"].encode(), pointer["expected"], (_Denied,))
            current_seq, _, etag = self._read_head()
            if current_seq < seq:  # a refusal means another process advanced it; the log stays the truth
                self._swap(self._key("head.json"), json.dumps({"seq": seq, "id": event_id}).encode(), etag, (_Denied,))
        except _Denied:
            pass  # read-only credentials: readers follow the log without repairing it

    # pointers ----------------------------------------------------------------------
    def read_pointer(self, name: str) -> Pointer | None:
        found = self._get(self._key("pointers", name))
        return Pointer(found[1], found[0]) if found else None

    def read_pointer_if_changed(self, name: str, token: str | None) -> Pointer | None | Literal[Unchanged.UNCHANGED]:
        """One conditional GET: an unchanged pointer costs a 304 and no body."""
        if token is None:
            return self.read_pointer(name)
        try:
            response = self._call("get_object", (_NotModified, _Missing), Key=self._key("pointers", name), IfNoneMatch=token)
        except _NotModified:
            return UNCHANGED
        except _Missing:
            return None
        return Pointer(response["ETag"], response["Body"].read())

    def read_state(self, name: str) -> Pointer | None:
        found = self._get(self._key("state", name))
        return Pointer(found[1], found[0]) if found else None

    def swap_state(self, name: str, expected_token: str | None, value: bytes) -> bool:
        return self._swap(self._key("state", name), value, expected_token)

    def _list(self, folder: str) -> dict[str, str]:
        keys: dict[str, str] = {}
        token = None
        base = self._key(folder) + "/"
        while True:
            kwargs: dict[str, Any] = {"Prefix": base}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list_objects_v2", **kwargs)
            for item in page.get("Contents", []):
                keys[item["Key"][len(base) :]] = item["ETag"]
            if not page.get("IsTruncated"):
                return keys
            token = page["NextContinuationToken"]

    def list_pointers(self) -> dict[str, str]:
        return self._list("pointers")

    def all_object_keys(self) -> list[str]:
        return sorted(self._list("objects"))


def _changed(item: FileToStore) -> Refused:
    return Refused(
        f"{item.path} changed after it was hashed, or while it was being stored; nothing was registered",
        "run the command again once the file is complete",
    )


def _event_id(seq: int, payload: bytes) -> str:
    return f"{seq:0{SEQ_WIDTH}d}-{hashlib.sha256(payload).hexdigest()[:16]}"


def _seq_of(event_id: str) -> int:
    return int(event_id.split("-", 1)[0])


def _parse(body: bytes, where: str, fields: dict[str, type]) -> dict[str, Any]:
    """The JSON object stored at `where`, with at least `fields` of these types; else IntegrityFailure."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict) or any(not isinstance(document.get(f), t) for f, t in fields.items()):
        raise DamagedStorage(f"{where} is damaged: it is not the JSON document bundlectl wrote", _DAMAGED_HINT)
    return document


class _Signal(Exception):
    """An S3 answer a caller may act on itself (see S3Storage._call); `public` is what it means to anyone else.

    Deliberately not a BundlectlError: one that escaped its caller would be a bug, never a message.
    """

    def __init__(self, public: BundlectlError) -> None:
        super().__init__(public.message)
        self.public = public


class _Missing(_Signal):
    """404: no such key (or multipart upload)."""


class _NotModified(_Signal):
    """304: a conditional read found the ETag the caller holds."""


class _PreconditionFailed(_Signal):
    """412: a conditional write found the key created or changed by someone else."""


class _Denied(_Signal):
    """403: these credentials may not do this."""


def _client_error(exc: Any, storage: S3Storage, operation: str, key: str | None) -> BundlectlError | _Signal:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    where = f"s3://{storage.bucket}/{storage.prefix}".rstrip("/")
    target = storage._where(key) if key else where
    if code in ("PreconditionFailed", "ConditionalRequestConflict") or status == 412:
        return _PreconditionFailed(
            Conflict(f"{target} was changed by another writer (S3 {operation} answered 412)", "nothing was overwritten; retry")
        )
    if code == "NoSuchBucket":
        return NotFound(f"bucket {storage.bucket} does not exist", "create it first, or check --registry")
    if status == 304:
        return _NotModified(
            BundlectlError(f"S3 {operation} on {target} answered 304 Not Modified unasked", "retry; if it persists, check the endpoint")
        )
    if code in ("NoSuchKey", "404", "NotFound", "NoSuchUpload") or status == 404:
        return _Missing(NotFound(f"{target} was not found (S3 {operation}: {code or status})", "retry; if it persists, run `bundlectl verify`"))
    if code in ("ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired", "RequestExpired"):
        return Refused(f"the AWS credentials for {where} have expired", "refresh them (e.g. `aws sso login`) and retry")
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "UnrecognizedClientException"):
        return Refused(f"the AWS credentials were rejected by {where} ({code})", "check AWS_ACCESS_KEY_ID / AWS_PROFILE")
    if code in ("AccessDenied", "AllAccessDisabled", "403") or status == 403:
        return _Denied(Refused(f"access denied to {where} ({operation})", "check the credentials in use and the bucket policy"))
    message = error.get("Message") or code or "error"
    return BundlectlError(f"S3 {operation} on {where} failed: {message}", "retry; if it persists, check the endpoint and bucket")


def _transport_error(exc: Any, storage: S3Storage) -> BundlectlError:
    from botocore.exceptions import NoCredentialsError, PartialCredentialsError

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return Refused("no AWS credentials found", "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or use an instance role")
    endpoint = storage.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "AWS S3"
    return BundlectlError(
        f"cannot reach the S3 endpoint {endpoint} ({type(exc).__name__})", "check --endpoint-url / AWS_ENDPOINT_URL and the network"
    )
