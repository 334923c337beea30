"""Reading request logs: only this bundle's outcome lines count, stamps are skipped, bad records are named by line."""

import json
import math
from pathlib import Path

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
    first = write(
        tmp_path / "a.jsonl",
        [
            STAMP,  # a stamp line: no outcome
            {**STAMP, "bundle.arm": "live", "outcome": {"ok": True, "latency_ms": 100}},
            {**STAMP, "bundle.arm": "candidate", "outcome": {"ok": False, "latency_ms": 300, "csat": 4}},
            {**STAMP, "bundle.env": "staging", "outcome": {"ok": True}},  # another environment
            {**STAMP, "bundle.canary": 6, "outcome": {"ok": True}},  # an earlier step
        ],
    )
    second = write(tmp_path / "b.jsonl", [{**STAMP, "outcome": {"ok": True, "latency_ms": 200}}])  # no arm: live
    tally = tally_request_logs([first, second], "support-triage", "production", canary=7)
    assert tally.samples() == {"candidate": 1, "live": 2}
    live = tally.arm("live").metric("latency_ms")
    assert (live.n, live.total, live.squares) == (2, 300.0, 50000.0)
    assert tally.arm("candidate").metric("ok").total == 0.0 and tally.arm("candidate").metric("csat").n == 1
    by_digest = tally_request_logs([first, second], "support-triage", "production", digest="sha256:" + "1" * 64)
    assert by_digest.samples() == {"candidate": 1, "live": 3} and tally.source == f"{first}, {second}"


@pytest.mark.parametrize(
    "bad",
    [
        '{"outcome": ',
        json.dumps({**STAMP, "outcome": {"ok": "yes"}}),
        json.dumps({**STAMP, "outcome": [1]}),
        json.dumps({**STAMP, "outcome": {"ok": None}}),
    ],
)
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
    assert err.value.message.startswith(f"{path}:1: is not an outcome record")  # a latency must be a number ≥ 0
    path = write(tmp_path / "log.jsonl", [{**STAMP, "outcome": {"csat": v}} for v in (1, math.nan, math.inf)])
    with pytest.raises(InvalidInput) as err:
        tally_request_logs([path], "support-triage", "production", canary=7)
    assert err.value.message.startswith(f"{path}:2: is not an outcome record")  # named by its line, like any bad value


@pytest.mark.parametrize("value", [math.inf, 1e200, 1e155])  # Infinity; values whose square no float holds
def test_infinity_or_a_value_too_large_to_square_is_named_by_line_not_a_crash(tmp_path, value):
    """Was ValueError('-inf + inf in fsum'), exit 70, for one corrupt record in a log of good ones."""
    path = write(tmp_path / "log.jsonl", [{**STAMP, "request.id": f"r{i}", "outcome": {"latency_ms": value if i == 3 else 700.0}} for i in range(6)])
    with pytest.raises(InvalidInput) as err:
        tally_request_logs([path], "support-triage", "production", canary=7)
    assert err.value.message.startswith(f"{path}:4: is not an outcome record")


def test_values_whose_sum_no_float_holds_are_refused_not_a_crash(tmp_path):
    path = write(tmp_path / "log.jsonl", [{**STAMP, "request.id": f"r{i}", "outcome": {"csat": 1e153}} for i in range(20_000)])
    with pytest.raises(InvalidInput) as err:
        tally_request_logs([path], "support-triage", "production", canary=7)
    assert "the live arm's csat values sum beyond any number a float holds" in err.value.message


@pytest.mark.parametrize(
    "bad",
    [
        {**STAMP, "bundle.arm": ["candidate"], "outcome": {"ok": True}},  # an arm that is not a string (was a crash)
        {**STAMP, "bundle.arm": {}, "outcome": {"ok": True}},
        {**STAMP, "bundle.digest": None, "outcome": {"ok": True}},  # which bundle served it is not said
        {**STAMP, "outcome": {"latency_ms": 10**400}},  # beyond any float (was a crash)
        {**STAMP, "outcome": {"escalated": 5}},  # a rate is true or false: 5 would make its variance negative
        {**STAMP, "outcome": {"ok": -1}},
        {**STAMP, "outcome": {"latency_ms": -40}},  # a clock that stepped back
        {**STAMP, "outcome": {"cost_usd": -0.5}},
    ],
)
def test_a_record_the_runtime_cannot_have_written_is_named_by_line(tmp_path, bad):
    good = json.dumps({**STAMP, "outcome": {"ok": True, "escalated": 0, "latency_ms": 0, "cost_usd": 0.001}})
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join([good] * 4 + [json.dumps(bad)] + [good]) + "\n")
    with pytest.raises(InvalidInput) as err:
        tally_request_logs([path], "support-triage", "production", canary=7)
    assert err.value.message.startswith(f"{path}:5: is not an outcome record bundlectl can read")


def test_nesting_deeper_than_any_record_is_refused_not_a_crash(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps({**STAMP, "outcome": {"ok": True}}) + "\n" + '{"outcome": ' + "[" * 100_000 + "\n")
    with pytest.raises(InvalidInput) as err:
        tally_request_logs([path], "support-triage", "production", canary=7)
    assert err.value.message.startswith(f"{path}:2: is not an outcome record")


