"""Outcomes from request logs (JSON lines, as `Runtime.record` writes them), tallied in one streaming pass.

The file is read in batches of lines; a stamp line (no outcome) is dropped by a byte search, and each batch
of outcome lines is parsed by one `json.loads` call and summed column by column with C-level builtins:
the tally of a million records costs little more than parsing them. Only records of the requested bundle,
environment and selection count, each request id once, each file once. A record that is not JSON, or whose
values are not numbers (a rate that is not true/false, a negative latency or cost), is refused with its file
and line: figures that decide a rollback must not come from a guess. Lines are read in bounded blocks, so a
file with no line ends (`/dev/zero`, a corrupt log) is refused, not read into memory. A last line without
its line end is still being written: it is left for the next run. During a canary the step's stamps are counted
too (each arm's served requests, to compare with those that have an outcome), and each arm's latencies are kept
in the order read, for the tail test. Sums are exact (`ExactSum`): a constant metric sums to a constant. A log in
which the runtime noted dropped lines (a full disk) is incomplete and refused.
"""

from __future__ import annotations

import json
import math
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from operator import itemgetter, mul
from pathlib import Path
from typing import IO, Any, NamedTuple

from bundlectl.errors import InvalidInput, Problem
from bundlectl.foundation.outcomes import ARM, CANARY, LATENCY_MS, LIVE, OUTCOME, value_allowed
from bundlectl.foundation.stamp import DIGEST, ENV, LOG_DROPPED, NAME, REQUEST_ID
from bundlectl.guard.exact import ExactSum
from bundlectl.guard.moments import Arm, Moments, Tally

_MARK = b'"' + OUTCOME.encode() + b'"'
_STEP_MARK = b'"' + CANARY.encode() + b'"'  # a stamp of a canary step holds it (a record too)
_DROPPED = b'"' + LOG_DROPPED.encode() + b'"'
_BATCH_BYTES = 4 * 1024 * 1024
_MAX_LINE = 1024 * 1024  # a record is a few hundred bytes; a longer line is not one
_NUMBERS = frozenset({int, float, bool})
_FEW_METRICS = 32
_TEXT = {str}
_IDS = {str, int}  # a request id is a string or an integer (a database sequence); True is not request 1


def tally_request_logs(paths: Iterable[Path], name: str, env: str, *, canary: int | None = None, digest: str | None = None) -> Tally:
    """Per arm, the outcomes of NAME in ENV: those routed under the canary step `canary` (its log seq), or those
    served by the bundle `digest` (grouped by the arm that served them: the outcome mode reads only "live", what it
    served as the live bundle). The selecting value must match in type too: `7.0` or `true` is not step 7 or 1."""
    field, wanted = (CANARY, canary) if canary is not None else (DIGEST, digest)
    kind = wanted.__class__
    sums: dict[str, dict[str, list[Any]]] = {}
    requests: dict[str, int] = {}
    digests: dict[str, set[str]] = {}
    seen: set[Any] = set()  # request ids counted: a request recorded twice, or logs that overlap, count it once
    stamped: dict[str, set[Any]] = {}  # canary: per arm, the requests served (stamped), each once
    latencies: dict[str, list[float]] | None = {} if canary is not None else None
    marks = (_MARK, _STEP_MARK) if canary is not None else (_MARK,)
    labels = []
    for path, handle in _opened(paths):
        labels.append(str(path))
        with handle:
            first = 1
            for batch in _batches(handle, path):
                _refuse_incomplete(batch, path, first, name, env)
                records = _parse(batch, path, first, marks)
                first += len(batch)
                selected = [r for r in records if r.get(field) == wanted and r.get(NAME) == name and r.get(ENV) == env]
                # a line without the key is a stamp (or one whose text merely holds the word: a request id "outcome")
                mine = [r for r in selected if OUTCOME in r]
                if canary is not None and len(mine) < len(selected):
                    _count_stamps([r for r in selected if OUTCOME not in r and r[field].__class__ is kind], stamped)
                if mine and set(map(type, map(itemgetter(field), mine))) != {kind}:  # C-level; 7.0 == 7 and True == 1
                    mine = [r for r in mine if r[field].__class__ is kind]
                if mine:
                    where = _Where(path, first - len(batch), batch, (field, wanted, name, env))
                    _add(_first_of_each_request(mine, seen), sums, requests, digests, where, latencies)
    tally = Tally(source=", ".join(labels), digests=digests, latencies=latencies)
    for arm, metrics in sums.items():
        moments = {metric: Moments(int(acc[0]), acc[1].value, acc[2].value) for metric, acc in metrics.items()}
        bad = sorted(metric for metric, m in moments.items() if not m.finite)
        if bad:
            raise InvalidInput([Problem(tally.source, f"the {arm} arm's {', '.join(bad)} values include NaN or infinity")])
        tally.arms[arm] = Arm(requests[arm], moments)
    _refuse_shared_ids(stamped, tally.source)
    if canary is not None and stamped:  # a log without stamps says nothing of what was served
        for arm in set(tally.arms) | set(stamped):
            tally.arms.setdefault(arm, Arm()).served = len(stamped.get(arm, ()))
    return tally


