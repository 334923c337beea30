"""Small SVG charts as plain data for the template to draw: coordinates computed here, every label escaped there."""

from __future__ import annotations

from typing import Any, NamedTuple

from bundlectl.report.model import CanaryView

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_Y = 560, 150, 70, 20, 20


class Bar(NamedTuple):
    x: float
    low_y: float
    high_y: float
    estimate_y: float
    verdict: str
    label: str  # the x-axis label: the share and where the judgement comes from
    title: str  # the tooltip: the interval in numbers


class IntervalChart(NamedTuple):
    metric: str
    better: str
    zero_y: float
    top_label: str
    bottom_label: str
    bars: list[Bar]
    width: int = WIDTH
    height: int = HEIGHT


def _interval(metric: dict[str, Any]) -> tuple[float, float, float] | None:
    interval, live, candidate = metric.get("interval"), metric.get("live"), metric.get("candidate")
    if not (isinstance(interval, list) and len(interval) == 2 and all(isinstance(v, (int, float)) for v in interval)):
        return None
    estimate = candidate - live if isinstance(live, (int, float)) and isinstance(candidate, (int, float)) else (interval[0] + interval[1]) / 2
    return float(interval[0]), float(interval[1]), float(estimate)


def interval_charts(canary: CanaryView) -> list[IntervalChart]:
    """Per metric, the candidate − live interval at each guard judgement, on a scale that always shows zero."""
    charts = []
    for name in canary.metric_names:
        series = []
        for point in canary.points:
            metric = next((m for m in point.metrics if m.get("name") == name), None)
            found = _interval(metric) if metric else None
            if found is not None and metric is not None:
                series.append((point, metric, found))
        if not series:
            continue
        values = [v for _, _, found in series for v in found if abs(v) != float("inf")] + [0.0]
        top, bottom = max(values), min(values)
        span = (top - bottom) or 1.0
        top, bottom = top + span * 0.1, bottom - span * 0.1

        def y(value: float, top: float = top, bottom: float = bottom) -> float:
            clipped = min(max(value, bottom), top)  # an infinite bound (before the minimum sample) runs to the edge
            return round(PAD_Y + (top - clipped) / (top - bottom) * (HEIGHT - 2 * PAD_Y), 1)

        step = (WIDTH - PAD_LEFT - PAD_RIGHT) / len(series)
        bars = [
            Bar(
                round(PAD_LEFT + step * (i + 0.5), 1),
                y(low),
                y(high),
                y(estimate),
                str(metric.get("verdict", "")),
                f"{point.percent}%{'' if point.logged else ' now'}",
                f"{point.label}: {estimate:+.4g} (interval {low:+.4g} to {high:+.4g}), {metric.get('verdict', '')}",
            )
            for i, (point, metric, (low, high, estimate)) in enumerate(series)
        ]
        better = str(series[0][1].get("better", ""))
        charts.append(IntervalChart(name, better, y(0.0), f"{top:+.3g}", f"{bottom:+.3g}", bars))
    return charts
