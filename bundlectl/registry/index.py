"""The local read index: an SQLite file derived from the event log, keyed by the log head it reflects.

Reads compare the stored head with the backend's (one small file read on git) and use the index
when they agree; otherwise they apply the missing events, or rebuild from the whole log. The log
stays the truth: deleting the index only costs one rebuild.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bundlectl.clock import event_time, parse_time
from bundlectl.errors import IntegrityFailure
from bundlectl.registry.events import MOVE_ACTIONS, Event, EvidenceData
from bundlectl.registry.rows import (
    ApprovalRow,
    BundleRow,
    EvidenceRow,
    IndexHead,
    MoveRow,
    PointerRow,
    Row,
    build,
    column_names,
    select,
)

SCHEMA_VERSION = "6"
_MOVES = "action IN (" + ", ".join(f"'{a}'" for a in MOVE_ACTIONS) + ")"
_TABLES = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, id TEXT NOT NULL, hash TEXT NOT NULL, action TEXT NOT NULL,
    name TEXT, env TEXT, time TEXT NOT NULL, actor TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bundles (
    name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL, record_digest TEXT NOT NULL,
    record_json TEXT NOT NULL, seq INTEGER NOT NULL, time TEXT NOT NULL, actor TEXT NOT NULL,
    PRIMARY KEY (name, version));
CREATE INDEX IF NOT EXISTS bundles_by_digest ON bundles (name, digest);
CREATE INDEX IF NOT EXISTS events_by_target ON events (name, env, seq);
CREATE INDEX IF NOT EXISTS moves_by_time ON events (name, env, time, seq) WHERE {_MOVES};
CREATE TABLE IF NOT EXISTS evidence (
    seq INTEGER PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, digest TEXT NOT NULL,
    evals_digest TEXT, kind TEXT NOT NULL, source TEXT NOT NULL, run_at TEXT NOT NULL,
    figures_json TEXT NOT NULL, report_key TEXT NOT NULL, actor TEXT NOT NULL, time TEXT NOT NULL,
    binding_json TEXT);
CREATE INDEX IF NOT EXISTS evidence_by_digest ON evidence (digest, kind, run_at);
CREATE TABLE IF NOT EXISTS approvals (
    seq INTEGER PRIMARY KEY, name TEXT NOT NULL, digest TEXT NOT NULL, env TEXT NOT NULL,
    actor TEXT NOT NULL, time TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pointers (
    name TEXT NOT NULL, env TEXT NOT NULL, digest TEXT NOT NULL, version TEXT NOT NULL,
    pointer_version INTEGER NOT NULL, seq INTEGER NOT NULL, time TEXT NOT NULL, actor TEXT NOT NULL,
    verified INTEGER NOT NULL, PRIMARY KEY (name, env));
"""
_DERIVED = ("events", "bundles", "evidence", "approvals", "pointers")
_BUNDLES = select(BundleRow, "bundles")
_EVIDENCE = select(EvidenceRow, "evidence")
_APPROVALS = select(ApprovalRow, "approvals")
_POINTERS = select(PointerRow, "pointers")
_MOVE_ROWS = f"SELECT seq, action, time, actor, payload FROM events WHERE name=? AND env=? AND {_MOVES}"


