"""The local read index: an SQLite file derived from the event log, keyed by the log head it reflects.

Reads compare the stored head with the backend's (one small file read on git) and use the index
when they agree; otherwise they apply the missing events, or rebuild from the whole log. The log
stays the truth: deleting the index only costs one rebuild. Opening the index writes nothing, so a
read of a current index never touches the disk it lives on.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from bundlectl.digest.canonical import canonical_json
from bundlectl.errors import BrokenChain, IntegrityFailure, PointerMismatch
from bundlectl.foundation.clock import event_time, parse_time
from bundlectl.integrity.registry_id import Identity, NotThisRegistry, identity_after
from bundlectl.integrity.skew import capped_run_at
from bundlectl.registry.events import CANARY_ACTIONS, MOVE_ACTIONS, PAUSE_ACTIONS, WATCH_ACTIONS, Event, EvidenceData
from bundlectl.registry.packing import pack, unpack
from bundlectl.registry.rows import (
    ApprovalRow,
    BundleRow,
    CanaryRow,
    EvidenceRow,
    IndexHead,
    MoveRow,
    PauseRow,
    PointerRow,
    Row,
    WatchRow,
    build,
    column_names,
    logged_row,
    select,
)

SCHEMA_VERSION = "13"  # 12: every row was judged a valid transition before it was written (bundlectl.transitions)
# 13: an evidence row's binding carries what its judge derived (`unshown_prompts`: prompt files its report never shows)
_MOVES = "action IN (" + ", ".join(f"'{a}'" for a in MOVE_ACTIONS) + ")"
_PAUSES = "action IN (" + ", ".join(f"'{a}'" for a in PAUSE_ACTIONS) + ")"
_CANARIES = "action IN (" + ", ".join(f"'{a}'" for a in CANARY_ACTIONS) + ")"
# Each record is stored once: a bundle record (packed) only in `bundles`, a move's, pause's or canary's payload
# only in `events.move`, evidence and approvals only as their own rows; other events keep just their
# envelope. The pause in force is the newest pause or resume of its environment (one index lookup).
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY, action TEXT NOT NULL, name TEXT, env TEXT, time TEXT NOT NULL, actor TEXT NOT NULL,
    move TEXT);
CREATE TABLE bundles (
    seq INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL,
    record_digest TEXT NOT NULL, time TEXT NOT NULL, actor TEXT NOT NULL, record BLOB NOT NULL, keyframe INTEGER);
CREATE UNIQUE INDEX bundles_by_version ON bundles (name, version);
CREATE INDEX bundles_by_digest ON bundles (name, digest);
CREATE INDEX keyframes ON bundles (name, seq) WHERE keyframe IS NULL;
CREATE TABLE evidence (
    seq INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL,
    evals_digest TEXT, kind TEXT NOT NULL, source TEXT NOT NULL, run_at TEXT NOT NULL,
    figures_json TEXT NOT NULL, report_key TEXT NOT NULL, actor TEXT NOT NULL, time TEXT NOT NULL,
    binding_json TEXT, signers TEXT);
CREATE INDEX evidence_by_digest ON evidence (digest, kind, run_at);
CREATE TABLE approvals (
    seq INTEGER PRIMARY KEY, name TEXT NOT NULL, digest TEXT NOT NULL, env TEXT NOT NULL,
    actor TEXT NOT NULL, time TEXT NOT NULL, signers TEXT);
CREATE INDEX approvals_by_digest ON approvals (digest, env);
CREATE TABLE trusts (seq INTEGER PRIMARY KEY, document TEXT NOT NULL);
CREATE TABLE pointers (
    name TEXT NOT NULL, env TEXT NOT NULL, digest TEXT NOT NULL, version TEXT NOT NULL,
    pointer_version INTEGER NOT NULL, seq INTEGER NOT NULL, time TEXT NOT NULL, actor TEXT NOT NULL,
    verified INTEGER NOT NULL, PRIMARY KEY (name, env));
"""
_EVENT_INDEXES = {
    "moves_by_target": f"CREATE INDEX moves_by_target ON events (name, env, seq) WHERE {_MOVES}",
    "moves_by_time": f"CREATE INDEX moves_by_time ON events (name, env, time, seq) WHERE {_MOVES}",
    "pauses_by_target": f"CREATE INDEX pauses_by_target ON events (name, env, seq) WHERE {_PAUSES}",
    "pauses_by_time": f"CREATE INDEX pauses_by_time ON events (name, env, time, seq) WHERE {_PAUSES}",
    "canaries_by_target": f"CREATE INDEX canaries_by_target ON events (name, env, seq) WHERE {_CANARIES}",
    "canaries_by_time": f"CREATE INDEX canaries_by_time ON events (name, env, time, seq) WHERE {_CANARIES}",
}
_BULK = 1000  # a rebuild of at least this many events builds the event indexes after the rows: a third faster
_DATA_TABLES = ("events", "bundles", "evidence", "approvals", "pointers", "trusts")
# the keyframe's packed bytes come along in the same query, so a record unpacks without another one
_BUNDLES = (
    "SELECT name, version, digest, time, actor, seq, record_digest, record,"
    " (SELECT k.record FROM bundles k WHERE k.seq = bundles.keyframe) FROM bundles"
)
_EVIDENCE = select(EvidenceRow, "evidence")
_APPROVALS = select(ApprovalRow, "approvals")
_POINTERS = select(PointerRow, "pointers")
_MOVE_ROWS = f"SELECT seq, action, time, actor, move FROM events WHERE name=? AND env=? AND {_MOVES}"
_PAUSE_ROWS = f"SELECT seq, action, time, actor, move FROM events WHERE name=? AND env=? AND {_PAUSES}"
_CANARY_ROWS = f"SELECT seq, action, time, actor, move FROM events WHERE name=? AND env=? AND {_CANARIES}"
_WATCH_ROWS = "SELECT seq, action, time, actor, move FROM events WHERE name=? AND env=? AND action=?"
_INDEX_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
# SQLite's answers that mean "this index cannot be written here" (read-only file or folder, no space)
_UNWRITABLE = {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_FULL}
_DAMAGED = {sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT}