def test_a_request_recorded_twice_or_a_log_named_twice_counts_once(tmp_path, monkeypatch):
    monkeypatch.setattr(request_log, "_BATCH_BYTES", 300)
    records = [{**STAMP, "request.id": f"req-{i}", "bundle.arm": "candidate", "outcome": {"escalated": True}} for i in range(6)]
    log = write(tmp_path / "a.jsonl", records + records[:3])  # the same requests again, as a bad rotation leaves them
    rotated = write(tmp_path / "a.jsonl.1", records[3:])  # overlapping the live log
    (tmp_path / "link.jsonl").symlink_to(log)
    anonymous = write(tmp_path / "b.jsonl", [{**STAMP, "outcome": {"ok": True}}] * 2)  # no request id: each counts
    tally = tally_request_logs([log, rotated, log, tmp_path / "link.jsonl", anonymous], "support-triage", "production", canary=7)
    assert tally.samples() == {"candidate": 6, "live": 2}
    assert tally.arm("candidate").metric("escalated") == (6, 6.0, 6.0)
    assert tally.digests == {"candidate": {STAMP["bundle.digest"]}, "live": {STAMP["bundle.digest"]}}


def test_a_device_or_a_file_without_line_ends_is_refused_not_read_into_memory(tmp_path, monkeypatch):
    with pytest.raises(InvalidInput) as err:
        tally_request_logs([Path("/dev/zero")], "support-triage", "production", canary=7)
    assert err.value.message == "/dev/zero: is not a file (a device or a folder); give the request log itself"
    monkeypatch.setattr(request_log, "_BATCH_BYTES", 1000)
    monkeypatch.setattr(request_log, "_MAX_LINE", 4000)
    good = json.dumps({**STAMP, "outcome": {"ok": True}})
    endless = tmp_path / "endless.jsonl"
    endless.write_text(good + "\n" + good + "\n" + "0" * 50_000)  # a log that lost its line ends
    with pytest.raises(InvalidInput) as err:
        tally_request_logs([endless], "support-triage", "production", canary=7)
    assert err.value.message.startswith(f"{endless}:3: is longer than 3 KiB with no line end")
    inside = tmp_path / "inside.jsonl"
    inside.write_text(good + "\n" + "1" * 4001 + "\n" + good + "\n")  # a long line within one block
    with pytest.raises(InvalidInput) as err:
        tally_request_logs([inside], "support-triage", "production", canary=7)
    assert err.value.message.startswith(f"{inside}:2: is longer than")


def test_a_pipe_is_read_like_a_file(tmp_path):
    """`--source <(zcat requests.jsonl.gz)`: process substitution hands the guard a pipe."""
    import os
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    lines = "".join(json.dumps({**STAMP, "request.id": f"r{i}", "outcome": {"ok": i % 2 == 0}}) + "\n" for i in range(10))
    writer = threading.Thread(target=lambda: fifo.write_text(lines))
    writer.start()
    tally = tally_request_logs([fifo], "support-triage", "production", canary=7)
    writer.join()
    assert tally.arm("live").metric("ok") == (10, 5.0, 5.0)


def test_a_log_with_many_metric_names_is_tallied_in_one_pass_with_the_same_sums(tmp_path):
    """A metric named per request (`**{f"score_{id}": …}`) cost names × records; now one pass, same figures."""
    records = [{**STAMP, "request.id": f"r{i}", "outcome": {"ok": i % 2 == 0, f"score_{i % 50}": i}} for i in range(500)]
    tally = tally_request_logs([write(tmp_path / "log.jsonl", records)], "support-triage", "production", canary=7)
    live = tally.arm("live")
    assert len(live.metrics) == 51 and live.requests == 500
    assert live.metric("ok") == (500, 250.0, 250.0)
    assert live.metric("score_7") == (10, float(sum(range(7, 500, 50))), float(sum(v * v for v in range(7, 500, 50))))


def test_a_stamp_whose_request_id_reads_outcome_is_a_stamp_not_a_bad_record(tmp_path):
    """Request ids often come from clients (X-Request-ID): one that reads "outcome" must not make the log unreadable
    and so block every guard run (a rollback the guard could never make)."""
    path = write(tmp_path / "log.jsonl", [{**STAMP, "request.id": "outcome"}, {**STAMP, "request.id": "r1", "outcome": {"ok": True}}])
    assert tally_request_logs([path], "support-triage", "production", canary=7).samples() == {"live": 1}


def test_a_last_line_still_being_written_is_left_for_the_next_run(tmp_path):
    """The guard reads logs the runtime appends to: a record caught half-written must not fail the run (cron would
    read exit 1 as a rollback); it is counted once its line is whole."""
    whole = json.dumps({**STAMP, "request.id": "r1", "outcome": {"ok": True}}) + "\n"
    half = json.dumps({**STAMP, "request.id": "r2", "outcome": {"ok": False}})
    path = tmp_path / "log.jsonl"
    path.write_text(whole + half[:-5])
    assert tally_request_logs([path], "support-triage", "production", canary=7).arm("live").metric("ok") == (1, 1.0, 1.0)
    path.write_text(whole + half + "\n")
    assert tally_request_logs([path], "support-triage", "production", canary=7).arm("live").metric("ok") == (2, 1.0, 1.0)
    path.write_text(half[:-5] + "\n" + whole)  # torn in the middle: refused
    with pytest.raises(InvalidInput) as err:
        tally_request_logs([path], "support-triage", "production", canary=7)
    assert err.value.message.startswith(f"{path}:1: is not an outcome record")


def test_a_step_or_digest_written_as_another_type_selects_nothing(tmp_path):
    """The runtime writes the canary step as an integer: a hand-written 7.0 or true is not step 7 or step 1."""
    path = write(
        tmp_path / "log.jsonl",
        [
            {**STAMP, "request.id": "r1", "outcome": {"ok": True}},
            {**STAMP, "request.id": "r2", "bundle.canary": 7.0, "outcome": {"ok": True}},
            {**STAMP, "request.id": "r3", "bundle.canary": True, "outcome": {"ok": True}},
        ],
    )
    assert tally_request_logs([path], "support-triage", "production", canary=7).samples() == {"live": 1}
    assert tally_request_logs([path], "support-triage", "production", canary=1).samples() == {}