class Index:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_TABLES)
        if self._meta("schema") not in (None, SCHEMA_VERSION):
            # a new schema may add columns: recreate every table, then the rows come back from the log
            self.db.executescript(" ".join(f"DROP TABLE IF EXISTS {t};" for t in _DERIVED) + _TABLES)
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
            "INSERT OR REPLACE INTO events (seq, id, hash, action, name, env, time, actor, payload)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (event.seq, event.id, event.hash, event.action, data.get("name"), data.get("env"),
             time, event.actor, event.payload().decode()),
        )
        record = event.registered_record()
        if record is not None:
            self._put("bundles", BundleRow(record["name"], record["version"], record["digest"], time, event.actor,
                                           event.seq, data["record_digest"], json.dumps(record)))
        if event.action == "evidence":
            evidence = event.evidence()
            self._put("evidence", EvidenceRow(
                event.seq, evidence["name"], evidence["version"], evidence["digest"], evidence.get("evals_digest"),
                evidence["kind"], evidence["source"], evidence["run_at"], evidence["report_key"], event.actor, time,
                json.dumps(evidence["figures"]), _binding_json(evidence)))
        elif event.action == "approval":
            approval = event.approval()
            self._put("approvals", ApprovalRow(event.seq, approval["name"], approval["digest"], approval["env"],
                                               event.actor, time))
        elif event.action == "policy":
            self._set_meta("policy", json.dumps(event.policy()["policy"]))
            self._set_meta("policy_seq", str(event.seq))
        elif event.is_move:
            move = MoveRow(event.seq, event.action, time, event.actor, event.reason, event.move())
            self._put("pointers", PointerRow(move.name, move.env, move.to_digest, move.to_version,
                                             move.pointer_version, event.seq, time, event.actor, move.verified))

    def _put(self, table: str, row: Any) -> None:
        names = column_names(type(row))
        self.db.execute(f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) VALUES ({','.join('?' * len(names))})",
                        [getattr(row, n) for n in names])

    def _all(self, cls: type[Row], query: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = self.db.execute(query, params)
        return [build(cls, cursor, r) for r in cursor.fetchall()]

    def _one(self, cls: type[Row], query: str, params: Sequence[Any] = ()) -> Row | None:
        cursor = self.db.execute(query, params)
        row = cursor.fetchone()
        return build(cls, cursor, row) if row else None

    def _moves(self, query: str, params: Sequence[Any]) -> list[MoveRow]:
        cursor = self.db.execute(query, params)
        names = [d[0] for d in cursor.description]
        return [MoveRow.from_event(**dict(zip(names, r, strict=True))) for r in cursor.fetchall()]

    # queries ------------------------------------------------------------------------
    def last_time(self) -> str | None:
        row = self.db.execute("SELECT time FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        return str(row[0]) if row else None

    def bundle(self, name: str, version: str) -> BundleRow | None:
        return self._one(BundleRow, _BUNDLES + " WHERE name=? AND version=?", (name, version))

    def bundles_by_digest_prefix(self, name: str, prefix: str) -> list[BundleRow]:
        return self._all(BundleRow, _BUNDLES + " WHERE name=? AND digest LIKE ? ORDER BY seq", (name, prefix + "%"))

    def bundles(self, name: str | None = None) -> list[BundleRow]:
        if name:
            return self._all(BundleRow, _BUNDLES + " WHERE name=? ORDER BY seq", (name,))
        return self._all(BundleRow, _BUNDLES + " ORDER BY name, seq")

    def bundles_with_digest(self, name: str, digest: str) -> list[BundleRow]:
        return self._all(BundleRow, _BUNDLES + " WHERE name=? AND digest=? ORDER BY seq", (name, digest))

    def policy(self) -> tuple[dict[str, Any] | None, int | None]:
        """The stored policy document in force (every default filled in) and the seq that set it."""
        text, seq = self._meta("policy"), self._meta("policy_seq")
        return (json.loads(text) if text else None), (int(seq) if seq else None)

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
        return self._all(EvidenceRow, _EVIDENCE + " WHERE report_key=? OR json_extract(binding_json, '$.provenance.run_id')=?"
                         " ORDER BY seq", (report_key, run_id))

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

    def was_live(self, name: str, env: str, digest: str) -> bool:
        row = self.db.execute(
            f"SELECT 1 FROM events WHERE name=? AND env=? AND {_MOVES}"
            " AND json_extract(payload, '$.data.to_digest')=? LIMIT 1", (name, env, digest)
        ).fetchone()
        return row is not None


def _binding_json(evidence: EvidenceData) -> str | None:
    if "provenance" not in evidence and "cases" not in evidence:
        return None
    return json.dumps({key: evidence[key] for key in ("provenance", "cases") if key in evidence})
