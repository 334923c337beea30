"""`audit`: which bundle was live at an instant, and which bundle served a given request.

Both answers come from the read index over the event log (logarithmic, never a walk of the chain);
request stamps are found in JSON-lines request logs or OpenTelemetry OTLP/JSON exports and checked
against the log.
"""

from __future__ import annotations

import json
import mmap
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bundlectl.errors import InvalidInput, NotFound, Problem
from bundlectl.foundation.clock import event_time, parse_time
from bundlectl.foundation.outcomes import ARM, CANDIDATE, LIVE
from bundlectl.foundation.stamp import DIGEST, ENV, NAME, POINTER_VERSION, REQUEST_ID, REQUIRED, VERSION
from bundlectl.registry.index import Index
from bundlectl.registry.rows import proven
from bundlectl.safeio.regular import kind_of, open_regular, read_regular


@dataclass(frozen=True)
class LiveAt:
    name: str
    env: str
    version: str
    digest: str
    live_from: str
    live_until: str | None
    promoted_by: str
    action: str
    reason: str | None
    seq: int
    pointer_version: int
    verified: bool
    evidence: list[dict[str, Any]] = field(default_factory=list)
    paused: dict[str, Any] | None = None  # the pause in force at that instant: runtimes served no request with it
    signed: bool = False  # `promoted_by` is a signer's principal, not a claim
    candidate: dict[str, Any] | None = None  # the canary running beside it at that instant: candidate and share
    watched: dict[str, Any] = field(default_factory=dict)  # its last drift run and owner's review at that instant (issue 29)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "env": self.env,
            "live_from": self.live_from,
            "live_until": self.live_until,
            "promoted_by": self.promoted_by,
            "promoted_by_signed": self.signed,
            "action": self.action,
            "reason": self.reason,
            "seq": self.seq,
            "pointer_version": self.pointer_version,
            "verified": self.verified,
            "evidence": self.evidence,
            "paused": self.paused,
            "candidate": self.candidate,
            "last_drift_run": self.watched.get("drift"),
            "last_review": self.watched.get("review"),
        }


def live_at(index: Index, name: str, env: str, moment: datetime) -> LiveAt:
    """The bundle live in `env` at `moment`: the last move at or before it; live until the next move.

    `paused` says whether the kill switch was on at that instant (the last pause or resume before it), and
    `candidate` which canary ran beside it.
    """
    at = event_time(moment)
    move = index.move_at(name, env, at)
    if move is None:
        raise NotFound(f"nothing of {name} was live in {env} at {at}", f"see `bundlectl history {name} --env {env}` for when it first went live")
    following = index.move_after(name, env, move.seq)
    # the gate also read other bundles' evidence (the regression check's baseline, a replaced bundle's rehearsal):
    # each row says whose it is and in what role, so none passes for the audited bundle's own
    evidence = [
        {
            "seq": e.seq,
            "kind": e.kind,
            "source": e.source,
            "run_at": e.run_at,
            "figures": e.figures,
            "version": e.version,
            "digest": e.digest,
            "role": "this bundle" if e.digest == move.to_digest else ("baseline" if e.kind == "eval" else "rolled back from"),
        }
        for e in index.evidence_by_seq(move.gate_evidence)
    ]
    pause, trust_since = index.pause_at(name, env, at), index.trust_since()
    canary = index.canary_at(name, env, at)
    return LiveAt(
        name,
        env,
        move.to_version,
        move.to_digest,
        move.time,
        following.time if following else None,
        move.actor,
        move.action,
        move.reason,
        move.seq,
        move.pointer_version,
        move.verified,
        evidence,
        pause._replace(signed=proven(pause.seq, trust_since)).summary() if pause and pause.paused else None,
        proven(move.seq, trust_since),
        canary._replace(signed=proven(canary.seq, trust_since)).summary() if canary else None,
        _watched(index, name, env, at, move.to_digest, trust_since),
    )


def _watched(index: Index, name: str, env: str, at: str, digest: str, trust_since: int | None) -> dict[str, Any]:
    """The newest drift run and review of the bundle live at `at`, made at or before it."""
    found = {}
    for action in ("drift", "review"):
        row = next((w for w in index.watches(name, env, action, at=at) if w.data["digest"] == digest), None)
        if row is not None:
            found[action] = row._replace(signed=proven(row.seq, trust_since)).to_json()
    return found


