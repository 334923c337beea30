"""Cost of judging a drift run: the case-by-case comparison and McNemar tests, against summarising one run
(`evidence.report.figures`, what every bound report already pays), on suites of 100 to 100,000 cases."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from bundlectl.driftcheck.compare import compare_runs
from bundlectl.driftcheck.decision import decide
from bundlectl.evidence.report import CaseResult, Report, figures


def best(action: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    from datetime import UTC, datetime

    for size in (100, 1_000, 10_000, 100_000):
        rng = random.Random(size)
        before = [CaseResult(f"case-{n}", f"slice-{n % 8}", rng.random() < 0.9) for n in range(size)]
        after = [CaseResult(c.id, c.slice, c.passed if rng.random() < 0.97 else not c.passed) for c in before]
        report = Report("eval", "native", datetime.now(UTC), after)
        summary = best(lambda report=report: figures(report))  # type: ignore[misc]
        judged = best(lambda before=before, after=after: decide(compare_runs(before, after), 0.01, None))  # type: ignore[misc]
        print(f"{size:>7} cases: summary {summary * 1e3:8.2f} ms, drift judgement {judged * 1e3:8.2f} ms, ratio {judged / summary:5.1f}×")


if __name__ == "__main__":
    main()
