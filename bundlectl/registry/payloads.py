"""The shape every log record must have before anything reads it: a record that breaks it is tampering.

Anyone who can push to the registry can append a record with a consistent chain; this check makes sure
such a record cannot crash a reader, smuggle a path into a ref name, or claim numbers of the wrong type.
`parse_event` applies it to every record, so the read index, `verify` and `registry copy` see only
records that passed it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bundlectl.errors import MalformedRecord
from bundlectl.foundation.clock import parse_time
from bundlectl.foundation.names import is_digest, is_env, is_name, is_version
from bundlectl.integrity.registry_id import is_registry_id

Check = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _positive(value: Any) -> bool:
    return _count(value) and value >= 1


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def outcome_problem(record: dict[str, Any]) -> str | None:
    """What is wrong with a bundle record's owner's outcome, which a manifest could not have declared: the guard and
    drift read its numbers, and a hand-written `target: "high"` would otherwise crash every reader there."""
    metadata = record.get("metadata")
    outcome = metadata.get("outcome") if isinstance(metadata, dict) else None
    if outcome is None:
        return None
    from pydantic import ValidationError  # local: a read command that meets no bundle record never pays for pydantic

    from bundlectl.bundle.manifest.models import Outcome

    try:
        Outcome.model_validate(outcome)
    except ValidationError as exc:
        first = exc.errors()[0]
        return f"{'.'.join(str(part) for part in first['loc']) or 'outcome'}: {first['msg']} ({first.get('input')!r:.40})"
    return None


def _mapping(value: Any) -> bool:
    return isinstance(value, dict)


def _time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_time(value)
    except ValueError:
        return False
    return True


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _seqs(value: Any) -> bool:
    return isinstance(value, dict) and all(is_env(k) and _positive(v) for k, v in value.items())


def _gate(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and _flag(value.get("passed"))
        and _texts(value.get("checks"))
        and isinstance(value.get("evidence"), list)
        and all(_count(s) for s in value["evidence"])
    )


def _parents(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(p, dict) and is_version(p.get("version")) and is_digest(p.get("digest")) for p in value)


_MOVE_REQUIRED: dict[str, Check] = {
    "name": is_name,
    "env": is_env,
    "from_digest": _optional(is_digest),
    "from_version": _optional(is_version),
    "to_digest": is_digest,
    "to_version": is_version,
    "pointer_version": _positive,
}
_MOVE_OPTIONAL: dict[str, Check] = {
    "verified": _flag,
    "gate": _gate,
    "components": _texts,
    "parents": _parents,
    "record": _mapping,
    "record_digest": is_digest,
    "break_glass": _flag,
    "rehearsal": _text,
    "canary_completed": _positive,
    "guard": _mapping,
}
_PAUSE_REQUIRED: dict[str, Check] = {
    "name": is_name,
    "env": is_env,
    "digest": is_digest,
    "version": is_version,
    "pointer_version": _positive,
}


def _share(value: Any) -> bool:
    return _count(value) and value < 100


def _steps(value: Any) -> bool:
    return (
        isinstance(value, list) and bool(value) and all(_positive(v) and v <= 100 for v in value) and value == sorted(set(value)) and value[-1] == 100
    )


_CANARY_REQUIRED: dict[str, Check] = {
    "name": is_name,
    "env": is_env,
    "digest": is_digest,
    "version": is_version,
    "percent": _share,
    "live_digest": is_digest,
    "live_version": is_version,
    "pointer_version": _positive,
    "steps": _steps,
    "step_time": _count,
}
_CANARY_OPTIONAL: dict[str, Check] = {"gate": _gate, "guard": _mapping}


def _number(value: Any) -> bool:
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


_WATCH_BASE: dict[str, Check] = {"name": is_name, "env": is_env, "digest": is_digest, "version": is_version}
REQUIRED: dict[str, dict[str, Check]] = {
    "init": {"format": _positive},
    "registry": {"registry": is_registry_id},
    "policy": {"policy": _mapping, "policy_digest": is_digest},
    "trust": {"trust": _mapping, "trust_digest": is_digest},
    "webhooks": {"webhooks": _mapping, "webhooks_digest": is_digest, "since": _seqs},
    "register": {"name": is_name, "version": is_version, "digest": is_digest, "record_digest": is_digest, "record": _mapping},
    "evidence": {
        "name": is_name,
        "version": is_version,
        "digest": is_digest,
        "evals_digest": _optional(is_digest),
        "kind": _text,
        "source": _text,
        "run_at": _time,
        "figures": _mapping,
        "report_key": _text,
    },
    "approval": {"name": is_name, "version": is_version, "digest": is_digest, "env": is_env},
    "promote": _MOVE_REQUIRED,
    "rollback": _MOVE_REQUIRED,
    "pause": _PAUSE_REQUIRED,
    "resume": _PAUSE_REQUIRED,
    "canary": _CANARY_REQUIRED,
    "canary-advance": _CANARY_REQUIRED,
    "canary-rollback": _CANARY_REQUIRED,
    "drift": {**_WATCH_BASE, "baseline": _positive, "run": _positive, "alpha": _number, "decision": _text, "figures": _mapping, "action": _text},
    "review": {**_WATCH_BASE, "owner": _text, "value": _number, "in_tolerance": _flag},
}


def _copy_of(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == {"registry", "seq", "hash"}
        and _optional(is_registry_id)(value["registry"])
        and _count(value["seq"])
        and _text(value["hash"])
    )


OPTIONAL: dict[str, dict[str, Check]] = {
    "init": {"registry": is_registry_id},
    "registry": {"copy_of": _optional(_copy_of), "retired_to": _optional(_text)},
    "pause": {"authority": _mapping},
    "promote": _MOVE_OPTIONAL,
    "rollback": {**_MOVE_OPTIONAL, "authority": _mapping},
    "canary": _CANARY_OPTIONAL,
    "canary-advance": _CANARY_OPTIONAL,
    "canary-rollback": _CANARY_OPTIONAL,
}


def payload_problem(raw: dict[str, Any]) -> str | None:
    """What is wrong with a decoded record's shape, or None when every field has the type it must."""
    if not _positive(raw.get("seq")) or not _time(raw.get("time")) or not _text(raw.get("actor")):
        return "its seq, time or actor is malformed"
    if not _optional(_text)(raw.get("reason")) or not _optional(_text)(raw.get("run_url")):
        return "its reason or run_url is not text"
    if not _optional(is_registry_id)(raw.get("registry")):
        return "its registry is not a registry id"
    action, data = raw.get("action"), raw.get("data")
    if action not in REQUIRED:
        return f"its action {action!r} is not one bundlectl writes"
    if not isinstance(data, dict):
        return "its data is not a mapping"
    for key, check in REQUIRED[action].items():
        if key not in data or not check(data[key]):
            return f"{action} field {key!r} is missing or malformed ({data.get(key)!r:.60})"
    for key, check in OPTIONAL.get(action, {}).items():
        if key in data and not check(data[key]):
            return f"{action} field {key!r} is malformed ({data[key]!r:.60})"
    problem = outcome_problem(data["record"]) if isinstance(data.get("record"), dict) else None
    return f"{action} field 'record' declares an outcome no manifest could: {problem}" if problem else None


def require_well_formed(raw: dict[str, Any], where: str) -> None:
    problem = payload_problem(raw)
    if problem is not None:
        raise MalformedRecord(f"event log record {where} is malformed: {problem}", "run `bundlectl verify`; the log was written outside bundlectl")