@dataclass(frozen=True)
class Stamp:
    request_id: str
    name: str
    version: str
    digest: str
    env: str
    pointer_version: int | None
    time: datetime
    where: str
    arm: str = LIVE  # stamps written before canaries have none: they were all served by the live bundle

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "env": self.env,
            "pointer_version": self.pointer_version,
            "arm": self.arm,
            "time": event_time(self.time),
            "found_in": self.where,
        }


def find_stamp(request_id: str, logs: list[Path]) -> Stamp:
    """Find the id's stamp; only lines containing the id's bytes are ever parsed."""
    needle = request_id.encode()
    for path in logs:
        try:
            found = path.stat()
        except OSError as exc:
            raise InvalidInput([Problem(str(path), f"cannot be read ({exc.strerror})")]) from None
        if not stat.S_ISREG(found.st_mode):  # a FIFO would be read twice (grep, then here), a device never end
            raise InvalidInput(
                [Problem(str(path), f"is {kind_of(found.st_mode)}, not a regular file")], "give the request log or trace export file itself"
            )
        size = found.st_size
        if size == 0:
            continue
        candidates = _grep(needle, path)
        if candidates is None:
            candidates = _scan(needle, path)
        for line_number, line in candidates:
            stamp = _stamp_in(line, request_id, f"{path}:{line_number}")
            if stamp is not None:
                return stamp
        if candidates:
            whole = read_regular(path, MAX_DOCUMENT_BYTES)
            if whole[:1] == b"{":  # perhaps one pretty-printed OTLP/JSON document
                stamp = _stamp_in(whole, request_id, str(path))
                if stamp is not None:
                    return stamp
    raise NotFound(
        f"request {request_id} is not in {', '.join(str(p) for p in logs)}",
        "pass the request log (JSON lines) or OTLP/JSON trace export that covers it",
    )


MAX_CANDIDATES = 1000
MAX_DOCUMENT_BYTES = 1024**3  # one pretty-printed OTLP/JSON export, read whole


def _grep(needle: bytes, path: Path) -> list[tuple[int, bytes]] | None:
    """grep -F finds fixed strings several times faster than any scan in Python; None where it is missing."""
    import shutil
    import subprocess

    grep = shutil.which("grep")
    if grep is None:
        return None
    result = subprocess.run([grep, "-a", "-F", "-n", "-m", str(MAX_CANDIDATES), "--", needle, str(path)], capture_output=True)
    if result.returncode not in (0, 1):
        return None
    found = []
    for line in result.stdout.splitlines():
        number, _, content = line.partition(b":")
        found.append((int(number), content))
    return found


def _scan(needle: bytes, path: Path) -> list[tuple[int, bytes]]:
    """The portable fallback: mmap and bytes.find, counting lines only up to each hit."""
    found: list[tuple[int, bytes]] = []
    with open_regular(path) as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        position, line_number, counted = data.find(needle), 1, 0
        while position >= 0 and len(found) < MAX_CANDIDATES:
            start = data.rfind(b"\n", 0, position) + 1
            end = data.find(b"\n", position)
            end = len(data) if end < 0 else end
            line_number += _count_newlines(data, counted, start)
            counted = start
            found.append((line_number, data[start:end]))
            position = data.find(needle, end)
    return found


def _count_newlines(data: Any, start: int, end: int, chunk: int = 16 * 1024 * 1024) -> int:
    return sum(data[i : min(i + chunk, end)].count(b"\n") for i in range(start, end, chunk))


def _stamp_in(line: bytes, request_id: str, where: str) -> Stamp | None:
    try:
        document = json.loads(line)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than any stamp is
        return None
    try:
        if isinstance(document, dict) and "resourceSpans" in document:
            return _stamp_in_otlp(document, request_id, where)
        if isinstance(document, dict) and document.get(REQUEST_ID) == request_id:
            return _stamp(document, request_id, _parse(document.get("time")), where)
    except (TypeError, AttributeError, ValueError, OverflowError, RecursionError) as exc:  # a shape no stamp has
        why = str(exc) if len(str(exc)) <= 200 else str(exc)[:200] + "…"
        raise InvalidInput(
            [Problem(where, f"mentions request {request_id} but is not a stamp bundlectl can read ({why})")],
            "a stamp is a JSON line as Runtime.stamp writes it, or an OTLP/JSON span with bundle.* attributes",
        ) from None
    return None