def _refuse_shared_ids(stamped: dict[str, set[Any]], source: str) -> None:
    """Routing is sticky, so a request id served by two arms is two requests: ids are not unique across the logs (a
    per-process counter). Counted once each, such requests would lose their outcome in one arm and keep their stamp
    in both, and the served-share test would see a recording mismatch an identical candidate does not have."""
    arms = sorted(stamped)
    for i, first in enumerate(arms):
        for second in arms[i + 1 :]:
            shared = stamped[first] & stamped[second]
            if shared:
                raise InvalidInput(
                    [
                        Problem(
                            source,
                            f"request id {min(shared, key=repr)!r} was served by both the {first} and the "
                            f"{second} arm ({len(shared)} such ids): request ids are not unique "
                            "across these logs",
                        )
                    ],
                    "give each request an id unique across every process (a UUID, not a counter per process), or judge each process's log on its own",
                )


def _count_stamps(stamps: list[dict[str, Any]], stamped: dict[str, set[Any]]) -> None:
    """Add a batch's stamps to each arm's served requests: by request id, each once (a stamp without one counts alone)."""
    for record in stamps:
        arm = record.get(ARM, LIVE)
        if arm.__class__ is str:
            request = record.get(REQUEST_ID)
            stamped.setdefault(arm, set()).add(request if request.__class__ in _IDS else object())


def _opened(paths: Iterable[Path]) -> Iterator[tuple[Path, IO[bytes]]]:
    """Each file once (the same file named twice, or through a link, is read once); a device or folder is refused."""
    files: set[tuple[int, int]] = set()
    for path in paths:
        try:
            info = os.stat(path)
            if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):  # a pipe: `--source <(zcat log.gz)`
                raise InvalidInput([Problem(str(path), "is not a file (a device or a folder); give the request log itself")])
            if (info.st_dev, info.st_ino) in files:
                continue
            files.add((info.st_dev, info.st_ino))
            handle = open(path, "rb")
        except OSError as exc:
            raise InvalidInput([Problem(str(path), f"cannot be read ({exc.strerror})")]) from None
        yield path, handle


def _batches(handle: IO[bytes], path: Path) -> Iterator[list[bytes]]:
    """The file's lines, a block at a time; memory stays bounded whatever the file holds."""
    rest, number = b"", 1
    while block := handle.read(_BATCH_BYTES):
        end = block.rfind(b"\n")
        if end < 0:
            rest += block
            if len(rest) > _MAX_LINE:
                raise _too_long(path, number)
            continue
        lines = (rest + block[:end]).split(b"\n")
        rest = block[end + 1 :]
        if max(map(len, lines)) > _MAX_LINE:
            raise _too_long(path, number + next(i for i, line in enumerate(lines) if len(line) > _MAX_LINE))
        number += len(lines)
        yield lines
    if len(rest) > _MAX_LINE:
        raise _too_long(path, number)
    # `rest` is a last line without its line end: a record the runtime is writing right now (every record it
    # writes ends with one), left for the next run rather than refused as torn


def _too_long(path: Path, number: int) -> InvalidInput:
    return InvalidInput(
        [
            Problem(
                f"{path}:{number}",
                f"is longer than {_MAX_LINE // 1024} KiB with no line end, so it is not an outcome record; is this the request log?",
            )
        ]
    )


def _refuse_incomplete(batch: list[bytes], path: Path, first: int, name: str, env: str) -> None:
    """A runtime that could not write some lines (a full disk) says so in the log: such a log is incomplete, so it is
    not evidence (what was lost may be exactly the failures)."""
    if not any(_DROPPED in line for line in batch):
        return
    for number, line in enumerate(batch, first):
        note = _record(line) if _DROPPED in line else None
        if note is not None and (note.get(NAME), note.get(ENV)) == (name, env) and LOG_DROPPED in note:
            raise InvalidInput(
                [
                    Problem(
                        f"{path}:{number}",
                        f"the runtime could not write {note[LOG_DROPPED]} line(s) of {name} in {env} here (a full disk): the log is incomplete",
                    )
                ],
                "the guard does not judge from an incomplete log; free the disk and start a new request "
                "log, then judge from the records written since",
            )


def _first_of_each_request(records: list[dict[str, Any]], seen: set[Any]) -> list[dict[str, Any]]:
    """The records whose request id has not been counted yet (a record without one always counts)."""
    ids: list[Any] = [record.get(REQUEST_ID) for record in records]
    if set(map(type, ids)) <= _IDS:  # the usual batch: every id a string (or integer), none seen before; C-level checks
        batch = set(ids)
        if len(batch) == len(ids) and seen.isdisjoint(batch):
            seen.update(batch)
            return records
    fresh = []
    for record in records:
        request = record.get(REQUEST_ID)
        if request.__class__ in _IDS:
            if request in seen:
                continue
            seen.add(request)
        fresh.append(record)
    return fresh


