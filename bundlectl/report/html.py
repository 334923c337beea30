"""The report as one self-contained HTML page: Jinja2 with autoescaping, inline CSS allowed by its hash, inline SVG."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from bundlectl.errors import UsageProblem
from bundlectl.report.charts import interval_charts
from bundlectl.report.formatting import ms, pct, short, usd, value
from bundlectl.report.margins import describe_margin
from bundlectl.report.model import ReleaseReport
from bundlectl.report.sidebyside import Row, side_by_side

if TYPE_CHECKING:
    from jinja2 import Environment

ID_LIMIT = 2000  # case ids listed per group; the JSON report has them all


@cache
def _environment() -> Environment:
    try:
        from jinja2 import Environment, PackageLoader, StrictUndefined
    except ImportError:
        raise UsageProblem(
            "the HTML report needs Jinja2, which is not installed", "pip install 'bundlectl[report]', or use --format markdown or json"
        ) from None

    environment = Environment(
        loader=PackageLoader("bundlectl.report", "templates"), autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    environment.filters.update(short=short, value=value, pct=pct, ms=ms, usd=usd)
    return environment


@cache
def _css() -> tuple[str, str]:
    """The stylesheet and its CSP source expression: the page allows this style block and nothing else."""
    css = resources.files("bundlectl.report").joinpath("templates/report.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    return css, f"sha256-{digest}"


def _diffs(report: ReleaseReport) -> dict[str, dict[str, list[Row]]]:
    if report.changes is None:
        return {}
    return {
        kind: {path: side_by_side(text) for path, text in sorted(component.text_diffs.items())}
        for kind, component in report.changes.components.items()
    }


def _snapshot(report: ReleaseReport) -> dict[str, Any] | None:
    model = report.changes.components.get("model") if report.changes else None
    change = next((f for f in model.fields if f.path == "snapshot"), None) if model else None
    return {"old": change.old, "new": change.new} if change else None


def render_html(report: ReleaseReport) -> str:
    css, css_hash = _css()
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            r=report,
            css=css,
            css_hash=css_hash,
            diffs=_diffs(report),
            snapshot=_snapshot(report),
            margins=[describe_margin(c) for c in report.verdict.gate.checks],
            charts=interval_charts(report.canary) if report.canary else [],
            id_limit=ID_LIMIT,
        )
    )
