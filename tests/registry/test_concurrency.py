"""Eight operators promoting at once: no lost update, only exit 0 or 3, and the log still verifies."""

import shutil
import subprocess
import sys

from tests.conftest import Workspace
from tests.helpers import add, promptfoo_report, set_policy

WRITERS = 8


def test_concurrent_promotions_lose_no_update(registered: Workspace):
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    refs = []
    for i in range(WRITERS):
        folder = registered.root / "bundles" / f"race-{i}"
        shutil.copytree(registered.root / "bundles/support-triage-v1", folder)
        text = (folder / "bundle.yaml").read_text()
        text = text.replace("version: 2026.11.01-1", f"version: 9.0.{i}").replace("temperature: 0.2", f"temperature: 0.{i + 1}1")
        (folder / "bundle.yaml").write_text(text)
        assert registered.run("register", str(folder)).exit_code == 0
        add(registered, f"support-triage@9.0.{i}", promptfoo_report(registered, "v1", name=f"race-{i}.json"))  # a run each
        refs.append(f"support-triage@9.0.{i}")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bundlectl", "promote", ref, "--env", "staging", "--actor", f"op{i}@example.com"],
            cwd=registered.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, ref in enumerate(refs)
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = [code for code, _ in outcomes]
    assert set(codes) <= {0, 3}, [o for o in outcomes if o[0] not in (0, 3)] or outcomes
    assert codes.count(0) >= 1
    for code, stderr in outcomes:
        if code == 3:
            assert "was moved by op" in stderr and "nothing was changed" in stderr
    events = registered.json("history", "support-triage", "--env", "staging")["events"]
    assert len(events) == codes.count(0)
    for newer, older in zip(events, events[1:], strict=False):
        assert newer["from_digest"] == older["to_digest"]  # every move started from the one before: none lost
    assert [e["pointer_version"] for e in events] == list(range(len(events), 0, -1))
    assert registered.run("verify").exit_code == 0
