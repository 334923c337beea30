"""Outcomes from Prometheus: the counters the runtime's Prometheus exporter exposes, summed over a fleet.

Four instant queries of the HTTP API (`GET /api/v1/query`), all evaluated at the same instant (so a scrape
landing between them cannot pair one scrape's counts with the next one's sums), each bounded by a timeout:
requests per arm (and the digests each arm names), and per arm and metric the count, sum and sum of squares.
Counters are summed as they stand: a serving process that restarted lost its earlier counts, which shrinks
the sample without biasing it. Each answer must arrive whole within the timeout and stay under 64 MiB.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from bundlectl.errors import NotFound
from bundlectl.foundation.outcomes import PROM_COUNT, PROM_METRIC_LABEL, PROM_REQUESTS, PROM_SQUARES, PROM_SUM
from bundlectl.guard.moments import Arm, Moments, Tally

ARM_LABEL = "bundle_arm"
_MAX_ANSWER = 64 * 1024 * 1024  # four sums by arm and metric are a few KiB; far more is not Prometheus
DIGEST_LABEL = "bundle_digest"


class SourceUnavailable(NotFound):
    """The figures could not be read (Prometheus unreachable, slow, or answering with an error): no decision is made."""


def tally_prometheus(url: str, name: str, env: str, *, canary: int | None = None, digest: str | None = None, timeout: float = 10.0) -> Tally:
    """Per arm, the outcomes of NAME in ENV routed under canary step `canary`, or served by the bundle `digest`."""
    labels = {"bundle_name": name, "bundle_env": env}
    if canary is not None:
        labels["bundle_canary"] = str(canary)
    else:
        labels[DIGEST_LABEL] = str(digest)
    selector = ",".join(f'{key}="{_escaped(value)}"' for key, value in labels.items())
    base = url.rstrip("/")
    tally = Tally(source=base)
    at = f"{time.time():.3f}"
    for found, value in _query(base, f"sum by ({ARM_LABEL}, {DIGEST_LABEL}) ({PROM_REQUESTS}_total{{{selector}}})", at, timeout):
        arm = found.get(ARM_LABEL, "")
        tally.arms.setdefault(arm, Arm()).requests += int(value)
        tally.digests.setdefault(arm, set()).add(found.get(DIGEST_LABEL, ""))
    parts: dict[tuple[str, str], list[float]] = {}
    for slot, family in enumerate((PROM_COUNT, PROM_SUM, PROM_SQUARES)):
        query = f"sum by ({ARM_LABEL}, {PROM_METRIC_LABEL}) ({family}_total{{{selector}}})"
        for labels_found, value in _query(base, query, at, timeout):
            key = (labels_found.get(ARM_LABEL, ""), labels_found.get(PROM_METRIC_LABEL, ""))
            parts.setdefault(key, [0.0, 0.0, 0.0])[slot] = value
    for (arm, metric), (count, total, squares) in parts.items():
        tally.arms.setdefault(arm, Arm()).metrics[metric] = Moments(int(count), total, squares)
    return tally


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _query(base: str, query: str, at: str, timeout: float) -> list[tuple[dict[str, str], float]]:
    """One instant query's vector at time `at`: (labels, value) per series; values must be finite numbers."""
    address = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': query, 'time': at})}"
    try:
        with urllib.request.urlopen(address, timeout=timeout) as response:  # noqa: S310 (an http(s) URL the operator gave)
            body = _body(response, timeout)
    except urllib.error.HTTPError as exc:
        raise SourceUnavailable(
            f"Prometheus at {base} refused the query {query!r}: {_error_of(exc)}",
            "check the URL (the server, not a path under it) and that the app's metrics are scraped",
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceUnavailable(
            f"cannot query Prometheus at {base}: {reason}", "check the URL and that Prometheus is up; no decision was made"
        ) from None
    try:
        document = json.loads(body)
        if document.get("status") != "success" or document["data"]["resultType"] != "vector":
            raise ValueError(document.get("error", "not a vector"))
        rows = []
        for series in document["data"]["result"]:
            value = float(series["value"][1])
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"a counter reads {series['value'][1]}")
            rows.append(({str(k): str(v) for k, v in series["metric"].items()}, value))
        return rows
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise SourceUnavailable(
            f"Prometheus at {base} answered {query!r} with something unexpected ({exc})", "is this a Prometheus server's address?"
        ) from None


def _body(response: Any, timeout: float) -> bytes:
    """The answer, read within `timeout` in all (a server trickling a byte at a time never trips a socket timeout)."""
    deadline, chunks, size = time.monotonic() + timeout, [], 0
    while chunk := response.read1(1024 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if time.monotonic() > deadline:
            raise TimeoutError(f"the answer took more than {timeout:g} s")
        if size > _MAX_ANSWER:
            raise ValueError(f"an answer over {_MAX_ANSWER // 1024 // 1024} MiB")
    return b"".join(chunks)


def _error_of(exc: urllib.error.HTTPError) -> str:
    try:
        document: Any = json.loads(exc.read(65536))
        return str(document.get("error") or exc)
    except (ValueError, AttributeError, OSError):
        return str(exc)
