"""Releases as a reviewer meets them, in real git registries: a passing promotion, a refused one, and a running
canary whose candidate regresses; and one headless chromium (Debian's, driven by Playwright) for the whole session."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, V1, V2, Workspace, _initialise, _register_examples
from tests.guard.simulate import Traffic, serve
from tests.helpers import add, native_eval, promote, set_policy

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)> & **bold** @octocat | `tick` </details>'
CHROMIUM = "/usr/bin/chromium"
# Debian's chromium, never a downloaded one, and nothing that phones home on its own
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
POLICY = """environments:
  staging:
    gates:
      eval: {min_cases: 20, min_pass_rate: 0.8, max_age: 7d}
      regression: {max_drop: 0.05}
      cost: {max_cost_per_task_usd: 0.01, daily_tasks: 20000, max_daily_usd: 500}
"""


def artifacts() -> Path:
    """Where screenshots and PDFs go for CI to keep: $BUNDLECTL_ARTIFACTS, else tests/report/artifacts (ignored by git)."""
    folder = Path(os.environ.get("BUNDLECTL_ARTIFACTS") or ROOT / "tests" / "report" / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _with_markup(ws: Workspace) -> None:
    """The candidate's system prompt carries markup, as a prompt about HTML or an attacker's edit would."""
    prompt = ws.root / "bundles" / "support-triage-v2" / "prompts" / "system.md"
    prompt.write_text(prompt.read_text() + f"\nNever output HTML such as {MARKUP}\n")


def release(ws: Workspace, candidate_failing: int) -> Workspace:
    """V1 live in staging with 3 failing cases; V2 registered with `candidate_failing` failing cases."""
    _with_markup(ws)
    _initialise(ws)
    _register_examples(ws)
    set_policy(ws, POLICY)
    add(ws, V1, native_eval(ws, "v1", "v1.json", failing=3, latency_ms=700.0, cost_usd=0.002))
    add(ws, V2, native_eval(ws, "v2", "v2.json", failing=candidate_failing, latency_ms=640.0, cost_usd=0.0018))
    promote(ws, V1, "staging")
    return ws


@pytest.fixture
def passing(workspace: Workspace) -> Workspace:
    return release(workspace, 0)


@pytest.fixture
def refused(workspace: Workspace) -> Workspace:
    return release(workspace, 20)


@pytest.fixture
def canary(workspace: Workspace, runtimes: Callable[..., Any], tmp_path: Path) -> Workspace:
    """V2 in a canary: judged equal at 20% and advanced to 50% by the guard, then regressing; `canary.log` is
    the request log to judge it from now."""
    ws = release(workspace, 0)
    result = ws.run("promote", V2, "--env", "staging", "--canary", "20", "--steps", "20,50,100", "--step-time", "0m")
    assert result.exit_code == 0, result.output
    log = tmp_path / "requests.jsonl"
    runtime = runtimes(ws, follow=False, request_log=log)
    rng = random.Random(28)
    runtime.refresh()
    serve(runtime, 2500, rng, Traffic())
    applied = ws.run(
        "guard",
        "support-triage",
        "--env",
        "staging",
        "--source",
        str(log),
        "--min-sample",
        "400",
        "--max-sample",
        "400",
        "--apply",  # equal arms: the step time (0m) and the maximum sample have passed
        "--actor",
        "guard@example.com",
        "--json",
    )
    assert json.loads(applied.stdout)["decision"] == "advance", applied.output
    runtime.refresh()
    serve(runtime, 4000, rng, Traffic(escalated=0.16))
    ws.log = str(log)  # type: ignore[attr-defined]
    return ws


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A real chromium: the tests fail (never skip) without it, since the page is what reviewers open. Module-scoped:
    Playwright's sync API keeps an event loop running in this thread while it is open, and a test run later in the
    same process (an asyncio.run() of its own) must not find it still running."""
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`; .ci/run does)"
    )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