def _parse(batch: list[bytes], path: Path, first: int, marks: tuple[bytes, ...] = (_MARK,)) -> list[dict[str, Any]]:
    """The batch's outcome records (and canary stamps, with `_STEP_MARK`), parsed in one call; a line that spoils it
    is found and named."""
    lines = [line for line in batch if any(mark in line for mark in marks)]
    if not lines:
        return []
    try:
        records: list[Any] = json.loads(b"[" + b",".join(lines) + b"]")
        if all(r.__class__ is dict for r in records):
            return records
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than any record has
        pass
    for number, line in enumerate(batch, first):  # slow path, only to say where
        if any(mark in line for mark in marks) and _record(line) is None:
            raise _unreadable(path, number)
    raise _unreadable(path, first)  # a line the batch join broke but that parses alone (cannot happen for JSON lines)


def _record(line: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
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
            chosen = record is not None and OUTCOME in record and (record.get(field), record.get(NAME), record.get(ENV)) == (wanted, name, env)
            if chosen and wrong(record):
                return _unreadable(self.path, number)
        return _unreadable(self.path, self.first)


def _add(
    records: list[dict[str, Any]],
    sums: dict[str, dict[str, list[Any]]],
    requests: dict[str, int],
    digests: dict[str, set[str]],
    where: _Where,
    latencies: dict[str, list[float]] | None = None,
) -> None:
    """Add one batch's records to the running sums, arm by arm and metric by metric (and the digests each arm names,
    and with `latencies`, each arm's latency values in the order read)."""
    arm_of = [record.get(ARM, LIVE) for record in records]
    digest_of: list[Any] = [record.get(DIGEST) for record in records]
    if not set(map(type, arm_of)) <= _TEXT or not set(map(type, digest_of)) <= _TEXT:
        raise where.problem(lambda r: r.get(ARM, LIVE).__class__ is not str or r.get(DIGEST).__class__ is not str)
    for arm, digest in set(zip(arm_of, digest_of, strict=True)):
        digests.setdefault(arm, set()).add(digest)
    arms: dict[str, list[Any]] = {}
    if len(set(arm_of)) <= 2:  # live and candidate: a C-level pass each
        for arm in set(arm_of):
            arms[arm] = [record.get(OUTCOME) for name, record in zip(arm_of, records, strict=True) if name == arm]
    else:  # arms nobody routes to (refused later): one pass, not one per arm
        for arm, record in zip(arm_of, records, strict=True):
            arms.setdefault(arm, []).append(record.get(OUTCOME))
    for arm, outcomes in arms.items():
        if not all(o.__class__ is dict for o in outcomes):
            raise where.problem(lambda r, a=arm: r.get(ARM, LIVE) == a and not isinstance(r.get(OUTCOME), dict))
        names: set[str] = set()
        for outcome in outcomes:
            names.update(outcome)
        metrics = sums.setdefault(arm, {})
        requests[arm] = requests.get(arm, 0) + len(outcomes)
        for metric, values in _columns(outcomes, names):
            if not set(map(type, values)) <= _NUMBERS or not value_allowed(metric, values):
                raise where.problem(
                    lambda r, m=metric: m in (r.get(OUTCOME) or {}) and (type(r[OUTCOME][m]) not in _NUMBERS or not value_allowed(m, [r[OUTCOME][m]]))
                )
            try:
                floats = list(map(float, values))
            except OverflowError:  # an integer beyond any float
                raise where.problem(lambda r, m=metric: abs((r.get(OUTCOME) or {}).get(m, 0)) > sys.float_info.max) from None
            squares = list(map(mul, floats, floats))
            if not all(map(math.isfinite, squares)):  # NaN, ±Infinity, or a value whose square no float holds (1e200)
                raise where.problem(lambda r, m=metric: m in (r.get(OUTCOME) or {}) and not math.isfinite(_square(r[OUTCOME][m])))
            acc = metrics.setdefault(metric, [0, ExactSum(), ExactSum()])
            acc[0] += len(floats)
            try:
                acc[1].extend(floats)
                acc[2].extend(squares)
            except OverflowError:  # values each a float, summing beyond any: no latency or cost is that large
                raise InvalidInput(
                    [
                        Problem(
                            str(where.path), f"the {arm} arm's {metric} values sum beyond any number a float holds; they are not outcomes of requests"
                        )
                    ]
                ) from None
            if latencies is not None and metric == LATENCY_MS:
                latencies.setdefault(arm, []).extend(floats)


def _square(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return math.inf
    return number * number


def _columns(outcomes: list[dict[str, Any]], names: set[str]) -> Iterator[tuple[str, list[Any]]]:
    """Each metric's values: a C-level pass per metric for the usual handful; one pass in all when a log holds many
    names (a metric named per request would otherwise cost names × records)."""
    if len(names) <= _FEW_METRICS:
        for metric in names:
            yield metric, [o[metric] for o in outcomes if metric in o]
        return
    columns: dict[str, list[Any]] = {}
    for outcome in outcomes:
        for metric, value in outcome.items():
            columns.setdefault(metric, []).append(value)
    yield from columns.items()


def _unreadable(path: Path, number: int) -> InvalidInput:
    return InvalidInput(
        [Problem(f"{path}:{number}", "is not an outcome record bundlectl can read (JSON with bundle.name, bundle.env and numeric outcome values)")]
    )
