"""Arguments and files an attacker (or an accident) hands the CLI: a ref longer than any file name, a step count past
any integer, request logs of strange shapes, devices and pipes given as reports. Each is refused in a line or two,
with its exit code, never with 70 (a bug) and never by waiting forever."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from tests.cli.test_audit import moves  # noqa: F401 (the fixture)
from tests.conftest import V1, Workspace

pytestmark = pytest.mark.parametrize("registry", ["git"], indirect=True)


def run_within(ws: Workspace, seconds: float, *args: str):
    """Run the CLI in a thread; fails, without hanging the test run, unless it returned within `seconds`."""
    results = []
    thread = threading.Thread(target=lambda: results.append(ws.run(*args)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"bundlectl {' '.join(args)} hung"
    return results[0]


def test_refs_past_any_file_name_or_integer(moves: Workspace):  # noqa: F811
    long = moves.run("show", "support-triage@" + "a" * 5000)
    assert long.exit_code == 4 and "is not registered" in long.stderr
    far = moves.run("show", "support-triage@staging~99999999999999999999")
    assert far.exit_code == 4 and "staging has only 3 promotions in its history" in far.stderr
    odd = moves.run("show", "support-triage@staging~²")
    assert odd.exit_code == 1 and "is not a number of steps back" in odd.stderr


STAMP = {
    "request.id": "req-x",
    "bundle.name": "support-triage",
    "bundle.version": "2026.11.01-1",
    "bundle.digest": "sha256:" + "0" * 64,
    "bundle.env": "staging",
}


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (json.dumps({**STAMP, "padding": "a" * (64 * 1024 * 1024)}), "its time is missing"),
        (json.dumps({**STAMP, "time": "9999-12-31T23:59:59-14:00"}), "is out of range"),
        (json.dumps({"resourceSpans": 7, "note": "req-x"}), "is not a stamp bundlectl can read"),
        ('{"request.id": "req-x", "a": ' + "[" * 100_000 + "]" * 100_000 + "}", "request req-x is not in"),
    ],
    ids=["huge line without a time", "time past the year 9999 in UTC", "resourceSpans not a list", "deep nesting"],
)
def test_request_logs_of_strange_shapes(moves: Workspace, tmp_path: Path, line: str, says: str):  # noqa: F811
    log = tmp_path / "requests.jsonl"
    log.write_text(line + "\n")
    result = moves.run("audit", "--request-id", "req-x", "--log", str(log))
    assert result.exit_code in (1, 4), result.output[:500]
    assert says in result.stderr and len(result.stderr) < 2000


def test_a_fifo_or_a_device_as_a_request_log(moves: Workspace, tmp_path: Path):  # noqa: F811
    fifo = tmp_path / "requests.fifo"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "a FIFO (named pipe)"), (Path("/dev/zero"), "a character device")):
        result = run_within(moves, 20, "audit", "--request-id", "req-x", "--log", str(path))
        assert result.exit_code == 1 and f"{path}: is {kind}, not a regular file" in result.stderr


@pytest.mark.parametrize("what", ["device", "fifo"])
def test_evidence_from_a_device_or_a_pipe_is_refused_before_reading(moves: Workspace, tmp_path: Path, what: str):  # noqa: F811
    path = Path("/dev/zero")
    if what == "fifo":
        path = tmp_path / "report.fifo"
        os.mkfifo(path)
    head = moves.log_head()
    result = run_within(moves, 20, "evidence", "add", V1, str(path))
    assert result.exit_code == 1, result.output
    assert "not a regular file" in result.stderr and "Traceback" not in result.output
    assert moves.log_head() == head
