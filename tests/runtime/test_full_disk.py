"""The request log on a full disk (a file size limit, RLIMIT_FSIZE, in a process of its own): serving goes on, what
could not be written is counted and reported, and the guard refuses the incomplete log as evidence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, Workspace

pytestmark = pytest.mark.parametrize("registry", ["git"], indirect=True)

SERVE_ON_A_FULL_DISK = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    from bundlectl.runtime import Runtime

    root, log = sys.argv[1:3]
    runtime = Runtime("support-triage", "staging", cwd=Path(root), request_log=log, follow=False)
    runtime.record("before", ok=True, latency_ms=5)
    limit = Path(log).stat().st_size + 300  # room for part of one more line
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    raised = 0
    for i in range(1000):
        try:
            runtime.stamp(f"req-{i}")
            runtime.record(f"req-{i}", ok=True, latency_ms=5)
            runtime.current()
        except Exception:
            raised += 1
    full = {"raised": raised, "dropped": runtime.dropped_records, "metric": runtime.tallies.dropped,
            "problem": runtime.problem}
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # the disk has room again
    runtime.record("after", ok=True, latency_ms=5)
    runtime.close()
    print(json.dumps(full))
""")


def test_serving_goes_on_when_the_request_log_cannot_be_written(v1_live: Workspace, tmp_path: Path):
    log = tmp_path / "requests.jsonl"
    result = subprocess.run(
        [sys.executable, "-c", SERVE_ON_A_FULL_DISK, str(v1_live.root), str(log)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=os.environ,
    )
    assert result.returncode == 0, result.stderr
    full = json.loads(result.stdout)
    assert full["raised"] == 0  # no stamp(), record() or current() raised
    assert full["dropped"] == full["metric"] >= 1999  # at most one line fitted in the room left
    assert f"the request log {log} dropped {full['dropped']} lines (File too large)" in full["problem"]
    assert "the guard will not take it as evidence" in full["problem"]
    lines = log.read_bytes().split(b"\n")
    note = json.loads(lines[-3])  # after the torn line: what was lost, then the record written once there was room
    assert note["bundle.log.dropped"] == full["dropped"] and note["bundle.name"] == "support-triage"
    assert json.loads(lines[-2])["request.id"] == "after" and lines[-1] == b""

    refused = v1_live.run("guard", "support-triage", "--env", "staging", "--source", str(log))
    assert refused.exit_code == 1
    assert f"{log}:{len(lines) - 2}: the runtime could not write {full['dropped']} line(s)" in refused.output
    assert "the log is incomplete" in refused.output
