"""The local read index: an SQLite file derived from the event log, keyed by the log head it reflects.

Reads compare the stored head with the backend's (one small file read on git) and use the index
when they agree; otherwise they apply the missing events, or rebuild from the whole log. The log
stays the truth: deleting the index only costs one rebuild.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bundlectl.clock import event_time, parse_time
from bundlectl.errors import IntegrityFailure
from bundlectl.record import BundleRecord
from bundlectl.registry.events import Event

SCHEMA_VERSION = "4"
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, hash TEXT NOT NULL, action TEXT NOT NULL,
    name TEXT, env TEXT, time TEXT NOT NULL, actor TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bundles (
    name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL, record_digest TEXT NOT NULL,
    record TEXT NOT NULL, seq INTEGER NOT NULL, time TEXT NOT NULL, actor TEXT NOT NULL,
    PRIMARY KEY (name, version));
CREATE INDEX IF NOT EXISTS bundles_by_digest ON bundles (name, digest);
CREATE INDEX IF NOT EXISTS events_by_target ON events (name, env, seq);
CREATE INDEX IF NOT EXISTS moves_by_time ON events (name, env, time, seq) WHERE action IN ('promote', 'rollback');
CREATE TABLE IF NOT EXISTS evidence (
    seq INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL,
    evals_digest TEXT, kind TEXT NOT NULL, source TEXT NOT NULL, run_at TEXT NOT NULL,
    figures TEXT NOT NULL, report_key TEXT NOT NULL, actor TEXT NOT NULL, time TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS evidence_by_digest ON evidence (digest, kind, run_at);
CREATE TABLE IF NOT EXISTS approvals (
    seq INTEGER PRIMARY KEY, name TEXT NOT NULL, digest TEXT NOT NULL, env TEXT NOT NULL,
    actor TEXT NOT NULL, time TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pointers (
    name TEXT NOT NULL, env TEXT NOT NULL, digest TEXT NOT NULL, version TEXT NOT NULL,
    pointer_version INTEGER NOT NULL, seq INTEGER NOT NULL, time TEXT NOT NULL, actor TEXT NOT NULL,
    verified INTEGER NOT NULL, PRIMARY KEY (name, env));
"""
MOVES = ("promote", "rollback")


@dataclass(frozen=True)
class IndexHead:
    id: str | None
    seq: int
    hash: str | None


@dataclass(frozen=True)
class BundleRow:
    name: str
    version: str
    digest: str
    time: str
    actor: str
    seq: int
    record_digest: str
    record_json: str

    def record(self) -> BundleRecord:
        return BundleRecord.from_json(json.loads(self.record_json))


