"""The HTML report in a real headless chromium, as a reviewer opens it: no errors, no network, every section
visible at desktop and phone width, printable to PDF, and markup from a bundle shown as text, never run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.conftest import V2, Workspace
from tests.report.conftest import MARKUP, artifacts

PAGE = "http://report.invalid/report.html"  # served by the route below; every other request is recorded and refused
SECTIONS = ["verdict", "changes", "gate", "cases", "operations", "rollback", "timeline"]
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


class Opened(NamedTuple):
    page: Any
    requests: list[str]  # everything the page asked for besides itself
    errors: list[str]  # console errors, uncaught exceptions, dialogs (an alert() that ran)


def render(ws: Workspace, *extra: str) -> str:
    out = ws.root / "report.html"
    result = ws.run("report", V2, "--env", "staging", "-o", str(out), *extra)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def open_page(browser: Any, document: str, viewport: dict[str, int], **context: Any) -> Opened:
    page = browser.new_context(viewport=viewport, **context).new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))

    def answer(route: Any) -> None:
        if route.request.url == PAGE:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=document)
        else:
            requests.append(route.request.url)
            route.abort()

    page.route("**/*", answer)
    page.goto(PAGE, wait_until="load")
    return Opened(page, requests, errors)


def check_page(opened: Opened, sections: list[str], verdict: str) -> None:
    page = opened.page
    assert page.locator("[data-testid=verdict]").is_visible()
    assert verdict in page.locator("[data-testid=verdict]").inner_text()
    for section in sections:
        heading = page.locator(f"#{section} h2")
        assert heading.is_visible(), section
    assert opened.requests == [] and opened.errors == []


def shoot(opened: Opened, name: str) -> Path:
    path = artifacts() / f"{name}.png"
    opened.page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


@pytest.mark.parametrize(("scenario", "verdict"), [("passing", "PASS"), ("refused", "REFUSED")])
def test_a_promotion_report_opens_with_every_section_at_desktop_and_phone_width(
    scenario: str, verdict: str, browser: Any, request: pytest.FixtureRequest
) -> None:
    ws = request.getfixturevalue(scenario)
    document = render(ws)
    desktop = open_page(browser, document, DESKTOP)
    check_page(desktop, SECTIONS, verdict)
    shoot(desktop, f"report-{scenario}-desktop")
    desktop.page.screenshot(path=str(artifacts() / f"report-{scenario}-top.png"))  # what a reviewer sees first (docs/img)
    if scenario == "refused":
        failed = desktop.page.locator("[data-testid=verdict] li").all_inner_texts()
        assert any(text.startswith("eval.pass_rate") for text in failed)
        assert any(text.startswith("regression") for text in failed)
    phone = open_page(browser, document, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    check_page(phone, SECTIONS, verdict)
    width = phone.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is wider than the phone: {width}"
    shoot(phone, f"report-{scenario}-phone")


def test_a_running_canary_shows_each_metrics_interval_and_the_guards_decisions(canary: Workspace, browser: Any) -> None:
    document = render(canary, "--source", canary.log, "--min-sample", "400")  # type: ignore[attr-defined]
    opened = open_page(browser, document, DESKTOP)
    check_page(opened, [*SECTIONS, "canary"], "PASS")
    section = opened.page.locator("#canary")
    assert section.locator("svg.chart").count() >= 3  # one per metric the guard judges
    decisions = section.locator("tbody tr").first.locator("td").nth(2).inner_text()
    assert decisions == "advance"
    assert section.locator("td", has_text="rollback").first.is_visible()  # judged now: the regression
    assert section.locator("svg.chart line.regression").count() >= 1
    shoot(opened, "report-canary-desktop")
    section.screenshot(path=str(artifacts() / "report-canary-section.png"))


def test_a_prompt_with_markup_is_shown_as_text_and_never_run(passing: Workspace, browser: Any) -> None:
    document = render(passing)
    assert "<script>alert" not in document and "<img src=x" not in document
    opened = open_page(browser, document, DESKTOP)
    page = opened.page
    assert page.locator("script").count() == 0 and page.locator("img").count() == 0
    shown = page.locator("table.diff td.new", has_text=MARKUP)
    assert shown.count() == 1 and shown.first.is_visible()
    assert opened.errors == [] and opened.requests == []


def test_the_report_prints_to_pdf(refused: Workspace, browser: Any) -> None:
    opened = open_page(browser, render(refused), DESKTOP)
    closed = opened.page.locator("details:not([open]) table").first
    assert closed.is_hidden()
    opened.page.emulate_media(media="print")
    assert opened.page.locator("nav").is_hidden()  # the print stylesheet applies
    assert closed.is_visible()  # and prints closed details open
    pdf = opened.page.pdf(format="A4", print_background=True)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 20_000
    (artifacts() / "report-refused.pdf").write_bytes(pdf)