def _stamp_in_otlp(document: dict[str, Any], request_id: str, where: str) -> Stamp | None:
    for resource in document.get("resourceSpans", []):
        for scope in resource.get("scopeSpans", []):
            for span in scope.get("spans", []):
                attributes = {a.get("key"): _any_value(a.get("value", {})) for a in span.get("attributes", [])}
                if attributes.get(REQUEST_ID) == request_id:
                    nanos = int(span.get("startTimeUnixNano", 0))
                    moment = datetime.fromtimestamp(nanos / 1e9, UTC)
                    return _stamp(attributes, request_id, moment, where)
    return None


def _any_value(value: dict[str, Any]) -> Any:
    for key in ("stringValue", "intValue", "boolValue", "doubleValue"):
        if key in value:
            return int(value[key]) if key == "intValue" else value[key]
    return None


def _parse(value: Any) -> datetime:

    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("its time is missing or is not an RFC 3339 time")
    return parse_time(value)


def _stamp(fields: dict[str, Any], request_id: str, moment: datetime, where: str) -> Stamp:
    missing = [k for k in REQUIRED if not fields.get(k)]
    if missing:
        raise InvalidInput([Problem(where, f"the stamp of request {request_id} lacks {', '.join(missing)}")])
    version = fields.get(POINTER_VERSION)
    arm = fields.get(ARM) or LIVE
    if arm not in (LIVE, CANDIDATE):
        raise InvalidInput([Problem(where, f"the stamp of request {request_id} names the arm {arm!r}, not live or candidate")])
    return Stamp(
        request_id, fields[NAME], fields[VERSION], fields[DIGEST], fields[ENV], int(version) if version is not None else None, moment, where, arm
    )


@dataclass(frozen=True)
class RequestAudit:
    stamp: Stamp
    live: LiveAt | None
    consistent: bool
    problem: str | None
    components: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "stamp": self.stamp.to_json(),
            "consistent": self.consistent,
            "problem": self.problem,
            "name": self.stamp.name,
            "version": self.stamp.version,
            "digest": self.stamp.digest,
            "env": self.stamp.env,
            "arm": self.stamp.arm,
            "components": self.components,
            "live": self.live.to_json() if self.live else None,
        }


def audit_request(index: Index, stamp: Stamp) -> RequestAudit:
    """The stamp's bundle, its components, and whether the log agrees it was live there and then."""
    rows = index.bundles_with_digest(stamp.name, stamp.digest)
    components = {k: c.digest for k, c in rows[-1].record().components.items()} if rows else {}
    try:
        live = live_at(index, stamp.name, stamp.env, stamp.time)
    except NotFound:
        return RequestAudit(
            stamp, None, False, f"the log says nothing of {stamp.name} was live in {stamp.env} at {event_time(stamp.time)}", components
        )
    problems = []
    if not rows:
        problems.append(f"digest {stamp.digest[:19]}… is not a registered bundle")
    if stamp.arm == CANDIDATE:
        candidate = live.candidate
        if candidate is None or candidate["digest"] != stamp.digest:
            problems.append(
                f"the stamp says the canary's candidate {stamp.version} served it, but the log says "
                + (
                    f"the candidate in {stamp.env} at {event_time(stamp.time)} was {candidate['version']}"
                    if candidate
                    else f"no canary ran in {stamp.env} at {event_time(stamp.time)}"
                )
            )
    elif live.digest != stamp.digest:
        problems.append(
            f"the log says {live.version} ({live.digest[:19]}…) was live in {stamp.env} at "
            f"{event_time(stamp.time)}, not the stamped {stamp.version} ({stamp.digest[:19]}…)"
        )
    elif stamp.pointer_version is not None and stamp.pointer_version != live.pointer_version:
        problems.append(f"the stamp says pointer version {stamp.pointer_version}, the log says {live.pointer_version}")
    return RequestAudit(stamp, live, not problems, "; ".join(problems) or None, components)
