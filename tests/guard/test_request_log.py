"""Reading request logs: only this bundle's outcome lines count, stamps are skipped, bad records are named by line."""

import json
import math

import pytest

from bundlectl.errors import InvalidInput
from bundlectl.guard import request_log
from bundlectl.guard.request_log import tally_request_logs

STAMP = {"bundle.name": "support-triage", "bundle.env": "production", "bundle.digest": "sha256:" + "1" * 64, "bundle.canary": 7}


def write(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_only_the_selected_outcomes_count_across_files_and_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(request_log, "_BATCH_BYTES", 300)  # many small batches
    first = write(tmp_path / "a.jsonl", [
        STAMP,  # a stamp line: no outcome
        {**STAMP, "bundle.arm": "live", "outcome": {"ok": True, "latency_ms": 100}},
        {**STAMP, "bundle.arm": "candidate", "outcome": {"ok": False, "latency_ms": 300, "csat": 4}},
        {**STAMP, "bundle.env": "staging", "outcome": {"ok": True}},  # another environment
        {**STAMP, "bundle.canary": 6, "outcome": {"ok": True}},  # an earlier step
    ])
    second = write(tmp_path / "b.jsonl", [{**STAMP, "outcome": {"ok": True, "latency_ms": 200}}])  # no arm: live
    tally = tally_request_logs([first, second], "support-triage", "production", canary=7)
    assert tally.samples() == {"candidate": 1, "live": 2}
    live = tally.arm("live").metric("latency_ms")
    assert (live.n, live.total, live.squares) == (2, 300.0, 50000.0)
    assert tally.arm("candidate").metric("ok").total == 0.0 and tally.arm("candidate").metric("csat").n == 1
    by_digest = tally_request_logs([first, second], "support-triage", "production", digest="sha256:" + "1" * 64)
    assert by_digest.samples() == {"candidate": 1, "live": 3} and tally.source == f"{first}, {second}"


@pytest.mark.parametrize("bad", ['{"outcome": ', json.dumps({**STAMP, "outcome": {"ok": "yes"}}),
                                 json.dumps({**STAMP, "outcome": [1]}), json.dumps({**STAMP, "outcome": {"ok": None}})])
def test_a_bad_record_is_named_by_file_and_line(tmp_path, monkeypatch, bad):
    monkeypatch.setattr(request_log, "_BATCH_BYTES", 500)
    good = json.dumps({**STAMP, "outcome": {"ok": True}})
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join([good] * 9 + [bad] + [good] * 3) + "\n")
    with pytest.raises(InvalidInput) as err:
        tally_request_logs([path], "support-triage", "production", canary=7)
    assert err.value.message.startswith(f"{path}:10: is not an outcome record bundlectl can read")


def test_nan_is_refused(tmp_path):
    path = write(tmp_path / "log.jsonl", [{**STAMP, "outcome": {"latency_ms": math.nan}}])
    with pytest.raises(InvalidInput) as err:
        tally_request_logs([path], "support-triage", "production", canary=7)
    assert "the live arm's latency_ms values include NaN or infinity" in err.value.message
