"""One entry for every output format of the report."""

from __future__ import annotations

import json
from typing import Literal

from bundlectl.report.model import ReleaseReport

Format = Literal["html", "markdown", "json"]
FORMATS: tuple[Format, ...] = ("html", "markdown", "json")


def render(report: ReleaseReport, fmt: Format) -> str:
    if fmt == "html":
        from bundlectl.report.html import render_html

        return render_html(report)
    if fmt == "markdown":
        from bundlectl.report.markdown import render_markdown

        return render_markdown(report)
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False, sort_keys=True, default=str) + "\n"
