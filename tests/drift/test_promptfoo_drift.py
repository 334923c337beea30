"""Drift with the real promptfoo: the example suite's stand-in provider changes behaviour by an environment variable
(a model updated behind its dated name) while the bundle, digest and all, stays the same."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Workspace
from tests.helpers import set_policy

NAME, REF = "support-triage", "support-triage@2026.11.01-8"
# the update: the provider stops recognising billing words (those tickets fall through to `technical`)
UPDATED = """
import os as _os
if _os.environ.get("TRIAGE_MODEL_UPDATED") == "1":
    ROUTES = [(queue, words) for queue, words in ROUTES if queue != "billing"]
"""


@pytest.fixture
def on_path(promptfoo_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """promptfoo offline, quiet and on PATH (tests/conftest.py), and the model not yet updated."""
    monkeypatch.delenv("TRIAGE_MODEL_UPDATED", raising=False)


def test_a_model_updated_behind_its_name_is_drift_and_an_identical_rerun_is_stable(
    git_registry: Workspace, on_path: None, monkeypatch: pytest.MonkeyPatch
):
    ws = git_registry
    folder = ws.root / "bundles/support-triage-v1"
    provider = folder / "evals/provider.py"
    text = provider.read_text()
    provider.write_text(text.replace("\n\ndef call_api", UPDATED + "\n\ndef call_api", 1))
    (folder / "bundle.yaml").write_text((folder / "bundle.yaml").read_text().replace("2026.11.01-1", "2026.11.01-8"))
    assert ws.run("register", str(folder)).exit_code == 0
    set_policy(
        ws,
        "environments:\n  staging:\n    gates: {eval: {min_cases: 50, min_pass_rate: 0.85, provenance: run}}\n"
        "    drift: {every: 7d, alpha: 0.01, action: notify}\n",
    )
    assert ws.run("eval", REF, "--json").exit_code in (0, 100)  # promptfoo exits 100 when a case fails
    assert ws.run("promote", REF, "--env", "staging").exit_code == 0

    same = ws.run("drift", NAME, "--env", "staging", "--json")
    assert same.exit_code == 0, same.output
    assert json.loads(same.stdout)["flipped"] == []

    monkeypatch.setenv("TRIAGE_MODEL_UPDATED", "1")
    changed = ws.run("drift", NAME, "--env", "staging", "--apply", "--json")
    assert changed.exit_code == 1, changed.output
    found = json.loads(changed.stdout)
    assert found["decision"] == "drift" and found["overall"]["fixed"] == 0 and found["overall"]["broke"] >= 10
    assert {f["slice"] for f in found["flipped"]} <= {"gold", "adversarial"} and "gold-01" in [f["case"] for f in found["flipped"]]
    gold = next(s for s in found["slices"] if s["slice"] == "gold")
    assert gold["broke"] >= 10 and gold["p_value"] < 0.01 / 3
    assert ws.run("status", "--check").exit_code == 1
    assert ws.run("verify").exit_code == 0  # the drift record's figures re-derive from the two stored promptfoo runs