class TransitionCheck(Protocol):
    """Judges whether a record may follow the log before it (bundlectl.transitions); raises IntegrityFailure if not."""

    def wants(self, event: Event) -> bool:
        """Whether this record is judged at all: the index is brought to the state just before it only then."""

    def __call__(self, index: Index, event: Event) -> dict[str, Any] | None:
        """Judge `event` against `index`, which holds exactly the records before it (in the open transaction).

        What it returns, if anything, is what the judge derived from the log that the record's own fields do not
        say (an evidence record: the prompt files its stored report never shows); it is kept in the record's row."""


class IndexUnwritable(Exception):
    """The index on disk cannot be created or updated here; the reader falls back to one in memory."""


class Index:
    """One connection to the read index; opening it writes nothing (see `prepare` for what may)."""

    def __init__(self, path: Path | None) -> None:
        """The index at `path`, or a private, empty one in memory for None."""
        try:
            self.db = sqlite3.connect(":memory:" if path is None else path, timeout=30, isolation_level=None)
            # The index is rebuildable from the log, so a commit need not wait for the disk: under WAL,
            # NORMAL keeps every commit atomic and skips its fsync (a power cut may only lose the
            # newest updates, which the next read applies again from the log).
            self.db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise _classified(exc) from None

    @classmethod
    def open(cls, path: Path) -> Index:
        """The index at `path` with the current schema: written only when it is missing or older."""
        if not path.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise IndexUnwritable(str(exc)) from None
        try:
            index = cls(path)
            index.prepare()
        except sqlite3.DatabaseError as exc:
            if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF not in _DAMAGED:
                raise
            # not a database any more (a torn copy, a stray write): the log has everything, start again
            for damaged in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                damaged.unlink(missing_ok=True)
            index = cls(path)
            index.prepare()
        return index

    @classmethod
    def in_memory(cls) -> Index:
        index = cls(None)
        index.prepare()
        return index

    def prepare(self) -> None:
        """Create the tables, or recreate them when they are of another schema version; else do nothing."""
        if self._intact():
            return
        try:
            self.db.execute("PRAGMA journal_mode=WAL")  # persistent in the file; not allowed in a transaction
        except sqlite3.Error as exc:
            raise _classified(exc) from None
        with self._writing():
            if self._intact():  # another process did it while we waited
                return
            old = self.db.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'").fetchall()
            for kind, name in old:
                self.db.execute(f'DROP {kind} IF EXISTS "{name}"')
            for statement in [*_SCHEMA.split(";"), *_EVENT_INDEXES.values()]:
                if statement.strip():
                    self.db.execute(statement)
            self._set_meta("schema", SCHEMA_VERSION)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction, committed at the end of the block; IndexUnwritable if SQLite cannot write here."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
            yield
            self.db.execute("COMMIT")
        except BaseException as exc:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise _classified(exc) from None
            raise

    def _intact(self) -> bool:
        """Of the current schema, with every table there and a readable head: else it is rebuilt from the log."""
        if self._schema() != SCHEMA_VERSION:
            return False
        tables = {name for (name,) in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        seq = self._meta("seq")
        return tables >= {"meta", *_DATA_TABLES} and (seq is None or seq.isascii() and seq.isdigit())

    def content(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row this index holds, table by table in a fixed order, bundle records unpacked: for `verify`."""
        found: dict[str, list[tuple[Any, ...]]] = {
            "meta": self.db.execute(
                "SELECT key, value FROM meta WHERE key NOT IN ('checked', 'checked_seq', 'registry_home') ORDER BY key"
            ).fetchall(),  # how far this machine checked signatures is its own
            "bundles": [tuple(row) for row in self._bundles(" ORDER BY seq", ())],
            "pointers": self.db.execute("SELECT * FROM pointers ORDER BY name, env").fetchall(),
        }
        for table in ("events", "evidence", "approvals", "trusts"):
            found[table] = self.db.execute(f"SELECT * FROM {table} ORDER BY seq").fetchall()
        return found

    def _schema(self) -> str | None:
        try:
            return self._meta("schema")
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise _classified(exc) from None

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str | None) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def head(self) -> IndexHead:
        """The log head this index reflects: nothing for an index not yet written, or one not readable here."""
        try:
            rows = dict(self.db.execute("SELECT key, value FROM meta WHERE key IN ('head','seq','hash')").fetchall())
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc) or isinstance(_classified(exc), IndexUnwritable):
                return IndexHead(None, 0, None)
            raise
        return IndexHead(rows.get("head"), int(rows.get("seq") or 0), rows.get("hash"))

    def _clear(self) -> None:
        for table in _DATA_TABLES:
            self.db.execute(f"DELETE FROM {table}")
        self.db.execute("DELETE FROM meta WHERE key != 'schema'")

    def apply(self, events: list[Event], new_head: str, expected: IndexHead, check: TransitionCheck | None = None) -> None:
        """Add events in order, checking the chain; skipped when another process already did it.

        With `check`, each record it wants is judged against the records before it, before its rows are added; a
        record it refuses rolls the whole batch back, so the index only ever holds a prefix of the log judged valid.
        """
        with self._writing():
            current = self.head()
            if current.id == new_head or (not events and expected.id is not None):
                return  # nothing new: never move the head without events
            if current != expected:
                if expected.id is not None:
                    return  # someone else moved the index under us; our caller re-reads
                self._clear()
                current = IndexHead(None, 0, None)
            seq, last = current.seq, current.hash
            latest = self.last_time() if current.id is not None else None
            # judging a record reads the event indexes (was it live there, what moved last): keep them then
            bulk = current.id is None and len(events) >= _BULK and check is None
            for name in _EVENT_INDEXES if bulk else ():
                self.db.execute(f"DROP INDEX {name}")
            rows = _Rows()
            for event in events:
                if event.seq != seq + 1 or event.prev != last:
                    raise BrokenChain(
                        f"event log is broken at record {event.id}: expected seq {seq + 1} after {last}, found seq {event.seq} after {event.prev}",
                        "run `bundlectl verify`; the log may have been edited",
                    )
                derived = None
                if check is not None and check.wants(event):
                    rows.write(self.db)  # the state just before this record, visible inside this transaction
                    self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows.meta.items())
                    derived = check(self, event)
                self._collect(event, rows, derived)
                seq, last = event.seq, event.hash
            rows.write(self.db)
            for statement in _EVENT_INDEXES.values() if bulk else ():
                self.db.execute(statement)
            self._check_home(Identity.from_json(rows.meta.get("identity") or self._meta("identity")))
            self._cap_times(events, latest)
            self.db.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", [*rows.meta.items(), ("head", new_head), ("seq", str(seq)), ("hash", last)]
            )

    def _collect(self, event: Event, rows: _Rows, derived: dict[str, Any] | None = None) -> None:
        """The rows one event adds, gathered so that a long catch-up writes each table in one statement."""
        data, seq, action, actor = event.data, event.seq, event.action, event.actor
        time = _index_time(event.time)
        if action in MOVE_ACTIONS:
            move = event.move()
            payload = event.payload()
            if "record" in move:  # a component rollback's new record is stored in bundles, not twice
                payload = canonical_json({**json.loads(payload), "data": {k: v for k, v in data.items() if k != "record"}})
            rows.events.append((seq, action, move["name"], move["env"], time, actor, payload.decode()))
            rows.pointers[(move["name"], move["env"])] = PointerRow(
                move["name"],
                move["env"],
                move["to_digest"],
                move["to_version"],
                move["pointer_version"],
                seq,
                time,
                actor,
                move.get("verified", True),
            )
        elif action in PAUSE_ACTIONS or action in CANARY_ACTIONS or action in WATCH_ACTIONS:
            rows.events.append((seq, action, data["name"], data["env"], time, actor, event.payload().decode()))
        else:
            rows.events.append((seq, action, data.get("name"), data.get("env"), time, actor, None))
        record = event.registered_record()
        if record is not None:
            rows.write(self.db)  # a record is packed against earlier ones of its name: write those first
            self._add_bundle(event, record, time)
        elif action == "evidence":
            evidence = event.evidence()
            rows.evidence.append(
                EvidenceRow(
                    seq,
                    evidence["name"],
                    evidence["version"],
                    evidence["digest"],
                    evidence.get("evals_digest"),
                    evidence["kind"],
                    evidence["source"],
                    capped_run_at(evidence["run_at"], event.time),
                    evidence["report_key"],
                    actor,
                    time,
                    canonical_json(evidence["figures"]).decode(),
                    _binding_json(evidence, derived),
                    self._signers(event, rows),
                )
            )
        elif action == "approval":
            approval = event.approval()
            rows.approvals.append(ApprovalRow(seq, approval["name"], approval["digest"], approval["env"], actor, time, self._signers(event, rows)))
        elif action in ("init", "registry"):
            current = Identity.from_json(rows.meta.get("identity") or self._meta("identity"))
            try:
                after = identity_after(current, seq, event.prev, action, data, event.registry)
            except NotThisRegistry:
                after = current  # writers and `verify` name the record; the index follows what it can
            history = json.loads(rows.meta.get("identities") or self._meta("identities") or "[]")
            rows.meta.update({"identity": after.to_json(), "identities": json.dumps([*history, after._asdict()])})
            if action == "init":
                rows.meta["format"] = str(data.get("format"))
        elif action == "policy":
            rows.meta["policy"] = canonical_json(event.policy()["policy"]).decode()
            rows.meta["policy_seq"] = str(seq)
        elif action == "webhooks":
            rows.meta["webhooks"] = canonical_json(event.data).decode()
            rows.meta["webhooks_seq"] = str(seq)
        elif action == "trust":
            document = canonical_json(event.trust()["trust"]).decode()
            rows.trusts.append((seq, document))
            rows.meta.update({"trust": document, "trust_seq": str(seq)})
            rows.meta.setdefault("trust_since", self._meta("trust_since") or str(seq))

    def _signers(self, event: Event, rows: _Rows) -> str | None:
        """The keys an event's signatures name, from the first trust file on; before it a record is a claim, and
        signatures beside it were never checked (`verify` refuses them), so they name no signer."""
        return _signers(event) if rows.meta.get("trust_since") or self._meta("trust_since") else None

    def _add_bundle(self, event: Event, record: dict[str, Any], time: str) -> None:
        found = self.db.execute(
            "SELECT seq, record FROM bundles WHERE name=? AND keyframe IS NULL ORDER BY seq DESC LIMIT 1", (record["name"],)
        ).fetchone()
        keyframe = unpack(found[1], None) if found else None
        packed, against = pack(canonical_json(record), keyframe)
        # a name@version is registered once (the log refuses another); the first record stays the truth
        self.db.execute(
            "INSERT OR IGNORE INTO bundles (seq, name, version, digest, record_digest, time, actor, record, keyframe) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                event.seq,
                record["name"],
                record["version"],
                record["digest"],
                event.data["record_digest"],
                time,
                event.actor,
                packed,
                found[0] if against and found else None,
            ),
        )

    def _all(self, cls: type[Row], query: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = self.db.execute(query, params)
        return [build(cls, cursor, r) for r in cursor.fetchall()]

    def _one(self, cls: type[Row], query: str, params: Sequence[Any] = ()) -> Row | None:
        cursor = self.db.execute(query, params)
        row = cursor.fetchone()
        return build(cls, cursor, row) if row else None

    def _bundles(self, where: str, params: Sequence[Any]) -> list[BundleRow]:
        rows = []
        for name, version, digest, time, actor, seq, record_digest, packed, keyframe in self.db.execute(_BUNDLES + where, params):
            record = unpack(packed, None if keyframe is None else unpack(keyframe, None))
            rows.append(BundleRow(name, version, digest, time, actor, seq, record_digest, record.decode()))
        return rows

    def _moves(self, query: str, params: Sequence[Any]) -> list[MoveRow]:
        return [logged_row(MoveRow, *row) for row in self.db.execute(query, params)]

    def _pauses(self, query: str, params: Sequence[Any]) -> list[PauseRow]:
        return [logged_row(PauseRow, *row) for row in self.db.execute(query, params)]

    # queries ------------------------------------------------------------------------
    def last_time(self) -> str | None:
        row = self.db.execute("SELECT time FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return str(row[0]) if row else None

    def bundle(self, name: str, version: str) -> BundleRow | None:
        found = self._bundles(" WHERE name=? AND version=?", (name, version))
        return found[0] if found else None

    def served_bundle(self, name: str, version: str, how: str = "was live") -> BundleRow:
        """A bundle the log says is (or was) served: not registered means the log or index was tampered with."""
        row = self.bundle(name, version)
        if row is None:
            raise PointerMismatch(f"the log says {name}@{version} {how}, but it is not registered", "run `bundlectl verify`")
        return row

    def bundles_by_digest_prefix(self, name: str, prefix: str) -> list[BundleRow]:
        return self._bundles(" WHERE name=? AND digest LIKE ? ORDER BY seq", (name, prefix + "%"))

    def bundles(self, name: str | None = None) -> list[BundleRow]:
        if name:
            return self._bundles(" WHERE name=? ORDER BY seq", (name,))
        return self._bundles(" ORDER BY name, seq", ())

    def bundles_with_digest(self, name: str, digest: str) -> list[BundleRow]:
        return self._bundles(" WHERE name=? AND digest=? ORDER BY seq", (name, digest))

    def identity(self) -> Identity:
        """The registry this log is at its head (integrity/registry_id.py)."""
        return Identity.from_json(self._meta("identity"))

    def identity_at(self, seq: int) -> Identity:
        """The registry the log is right after the record at `seq`."""
        found = [Identity(**item) for item in json.loads(self._meta("identities") or "[]") if item["since"] <= seq]
        return found[-1] if found else Identity()

    def _cap_times(self, events: list[Event], latest: str | None) -> None:
        """Count no record later than a record after it (integrity/skew.py): a record dated ahead by a wrong clock
        takes the time of the first record that follows it. Nothing to do while times rise with seq (always,
        but for a wrong clock), which one comparison per record tells."""
        times = [_index_time(e.time) for e in events]
        highest = latest or ""
        breaks = []
        for event, time in zip(events, times, strict=True):
            if time < highest:
                breaks.append((event.seq, time))
            highest = max(highest, time)
        for seq, time in reversed(breaks):
            for table in ("events", "bundles", "evidence", "approvals", "pointers"):
                self.db.execute(f"UPDATE {table} SET time = ? WHERE seq < ? AND time > ?", (time, seq, time))
            run_at = time[:19] + "Z"  # reports' run times have whole seconds
            self.db.execute("UPDATE evidence SET run_at = ? WHERE seq < ? AND run_at > ?", (run_at, seq, run_at))

    def _check_home(self, identity: Identity) -> None:
        """The registry this machine first read must stay the one it reads: a log that turns into another registry (a
        sandbox copy brought back over it) is refused here, on every machine that knew it, before the index moves."""
        home = self._meta("registry_home")
        if home is None or home == identity.registry or (home == "legacy" and identity.copied_at is None):
            self._set_meta("registry_home", identity.registry or "legacy")
            return
        known = "a legacy registry without an id" if home == "legacy" else f"registry {home}"
        raise IntegrityFailure(
            f"this machine read {known} here; its log now says it is {identity.describe()}: "
            "records made in another registry were brought into this one",
            "restore the log from a clone or backup made before; if this registry was replaced by "
            "the copy on purpose, delete the read index (bundlectl's cache) and retry",
        )

    def trust(self) -> tuple[dict[str, Any] | None, int | None]:
        """The stored trust document in force and the seq that set it; (None, None) before any `trust set`."""
        text, seq = self._meta("trust"), self._meta("trust_seq")
        return (json.loads(text) if text else None), (int(seq) if seq else None)

    def environments(self) -> list[str]:
        """Every environment the policy in force names, then any other that something was ever live in."""
        document = self.policy()[0]
        named = list(document["environments"]) if isinstance(document, dict) and isinstance(document.get("environments"), dict) else []
        moved = [row[0] for row in self.db.execute("SELECT DISTINCT env FROM pointers ORDER BY env").fetchall()]
        return named + [env for env in moved if env not in named]

    def latest_time(self) -> str | None:
        """The time of the newest record in the log (`doctor` compares it with this machine's clock)."""
        row = self.db.execute(
            "SELECT max(t) FROM (SELECT max(time) AS t FROM events UNION ALL SELECT max(time) FROM bundles "
            "UNION ALL SELECT max(time) FROM evidence UNION ALL SELECT max(time) FROM approvals)"
        ).fetchone()
        return row[0] if row and row[0] else None

    def trust_text(self) -> tuple[str | None, int | None]:
        """`trust()` as the stored canonical text, for callers that cache what they parse from it."""
        text, seq = self._meta("trust"), self._meta("trust_seq")
        return text, (int(seq) if seq else None)

    def trust_since(self) -> int | None:
        """The seq of the first `trust set`: from it on, every record is signed and its actor a proven principal."""
        seq = self._meta("trust_since")
        return int(seq) if seq else None

    def trust_before(self, seq: int) -> tuple[dict[str, Any] | None, int | None]:
        """The trust document in force for the record at `seq` (set by an earlier record), and its seq."""
        row = self.db.execute("SELECT document, seq FROM trusts WHERE seq < ? ORDER BY seq DESC LIMIT 1", (seq,)).fetchone()
        return (json.loads(row[0]), int(row[1])) if row else (None, None)

    def signatures_checked(self) -> IndexHead:
        """How far the signatures of this index's records were checked on this machine (docs/design.md: Signed records)."""
        rows = dict(self.db.execute("SELECT key, value FROM meta WHERE key IN ('checked','checked_seq')").fetchall())
        return IndexHead(rows.get("checked"), int(rows.get("checked_seq") or 0), None)

    def mark_signatures_checked(self, through: IndexHead, expected: IndexHead) -> None:
        """Record that every record up to `through` had its signatures checked; skipped if another process moved on."""
        try:
            with self._writing():
                if self.signatures_checked() == expected and self.head().id is not None:
                    self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [("checked", through.id), ("checked_seq", str(through.seq))])
        except IndexUnwritable:
            pass  # the next writer checks again; the log stays the truth

    def policy(self) -> tuple[dict[str, Any] | None, int | None]:
        """The stored policy document in force (every default filled in) and the seq that set it."""
        text, seq = self._meta("policy"), self._meta("policy_seq")
        return (json.loads(text) if text else None), (int(seq) if seq else None)

    def webhooks(self) -> tuple[dict[str, Any] | None, int | None]:
        """The data of the webhooks record in force (subscriptions and since when each endpoint has them) and its seq."""
        text, seq = self._meta("webhooks"), self._meta("webhooks_seq")
        return (json.loads(text) if text else None), (int(seq) if seq else None)

    def policy_text(self) -> tuple[str | None, int | None]:
        """`policy()` as the stored canonical text, for callers that cache what they parse from it."""
        text, seq = self._meta("policy"), self._meta("policy_seq")
        return text, (int(seq) if seq else None)

    def evidence_for(self, digest: str, kind: str | None = None) -> list[EvidenceRow]:
        """Newest run first."""
        query = _EVIDENCE + " WHERE digest=?" + (" AND kind=?" if kind else "") + " ORDER BY run_at DESC, seq DESC"
        return self._all(EvidenceRow, query, (digest, kind) if kind else (digest,))

    def evidence_by_seq(self, seqs: list[int]) -> list[EvidenceRow]:
        if not seqs:
            return []
        return self._all(EvidenceRow, _EVIDENCE + f" WHERE seq IN ({','.join('?' * len(seqs))}) ORDER BY seq", seqs)

    def evidence_bound_as(self, report_key: str, run_id: str | None) -> list[EvidenceRow]:
        """Evidence of any bundle made from these report bytes, or from the same run of the tool."""
        return self._all(
            EvidenceRow, _EVIDENCE + " WHERE report_key=? OR json_extract(binding_json, '$.provenance.run_id')=? ORDER BY seq", (report_key, run_id)
        )

    def has_run_provenance(self) -> bool:
        """Whether any evidence record carries provenance: from then on bundlectl writes no record without it."""
        row = self.db.execute("SELECT 1 FROM evidence WHERE json_extract(binding_json, '$.provenance') IS NOT NULL LIMIT 1").fetchone()
        return row is not None

    def has_prompt_rule(self) -> bool:
        """Whether every evidence record from here on is judged by the prompt rule: the registry was made by a
        bundlectl that writes none other (init format 2), or an earlier evidence record was written under it."""
        made = self._meta("format")
        if made is not None and made.isdigit() and int(made) >= 2:
            return True
        row = self.db.execute("SELECT 1 FROM evidence WHERE json_extract(binding_json, '$.prompt_rule') IS NOT NULL LIMIT 1").fetchone()
        return row is not None

    def approvals_for(self, digest: str, env: str) -> list[ApprovalRow]:
        return self._all(ApprovalRow, _APPROVALS + " WHERE digest=? AND env=? ORDER BY seq", (digest, env))

    def pointer(self, name: str, env: str) -> PointerRow | None:
        return self._one(PointerRow, _POINTERS + " WHERE name=? AND env=?", (name, env))

    def pointers(self, name: str | None = None) -> list[PointerRow]:
        if name:
            return self._all(PointerRow, _POINTERS + " WHERE name=? ORDER BY name, env", (name,))
        return self._all(PointerRow, _POINTERS + " ORDER BY name, env")

    def moves(self, name: str, env: str, limit: int | None = None) -> list[MoveRow]:
        """Promotions and rollbacks of one pointer, newest first."""
        query = _MOVE_ROWS + " ORDER BY seq DESC" + (" LIMIT ?" if limit else "")
        return self._moves(query, (name, env, limit) if limit else (name, env))

    def move_at(self, name: str, env: str, time: str) -> MoveRow | None:
        """The last promotion or rollback at or before `time` (a B-tree lookup, not a walk)."""
        found = self._moves(_MOVE_ROWS + " AND time <= ? ORDER BY time DESC, seq DESC LIMIT 1", (name, env, time))
        return found[0] if found else None

    def move_after(self, name: str, env: str, seq: int) -> MoveRow | None:
        found = self._moves(_MOVE_ROWS + " AND seq > ? ORDER BY seq LIMIT 1", (name, env, seq))
        return found[0] if found else None

    def pause(self, name: str, env: str) -> PauseRow | None:
        """The newest pause or resume of ENV; it is paused when that one is a pause."""
        found = self._pauses(_PAUSE_ROWS + " ORDER BY seq DESC LIMIT 1", (name, env))
        return found[0] if found else None

    def pauses(self, name: str, env: str, limit: int | None = None) -> list[PauseRow]:
        """Pauses and resumes of one environment, newest first."""
        query = _PAUSE_ROWS + " ORDER BY seq DESC" + (" LIMIT ?" if limit else "")
        return self._pauses(query, (name, env, limit) if limit else (name, env))

    def pause_at(self, name: str, env: str, time: str) -> PauseRow | None:
        """The last pause or resume at or before `time`."""
        found = self._pauses(_PAUSE_ROWS + " AND time <= ? ORDER BY time DESC, seq DESC LIMIT 1", (name, env, time))
        return found[0] if found else None

    def _canaries(self, query: str, params: Sequence[Any]) -> list[CanaryRow]:
        return [logged_row(CanaryRow, *row) for row in self.db.execute(query, params)]

    def canaries(self, name: str, env: str, limit: int | None = None) -> list[CanaryRow]:
        """Canary starts, steps and ends of one environment, newest first."""
        query = _CANARY_ROWS + " ORDER BY seq DESC" + (" LIMIT ?" if limit else "")
        return self._canaries(query, (name, env, limit) if limit else (name, env))

    def canary(self, name: str, env: str) -> tuple[CanaryRow | None, int | None]:
        """The newest canary record of ENV, and the seq of the promotion that completed it (None if none did).

        A canary runs while that record has a share and no promotion came after it: the first move after a
        running canary can only be the promotion of its candidate.
        """
        found = self._canaries(_CANARY_ROWS + " ORDER BY seq DESC LIMIT 1", (name, env))
        if not found:
            return None, None
        completed = self.move_after(name, env, found[0].seq) if found[0].percent else None
        return found[0], completed.seq if completed else None

    def canary_at(self, name: str, env: str, time: str) -> CanaryRow | None:
        """The canary running at `time`: the last canary record at or before it, if it had a share and nothing moved since."""
        found = self._canaries(_CANARY_ROWS + " AND time <= ? ORDER BY time DESC, seq DESC LIMIT 1", (name, env, time))
        if not found or not found[0].percent:
            return None
        move = self.move_at(name, env, time)
        return None if move is not None and move.seq > found[0].seq else found[0]

    def watches(self, name: str, env: str, action: str, limit: int | None = None, at: str | None = None) -> list[WatchRow]:
        """Drift runs or reviews (`action`) of one environment, newest first; with `at`, those at or before that time."""
        query = _WATCH_ROWS + (" AND time <= ?" if at else "") + " ORDER BY seq DESC" + (" LIMIT ?" if limit else "")
        params = (name, env, action, *([at] if at else []), *([limit] if limit else []))
        return [logged_row(WatchRow, *row) for row in self.db.execute(query, params)]

    def was_live(self, name: str, env: str, digest: str) -> bool:
        row = self.db.execute(
            f"SELECT 1 FROM events WHERE name=? AND env=? AND {_MOVES} AND json_extract(move, '$.data.to_digest')=? LIMIT 1", (name, env, digest)
        ).fetchone()
        return row is not None


def _binding_json(evidence: EvidenceData, derived: dict[str, Any] | None) -> str | None:
    """The record's provenance, case matching and prompt rule, and what its judge derived (a writer's own record
    is not judged again: it derives nothing a judge would, since the writer refused what a judge would keep)."""
    binding: dict[str, Any] = {key: evidence[key] for key in ("provenance", "cases", "prompt_rule") if key in evidence}
    binding.update(derived or {})
    # canonical, so the row is the same whether the event came from this writer or from the stored log
    return canonical_json(binding).decode() if binding else None


class _Rows:
    """Rows gathered from events and not yet written, per table, in log order."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.evidence: list[EvidenceRow] = []
        self.approvals: list[ApprovalRow] = []
        self.pointers: dict[tuple[str, str], PointerRow] = {}  # only the last move of each pointer counts
        self.trusts: list[tuple[int, str]] = []
        self.meta: dict[str, str] = {}

    def write(self, db: sqlite3.Connection) -> None:
        db.executemany("INSERT OR REPLACE INTO events (seq, action, name, env, time, actor, move) VALUES (?,?,?,?,?,?,?)", self.events)
        for table, rows in (("evidence", self.evidence), ("approvals", self.approvals), ("pointers", list(self.pointers.values()))):
            if rows:
                names = column_names(type(rows[0]))
                db.executemany(f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) VALUES ({','.join('?' * len(names))})", rows)
        db.executemany("INSERT OR REPLACE INTO trusts (seq, document) VALUES (?, ?)", self.trusts)
        self.events, self.evidence, self.approvals, self.pointers, self.trusts = [], [], [], {}, []


def _signers(event: Event) -> str | None:
    """The fingerprints of the keys an event's signatures name, unchecked: writers check them before relying on them."""
    if not event.signatures:
        return None
    from bundlectl.trust.keys import BadSignature
    from bundlectl.trust.sshsig import parse_signatures

    try:
        return " ".join(s.key.fingerprint for s in parse_signatures(event.signatures.decode()))
    except (BadSignature, UnicodeDecodeError):
        return None  # damaged: `verify` says so; unsigned as far as any gate is concerned


def _index_time(text: str) -> str:
    """One fixed-width time format in the index, so string order is time order for audit --at."""
    return text if _INDEX_TIME.fullmatch(text) else event_time(parse_time(text))


def _classified(exc: sqlite3.Error) -> Exception:
    """IndexUnwritable when SQLite says the index cannot be written here; the error itself otherwise."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in _UNWRITABLE:
        return IndexUnwritable(str(exc))
    return exc
