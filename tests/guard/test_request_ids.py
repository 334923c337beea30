"""Request ids that are not unique across the logs (each process numbering its requests from 1): refused, because
counted once each they made an identical candidate look as if it lost its outcomes."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from bundlectl.errors import InvalidInput
from bundlectl.guard.decision import Recording
from bundlectl.guard.request_log import tally_request_logs

LIVE, CANDIDATE = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def _pod_log(path: Path, rng: random.Random, requests: int, ids: Callable[[int], object]) -> Path:
    """One process's log of an identical candidate at 10%: a stamp and an outcome per request."""
    lines = []
    for i in range(1, requests + 1):
        arm = "candidate" if rng.random() < 0.10 else "live"
        stamp = {
            "bundle.name": "st",
            "bundle.env": "prod",
            "bundle.digest": CANDIDATE if arm == "candidate" else LIVE,
            "bundle.canary": 7,
            "bundle.arm": arm,
            "request.id": ids(i),
        }
        lines += [json.dumps(stamp), json.dumps({**stamp, "outcome": {"ok": rng.random() < 0.99, "latency_ms": 700.0}})]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ids_counted_per_process_are_refused_not_judged_a_recording_mismatch(tmp_path: Path) -> None:
    rng = random.Random(1)
    pods = [_pod_log(tmp_path / f"pod-{pod}.jsonl", rng, 4000, str) for pod in "ab"]
    with pytest.raises(InvalidInput) as refused:
        tally_request_logs(pods, "st", "prod", canary=7)
    (problem,) = refused.value.problems
    assert "was served by both the candidate and the live arm (" in problem.message
    assert "request ids are not unique across these logs" in problem.message
    assert "a UUID, not a counter per process" in (refused.value.hint or "")


def test_unique_ids_across_processes_give_equal_recorded_shares(tmp_path: Path) -> None:
    rng = random.Random(1)
    pods = [_pod_log(tmp_path / f"pod-{pod}.jsonl", rng, 4000, lambda _, pod=pod: f"{pod}-{rng.getrandbits(64):016x}") for pod in "ab"]
    tally = tally_request_logs([*pods, pods[0]], "st", "prod", canary=7)  # a log named twice is read once
    live, candidate = tally.arm("live"), tally.arm("candidate")
    assert (live.served, candidate.served) == (live.requests, candidate.requests)
    assert live.requests + candidate.requests == 8000
    assert Recording.between((live.served or 0, live.requests), (candidate.served or 0, candidate.requests), 0.005, 1000).mismatch is False


def test_integer_request_ids_in_a_log_given_twice_are_counted_once(tmp_path: Path) -> None:
    """A database sequence as the request id, and the log named under two paths (a copy kept as a backup): each
    request counts once, as with string ids; counted twice, the guard would see twice the evidence it has."""
    rng = random.Random(2)
    log = _pod_log(tmp_path / "requests.jsonl", rng, 3000, int)
    (tmp_path / "requests.jsonl.bak").write_text(log.read_text())
    tally = tally_request_logs([log, tmp_path / "requests.jsonl.bak"], "st", "prod", canary=7)
    live, candidate = tally.arm("live"), tally.arm("candidate")
    assert live.requests + candidate.requests == 3000 and (live.served or 0) + (candidate.served or 0) == 3000
    assert (live.served, candidate.served) == (live.requests, candidate.requests)
