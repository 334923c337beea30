"""Honest records written by an older bundlectl still follow: a promotion gated, before reports were matched case by
case, on evidence without provenance is judged as that bundlectl judged it (its report's own figures), and a
promotion those figures do not carry is refused all the same."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import V1, Workspace
from tests.helpers import promptfoo_report, set_policy
from tests.trust.conftest import Keys
from tests.trust.forge import Forger


def older_bundlectl_promotion(ws: Workspace, keys: Keys) -> int:
    """Evidence as bundlectl wrote it before provenance (no cases, no provenance), then its gated promotion."""
    from bundlectl.evidence.importers import import_report
    from bundlectl.evidence.report import figures

    forger = Forger(ws, keys)
    raw = Path(promptfoo_report(ws, "v1")).read_bytes()
    bundle = forger.registered(V1.split("@")[1])
    evidence = {
        "name": bundle["name"],
        "version": bundle["version"],
        "digest": bundle["digest"],
        "evals_digest": bundle["record"]["components"]["evals"]["digest"],
        "kind": "eval",
        "source": "promptfoo",
        "run_at": json.loads(raw)["results"]["timestamp"][:19] + "Z",
        "figures": figures(import_report(raw, "r.json")),
        "report_key": "reports/" + __import__("hashlib").sha256(raw).hexdigest(),
        "file": "v1.json",
    }
    used = forger.append("evidence", evidence, None, report=raw)
    seq = used + 1
    move = {
        "name": bundle["name"],
        "env": "staging",
        "from_digest": None,
        "from_version": None,
        "to_digest": bundle["digest"],
        "to_version": bundle["version"],
        "pointer_version": 1,
        "gate": {"passed": True, "checks": ["eval.fresh", "eval.cases", "eval.pass_rate"], "evidence": [used]},
    }
    pointer = {"name": bundle["name"], "env": "staging", "digest": bundle["digest"], "version": bundle["version"], "pointer_version": 1, "seq": seq}
    return forger.append("promote", move, None, {f"envs/{bundle['name']}/staging": pointer})


def test_an_older_bundlectls_honest_promotion_still_verifies(git_registered: Workspace, keys: Keys):
    ws = git_registered
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    older_bundlectl_promotion(ws, keys)
    result = ws.run("verify")
    assert result.exit_code == 0, result.output
    assert ws.json("status")  # and every read takes it in
    assert ws.run("gate", V1, "--env", "staging").exit_code == 1  # today's gate never counts such a report


def test_an_older_style_promotion_its_evidence_does_not_carry_is_refused(git_registered: Workspace, keys: Keys):
    ws = git_registered
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 500, min_pass_rate: 0.8}}}\n")
    before = ws.bundlectl_refs()
    seq = older_bundlectl_promotion(ws, keys)
    assert ws.bundlectl_refs() != before
    result = ws.run("verify")
    assert result.exit_code == 5, result.output
    assert f"log record seq {seq} (promote" in result.stderr and "eval.cases" in result.stderr, result.stderr
