"""A live bundle whose declared harness is a stand-in provider: it answers every case of the suite, and the
environment variable DRIFT_FLIP makes that many cases that used to pass fail, while the bundle stays the same."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import Workspace
from tests.helpers import set_policy, suite_cases
from tests.trust.conftest import Keys

STAND_IN = """
import json, os, datetime
cases = json.loads(os.environ["CASES"])
flip = int(os.environ.get("DRIFT_FLIP", "0"))  # the provider changed behind its dated name: cases 3.. fail now
now = datetime.datetime.now(datetime.timezone.utc).isoformat()
report = {"format": "bundlectl/evidence-v1", "kind": "eval", "run_at": now, "tool": "stand-in",
          "bundle_digest": os.environ["BUNDLECTL_BUNDLE_DIGEST"],
          "cases": [{"id": i, "slice": s, "passed": n > 2 and not 3 <= n < 3 + flip} for n, (i, s) in enumerate(cases)]}
open("report.json", "w").write(json.dumps(report))
"""
NAME = "support-triage"
REF = f"{NAME}@2026.11.01-7"
POLICY = (
    "environments:\n  staging:\n    gates: {eval: {min_cases: 20, min_pass_rate: 0.8, provenance: PROVENANCE, max_age: 30d}}\n"
    "    drift: {every: 7d, alpha: 0.01, action: ACTION}\n    review: {every: 30d}\n"
)


def register_stand_in(ws: Workspace, *extra: str) -> None:
    folder = ws.root / "bundles/support-triage-v1"
    (folder / "evals/stand_in.py").write_text(STAND_IN)
    text = (folder / "bundle.yaml").read_text().replace("2026.11.01-1", REF.split("@")[1])
    text = re.sub(r"    harness: .*\n", f"    harness: [{json.dumps(sys.executable)}, evals/stand_in.py]\n", text)
    (folder / "bundle.yaml").write_text(text.replace("files: [evals/provider.py]", "files: [evals/provider.py, evals/stand_in.py]"))
    result = ws.run("register", str(folder), *extra)
    assert result.exit_code == 0, result.output


@pytest.fixture
def cases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASES", json.dumps(suite_cases("v1")))
    monkeypatch.delenv("DRIFT_FLIP", raising=False)


def make_live(ws: Workspace, action: str = "notify", provenance: str = "run") -> None:
    """The stand-in bundle registered, run once by `bundlectl eval` (the admitting run) and promoted to staging."""
    register_stand_in(ws)
    set_policy(ws, POLICY.replace("ACTION", action).replace("PROVENANCE", provenance))
    ran = ws.run("eval", REF, "--report", "report.json")
    assert ran.exit_code == 0, ran.output
    promoted = ws.run("promote", REF, "--env", "staging")
    assert promoted.exit_code == 0, promoted.output


@pytest.fixture
def live(git_registry: Workspace, cases: None) -> Workspace:
    make_live(git_registry)
    return git_registry


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    """Real ssh-keygen keys, as the trust tests make them."""
    return Keys(tmp_path / "keys")
