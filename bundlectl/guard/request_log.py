"""Outcomes from request logs (JSON lines, as `Runtime.record` writes them), tallied in one streaming pass.

Only lines holding an outcome are parsed (a stamp line is skipped by a byte search), and only those of the
requested bundle, environment and selection count. A record whose values are not numbers is refused with
its file and line: figures that decide a rollback must not come from a guess.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from bundlectl.errors import InvalidInput, Problem
from bundlectl.guard.moments import Arm, Moments, Tally
from bundlectl.outcomes import ARM, CANARY, LIVE, OUTCOME
from bundlectl.stamp import DIGEST, ENV, NAME

_MARK = b'"' + OUTCOME.encode() + b'"'


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
            for number, line in enumerate(handle, 1):
                if _MARK not in line:
                    continue
                try:
                    record = json.loads(line)
                    if record[NAME] != name or record[ENV] != env or record.get(field) != wanted:
                        continue
                    arm = record.get(ARM, LIVE)
                    metrics = sums.get(arm)
                    if metrics is None:
                        metrics = sums[arm] = {}
                        requests[arm] = 0
                    requests[arm] += 1
                    for metric, value in record[OUTCOME].items():
                        acc = metrics.get(metric)
                        if acc is None:
                            acc = metrics[metric] = [0, 0.0, 0.0]
                        value = float(value) if value.__class__ is not str else _not_a_number()
                        acc[0] += 1
                        acc[1] += value
                        acc[2] += value * value
                except (ValueError, KeyError, TypeError, AttributeError):
                    raise InvalidInput([Problem(f"{path}:{number}", "is not an outcome record bundlectl can read "
                                                "(JSON with bundle.name, bundle.env and numeric outcome values)")]) from None
    tally = Tally(source=", ".join(labels))
    for arm, metrics in sums.items():
        moments = {metric: Moments(int(acc[0]), acc[1], acc[2]) for metric, acc in metrics.items()}
        bad = sorted(metric for metric, m in moments.items() if not m.finite)
        if bad:
            raise InvalidInput([Problem(tally.source, f"the {arm} arm's {', '.join(bad)} values include NaN or infinity")])
        tally.arms[arm] = Arm(requests[arm], moments)
    return tally


def _not_a_number() -> float:
    raise ValueError("a metric value is text")
