"""The pieces the HTML page is drawn from: a unified diff side by side, gate margins, and the interval charts."""

from datetime import timedelta

from bundlectl.gate.result import Check
from bundlectl.report.charts import interval_charts
from bundlectl.report.margins import describe_margin, margin
from bundlectl.report.model import CanaryView, GuardPoint
from bundlectl.report.sidebyside import Row, side_by_side

UNIFIED = """--- a/prompts/system.md
+++ b/prompts/system.md
@@ -1,4 +1,4 @@
 Rules:
-1. old rule
-2. removed rule
+1. new rule
 3. kept
+4. added rule
\\ No newline at end of file
"""


def test_a_unified_diff_pairs_each_removed_line_with_the_line_that_replaces_it() -> None:
    assert side_by_side(UNIFIED) == [
        Row("hunk", "@@ -1,4 +1,4 @@", "@@ -1,4 +1,4 @@"),
        Row("same", "Rules:", "Rules:"),
        Row("changed", "1. old rule", "1. new rule"),
        Row("removed", "2. removed rule", None),
        Row("same", "3. kept", "3. kept"),
        Row("added", None, "4. added rule"),
    ]


def test_margins_are_headroom_above_a_floor_and_below_a_ceiling() -> None:
    assert margin(Check("eval.pass_rate", True, 0.9, 0.8, "")) == 0.1
    assert margin(Check("latency.p95_ms", False, 1500, 1200, "")) == -300
    assert margin(Check("eval.slice.gold", True, {"cases": 40, "pass_rate": 0.95}, {"min_cases": 20, "min_pass_rate": 0.9}, "")) == 0.05
    assert describe_margin(Check("eval.fresh", False, timedelta(days=9), timedelta(days=7), "")) == "2d over"
    assert describe_margin(Check("approvals", True, True, None, "")) == "–"


def test_each_metric_gets_a_chart_with_zero_in_view_and_a_bar_per_judgement() -> None:
    def point(percent: int, low: float, high: float, verdict: str) -> GuardPoint:
        metric = {
            "name": "escalated",
            "live": 0.08,
            "candidate": 0.08 + (low + high) / 2,
            "interval": [low, high],
            "verdict": verdict,
            "better": "lower",
        }
        return GuardPoint("step", "", percent, "hold", "", [metric, {"name": "ok", "interval": None}], True)

    canary = CanaryView("v2", "sha256:0", True, 50, [20, 50, 100], [], [point(20, -0.02, 0.03, "inconclusive"), point(50, 0.03, 0.12, "regression")])
    [chart] = interval_charts(canary)  # "ok" has no interval yet: no chart
    assert chart.metric == "escalated" and [b.verdict for b in chart.bars] == ["inconclusive", "regression"]
    assert chart.bars[1].high_y < chart.bars[1].low_y < chart.zero_y  # all above zero: drawn above the zero line
    assert chart.bars[0].high_y < chart.zero_y < chart.bars[0].low_y