class Index:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_TABLES)
        if self._meta("schema") not in (None, SCHEMA_VERSION):
            self.reset()
        self._set_meta("schema", SCHEMA_VERSION)

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str | None) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def head(self) -> IndexHead:
        rows = dict(self.db.execute("SELECT key, value FROM meta WHERE key IN ('head','seq','hash')").fetchall())
        return IndexHead(rows.get("head"), int(rows.get("seq") or 0), rows.get("hash"))

    def reset(self) -> None:
        self.db.executescript(
            "DELETE FROM events; DELETE FROM bundles; DELETE FROM evidence; DELETE FROM approvals;"
            " DELETE FROM pointers; DELETE FROM meta WHERE key != 'schema';"
        )

    def apply(self, events: list[Event], new_head: str, expected: IndexHead) -> None:
        """Add events in order, checking the chain; skipped when another process already did it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            current = self.head()
            if current.id == new_head or (not events and expected.id is not None):
                self.db.execute("COMMIT")  # nothing new: never move the head without events
                return
            if current != expected:
                if expected.id is None:
                    self.reset()
                    current = IndexHead(None, 0, None)
                else:  # someone else moved the index under us; our caller re-reads
                    self.db.execute("ROLLBACK")
                    return
            seq, last = current.seq, current.hash
            for event in events:
                if event.seq != seq + 1 or event.prev != last:
                    raise IntegrityFailure(
                        f"event log is broken at record {event.id}: expected seq {seq + 1} after {last}, "
                        f"found seq {event.seq} after {event.prev}",
                        "run `bundlectl verify`; the log may have been edited",
                    )
                self._insert(event)
                seq, last = event.seq, event.hash
            self._set_meta("head", new_head)
            self._set_meta("seq", str(seq))
            self._set_meta("hash", last)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _insert(self, event: Event) -> None:
        data = event.data
        # one fixed-width time format in the index, so string order is time order for audit --at
        time = event_time(parse_time(event.time))
        self.db.execute(
            "INSERT OR REPLACE INTO events VALUES (?,?,?,?,?,?,?,?,?)",
            (event.seq, event.id, event.hash, event.action, data.get("name"), data.get("env"),
             time, event.actor, event.payload().decode()),
        )
        if "record" in data:  # register, and a component rollback registering the bundle it builds
            record = data["record"]
            self.db.execute(
                "INSERT OR REPLACE INTO bundles VALUES (?,?,?,?,?,?,?,?)",
                (record["name"], record["version"], record["digest"], data["record_digest"],
                 json.dumps(record), event.seq, time, event.actor),
            )
        if event.action == "evidence":
            self.db.execute(
                "INSERT OR REPLACE INTO evidence VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (event.seq, data["name"], data["version"], data["digest"], data.get("evals_digest"), data["kind"],
                 data["source"], data["run_at"], json.dumps(data["figures"]), data["report_key"], event.actor, time),
            )
        elif event.action == "approval":
            self.db.execute(
                "INSERT OR REPLACE INTO approvals VALUES (?,?,?,?,?,?)",
                (event.seq, data["name"], data["digest"], data["env"], event.actor, time),
            )
        elif event.action == "policy":
            self._set_meta("policy", json.dumps(data["policy"]))
            self._set_meta("policy_seq", str(event.seq))
        elif event.action in MOVES:
            self.db.execute(
                "INSERT OR REPLACE INTO pointers VALUES (?,?,?,?,?,?,?,?,?)",
                (data["name"], data["env"], data["to_digest"], data["to_version"], data["pointer_version"],
                 event.seq, time, event.actor, 1 if data.get("verified", True) else 0),
            )

    # queries ------------------------------------------------------------------------
    def last_time(self) -> str | None:
        row = self.db.execute("SELECT time FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def bundle(self, name: str, version: str) -> BundleRow | None:
        row = self.db.execute(_BUNDLE_SELECT + " WHERE name=? AND version=?", (name, version)).fetchone()
        return BundleRow(*row) if row else None

    def bundles_by_digest_prefix(self, name: str, prefix: str) -> list[BundleRow]:
        rows = self.db.execute(
            _BUNDLE_SELECT + " WHERE name=? AND digest LIKE ? ORDER BY seq", (name, prefix + "%")
        ).fetchall()
        return [BundleRow(*r) for r in rows]

    def bundles(self, name: str | None = None) -> list[BundleRow]:
        if name:
            rows = self.db.execute(_BUNDLE_SELECT + " WHERE name=? ORDER BY seq", (name,)).fetchall()
        else:
            rows = self.db.execute(_BUNDLE_SELECT + " ORDER BY name, seq").fetchall()
        return [BundleRow(*r) for r in rows]


    def bundles_with_digest(self, name: str, digest: str) -> list[BundleRow]:
        rows = self.db.execute(_BUNDLE_SELECT + " WHERE name=? AND digest=? ORDER BY seq", (name, digest)).fetchall()
        return [BundleRow(*r) for r in rows]

    def policy(self) -> tuple[dict | None, int | None]:
        text, seq = self._meta("policy"), self._meta("policy_seq")
        return (json.loads(text) if text else None), (int(seq) if seq else None)

    def evidence_for(self, digest: str, kind: str | None = None) -> list[EvidenceRow]:
        query = _EVIDENCE_SELECT + " WHERE digest=?" + (" AND kind=?" if kind else "") + " ORDER BY run_at DESC, seq DESC"
        rows = self.db.execute(query, (digest, kind) if kind else (digest,)).fetchall()
        return [EvidenceRow(*r[:-1], json.loads(r[-1])) for r in rows]

    def approvals_for(self, digest: str, env: str) -> list[ApprovalRow]:
        rows = self.db.execute(
            "SELECT seq, name, digest, env, actor, time FROM approvals WHERE digest=? AND env=? ORDER BY seq", (digest, env)
        ).fetchall()
        return [ApprovalRow(*r) for r in rows]

    def pointer(self, name: str, env: str) -> PointerRow | None:
        row = self.db.execute(_POINTER_SELECT + " WHERE name=? AND env=?", (name, env)).fetchone()
        return PointerRow(*row) if row else None

    def pointers(self, name: str | None = None) -> list[PointerRow]:
        if name:
            rows = self.db.execute(_POINTER_SELECT + " WHERE name=? ORDER BY name, env", (name,)).fetchall()
        else:
            rows = self.db.execute(_POINTER_SELECT + " ORDER BY name, env").fetchall()
        return [PointerRow(*r) for r in rows]

    def moves(self, name: str, env: str, limit: int | None = None) -> list[tuple[int, str, str, str, str | None, str]]:
        """Promotions and rollbacks of one pointer, newest first: (seq, action, time, actor, reason, payload)."""
        query = ("SELECT seq, action, time, actor, json_extract(payload, '$.reason'), payload FROM events"
                 " WHERE name=? AND env=? AND action IN ('promote', 'rollback') ORDER BY seq DESC")
        if limit:
            query += f" LIMIT {int(limit)}"
        return list(self.db.execute(query, (name, env)).fetchall())

    def move_at(self, name: str, env: str, time: str) -> tuple[int, str, str, str, str] | None:
        """The last promotion or rollback at or before `time` (a B-tree lookup, not a walk)."""
        return self.db.execute(
            "SELECT seq, action, time, actor, payload FROM events WHERE name=? AND env=? AND action IN ('promote', 'rollback')"
            " AND time <= ? ORDER BY time DESC, seq DESC LIMIT 1", (name, env, time)).fetchone()

    def move_after(self, name: str, env: str, seq: int) -> tuple[int, str, str, str, str] | None:
        return self.db.execute(
            "SELECT seq, action, time, actor, payload FROM events WHERE name=? AND env=? AND action IN ('promote', 'rollback')"
            " AND seq > ? ORDER BY seq LIMIT 1", (name, env, seq)).fetchone()

    def evidence_by_seq(self, seqs: list[int]) -> list[EvidenceRow]:
        if not seqs:
            return []
        marks = ",".join("?" * len(seqs))
        rows = self.db.execute(_EVIDENCE_SELECT + f" WHERE seq IN ({marks}) ORDER BY seq", seqs).fetchall()
        return [EvidenceRow(*r[:-1], json.loads(r[-1])) for r in rows]

    def was_live(self, name: str, env: str, digest: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM events WHERE name=? AND env=? AND action IN ('promote','rollback')"
            " AND json_extract(payload, '$.data.to_digest')=? LIMIT 1", (name, env, digest)
        ).fetchone()
        return row is not None


@dataclass(frozen=True)
class EvidenceRow:
    seq: int
    name: str
    version: str
    digest: str
    evals_digest: str | None
    kind: str
    source: str
    run_at: str
    report_key: str
    actor: str
    time: str
    figures: dict


@dataclass(frozen=True)
class ApprovalRow:
    seq: int
    name: str
    digest: str
    env: str
    actor: str
    time: str


@dataclass(frozen=True)
class PointerRow:
    name: str
    env: str
    digest: str
    version: str
    pointer_version: int
    seq: int
    time: str
    actor: str
    verified: bool


_EVIDENCE_SELECT = ("SELECT seq, name, version, digest, evals_digest, kind, source, run_at, report_key, actor, time,"
                    " figures FROM evidence")
_POINTER_SELECT = "SELECT name, env, digest, version, pointer_version, seq, time, actor, verified FROM pointers"
_BUNDLE_SELECT = "SELECT name, version, digest, time, actor, seq, record_digest, record FROM bundles"
