"""What opening files safely and never-failing log appends cost, against the plain calls they replaced (same run).

python benchmarks/safeio_costs.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bundlectl.safeio.appender import LineAppender
from bundlectl.safeio.regular import read_regular

LINES = 100_000
READS = 20_000


def per_call(function, count: int) -> float:
    started = time.perf_counter()
    function(count)
    return (time.perf_counter() - started) / count


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="safeio-bench-") as scratch:
        measure(Path(scratch))


def measure(folder: Path) -> None:
    line = json.dumps(
        {
            "time": "2026-12-06T20:00:00.000000Z",
            "request.id": "req-1",
            "bundle.name": "support-triage",
            "bundle.env": "staging",
            "bundle.version": "2026.11.01-1",
            "bundle.digest": "sha256:" + "0" * 64,
        }
    )

    def line_buffered(count: int) -> None:  # what Runtime wrote with before
        with open(folder / "before.jsonl", "a", buffering=1, encoding="utf-8") as handle:
            for _ in range(count):
                handle.write(line + "\n")

    def appender(count: int) -> None:
        log = LineAppender(folder / "after.jsonl", lambda n: "{}")
        for _ in range(count):
            log.append(line)
        log.close()

    small = folder / "small.md"
    small.write_bytes(b"x" * 4096)

    def plain_read(count: int) -> None:
        for _ in range(count):
            small.read_bytes()

    def safe_read(count: int) -> None:
        for _ in range(count):
            read_regular(small, 1 << 20, follow=False)

    for label, base, new, count in (("request log line", line_buffered, appender, LINES), ("4 KiB file read", plain_read, safe_read, READS)):
        before, after = per_call(base, count), per_call(new, count)
        print(f"{label:18s} before {before * 1e6:7.2f} µs  after {after * 1e6:7.2f} µs  ratio {after / before:5.2f}")


if __name__ == "__main__":
    main()
