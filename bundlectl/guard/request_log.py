"""Outcomes from request logs (JSON lines, as `Runtime.record` writes them), tallied in one streaming pass.

The file is read in batches of lines; a stamp line (no outcome) is dropped by a byte search, and each batch
of outcome lines is parsed by one `json.loads` call and summed column by column with C-level builtins:
the tally of a million records costs little more than parsing them. Only records of the requested bundle,
environment and selection count. A record that is not JSON, or whose values are not numbers, is refused
with its file and line: figures that decide a rollback must not come from a guess.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from functools import partial
from operator import mul
from pathlib import Path
from typing import Any, NamedTuple

from bundlectl.errors import InvalidInput, Problem
from bundlectl.guard.moments import Arm, Moments, Tally
from bundlectl.outcomes import ARM, CANARY, LIVE, OUTCOME
from bundlectl.stamp import DIGEST, ENV, NAME

_MARK = b'"' + OUTCOME.encode() + b'"'
_BATCH_BYTES = 4 * 1024 * 1024
_NUMBERS = frozenset({int, float, bool})


def tally_request_logs(paths: Iterable[Path], name: str, env: str, *, canary: int | None = None,
                       digest: str | None = None) -> Tally:
    """Per arm, the outcomes of NAME in ENV: those routed under the canary step `canary` (its log seq), or those
    served by the bundle `digest` whatever the arm."""
    field, wanted = (CANARY, canary) if canary is not None else (DIGEST, digest)
    sums: dict[str, dict[str, list[float]]] = {}
    requests: dict[str, int] = {}
    labels = []
    for path in paths:
        labels.append(str(path))
        try:
            handle = open(path, "rb")
        except OSError as exc:
            raise InvalidInput([Problem(str(path), f"cannot be read ({exc.strerror})")]) from None
        with handle:
            first = 1
            for batch in iter(partial(handle.readlines, _BATCH_BYTES), []):
                records = _parse(batch, path, first)
                first += len(batch)
                mine = [r for r in records if r.get(field) == wanted and r.get(NAME) == name and r.get(ENV) == env]
                if mine:
                    _add(mine, sums, requests, _Where(path, first - len(batch), batch, (field, wanted, name, env)))
    tally = Tally(source=", ".join(labels))
    for arm, metrics in sums.items():
        moments = {metric: Moments(int(acc[0]), acc[1], acc[2]) for metric, acc in metrics.items()}
        bad = sorted(metric for metric, m in moments.items() if not m.finite)
        if bad:
            raise InvalidInput([Problem(tally.source, f"the {arm} arm's {', '.join(bad)} values include NaN or infinity")])
        tally.arms[arm] = Arm(requests[arm], moments)
    return tally


def _parse(batch: list[bytes], path: Path, first: int) -> list[dict[str, Any]]:
    """The batch's outcome records, parsed in one call; a line that spoils it is found and named."""
    lines = [line for line in batch if _MARK in line]
    if not lines:
        return []
    try:
        records: list[Any] = json.loads(b"[" + b",".join(lines) + b"]")
        if all(r.__class__ is dict for r in records):
            return records
    except ValueError:
        pass
    for number, line in enumerate(batch, first):  # slow path, only to say where
        if _MARK in line and _record(line) is None:
            raise _unreadable(path, number)
    raise _unreadable(path, first)  # a line the batch join broke but that parses alone (cannot happen for JSON lines)


def _record(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


class _Where(NamedTuple):
    """A batch, to name the line of a bad record in it (`chosen`: the field, value, name and env selected)."""

    path: Path
    first: int
    batch: list[bytes]
    chosen: tuple[str, Any, str, str]

    def problem(self, wrong: Any) -> InvalidInput:
        field, wanted, name, env = self.chosen
        for number, line in enumerate(self.batch, self.first):
            record = _record(line) if _MARK in line else None
            if record is not None and (record.get(field), record.get(NAME), record.get(ENV)) == (wanted, name, env) and wrong(record):
                return _unreadable(self.path, number)
        return _unreadable(self.path, self.first)


def _add(records: list[dict[str, Any]], sums: dict[str, dict[str, list[float]]], requests: dict[str, int], where: _Where) -> None:
    """Add one batch's records to the running sums, arm by arm and metric by metric."""
    arms: dict[str, list[Any]] = {}
    for record in records:
        arms.setdefault(record.get(ARM, LIVE), []).append(record.get(OUTCOME))
    for arm, outcomes in arms.items():
        if not all(o.__class__ is dict for o in outcomes) or arm.__class__ is not str:
            raise where.problem(lambda r, a=arm: r.get(ARM, LIVE) == a and not isinstance(r.get(OUTCOME), dict))
        names: set[str] = set()
        for outcome in outcomes:
            names.update(outcome)
        metrics = sums.setdefault(arm, {})
        requests[arm] = requests.get(arm, 0) + len(outcomes)
        for metric in names:
            values = [o[metric] for o in outcomes if metric in o]
            if not set(map(type, values)) <= _NUMBERS:
                raise where.problem(lambda r, m=metric: type((r.get(OUTCOME) or {}).get(m, 0)) not in _NUMBERS)
            floats = list(map(float, values))
            acc = metrics.setdefault(metric, [0, 0.0, 0.0])
            acc[0] += len(floats)
            acc[1] += math.fsum(floats)
            acc[2] += math.fsum(map(mul, floats, floats))


def _unreadable(path: Path, number: int) -> InvalidInput:
    return InvalidInput([Problem(f"{path}:{number}", "is not an outcome record bundlectl can read "
                                                     "(JSON with bundle.name, bundle.env and numeric outcome values)")])
