"""The receivers of docs/webhooks.md, run as they are written: Python and Node, each verifying with its Standard
Webhooks library; they take bundlectl's deliveries, refuse a tampered one and handle a redelivery once."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, V1, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy
from tests.webhooks.conftest import SECRET, Receiver, subscribe

HERE = Path(__file__).parent
NODE = HERE / "node"


class Running:
    def __init__(self, command: list[str], cwd: Path) -> None:
        env = {**os.environ, "BUNDLECTL_WEBHOOK_SECRET": SECRET, "PORT": "0"}
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        line = self.process.stderr.readline()
        match = re.search(r"listening on (\d+)", line)
        assert match, line + self.process.stderr.read()
        self.url = f"http://127.0.0.1:{match.group(1)}/bundlectl"

    def handled(self) -> list[dict]:
        self.process.terminate()
        out, _ = self.process.communicate(timeout=10)
        return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture
def python_receiver() -> Iterator[Running]:
    running = Running([sys.executable, str(HERE / "receiver_example.py")], HERE)
    yield running
    running.process.kill()
    running.process.wait()


@pytest.fixture
def node_receiver() -> Iterator[Running]:
    if shutil.which("node") is None or not (NODE / "node_modules" / "standardwebhooks").is_dir():
        pytest.skip("needs node and `npm ci` in tests/webhooks/node (.ci/run does both)")
    running = Running(["node", str(NODE / "receiver.js")], NODE)
    yield running
    running.process.kill()
    running.process.wait()


@pytest.mark.parametrize("which", ["python_receiver", "node_receiver"])
def test_the_documented_receiver_verifies_and_deduplicates(git_registered: Workspace, request, which: str):
    receiver: Running = request.getfixturevalue(which)
    recorder = Receiver().start()  # beside it, to replay what bundlectl sent
    try:
        assert (
            subscribe(
                git_registered,
                {
                    "app": {"url": receiver.url, "secret": {"env": "HOOK_SECRET"}, "events": ["bundle.promoted"]},
                    "copy": {"url": recorder.url, "secret": {"env": "HOOK_SECRET"}, "events": ["bundle.promoted"]},
                },
            ).exit_code
            == 0
        )
        set_policy(git_registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
        add(git_registered, V1, promptfoo_report(git_registered, "v1"))
        promote(git_registered, V1, "staging")
        (sent,) = recorder.got
        assert _post(receiver.url, sent.body, sent.headers) == 204  # a redelivery: accepted, handled once
        assert _post(receiver.url, sent.body.replace(b"staging", b"prod"), sent.headers) == 400  # tampered
    finally:
        recorder.stop()
    (handled,) = receiver.handled()
    assert handled["type"] == "bundle.promoted" and handled["id"] == sent.headers["webhook-id"]
    assert handled["bundle"]["version"] == "2026.11.01-1"


def test_the_docs_show_the_receivers_as_they_are_tested():
    docs = (ROOT / "docs" / "webhooks.md").read_text()
    for example in (HERE / "receiver_example.py", NODE / "receiver.js"):
        assert example.read_text().strip() in docs, f"docs/webhooks.md must show {example.name} as it is"


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    wanted = {k: v for k, v in headers.items() if k.startswith("webhook-") or k == "content-type"}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, wanted, method="POST"), timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code
