"""Every record is a valid transition: a key holder who appends, with plain git (or S3 calls) and `ssh-keygen`, a
record that bundlectl would never have written (a promotion that skips the gate, evidence whose figures no stored
report gives, an approval of an unregistered digest) is refused by every reader that takes it in: writers (exit 5,
naming the seq, nothing written), reads through the index, the runtime, and `verify` on a fresh clone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import V1, V2, Workspace
from tests.trust.conftest import Keys, ok
from tests.trust.forge import Forger
from tests.trust.test_signed_tampering import verify_elsewhere

NAME = "support-triage"


def refused_by_integrity(ws: Workspace, args: tuple[str, ...], *words: str) -> str:
    """The command exits 5 naming the failure, and the registry is exactly as it was."""
    before = ws.bundlectl_refs()
    result = ws.run(*args)
    assert result.exit_code == 5, result.output
    for word in words:
        assert word in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert ws.bundlectl_refs() == before
    return result.stderr


def version(ref: str) -> str:
    return ref.split("@")[1]


def forged_promotion(forger: Forger, ref: str, env: str, signer: str | None = "pete") -> int:
    """A promote record as bundlectl writes one (naming the registry), claiming the gate passed, with the env and head
    pointers moved."""
    bundle = forger.registered(version(ref))
    before = forger.pointer(env)
    seq = forger.records()[-1]["seq"] + 1
    data = {
        "name": NAME,
        "env": env,
        "from_digest": before["digest"] if before else None,
        "from_version": before["version"] if before else None,
        "to_digest": bundle["digest"],
        "to_version": bundle["version"],
        "pointer_version": (before["pointer_version"] if before else 0) + 1,
        "verified": True,
        "gate": {"passed": True, "checks": ["eval.fresh", "eval.cases", "eval.pass_rate", "approvals"], "evidence": []},
    }
    pointer = {
        "name": NAME,
        "env": env,
        "digest": bundle["digest"],
        "version": bundle["version"],
        "pointer_version": data["pointer_version"],
        "seq": seq,
    }
    return forger.append("promote", data, signer, {f"envs/{NAME}/{env}": pointer}, registry=True)


def test_a_promotion_its_promoter_signed_without_the_gate_is_refused_by_every_reader(
    trusted: Workspace, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtimes: Any
):
    ws, forger = trusted, Forger(trusted, keys)
    ok(ws, "approve", V1, "--env", "staging", "--key", keys.path("carol"))
    ok(ws, "promote", V1, "--env", "staging", "--key", keys.path("pete"))
    runtime = runtimes(ws, follow=False)
    assert runtime.current().version == version(V1)
    assert ws.run("promote", V2, "--env", "staging", "--key", keys.path("pete")).exit_code == 1  # no approval of V2
    seq = forged_promotion(forger, V2, "staging")
    failure = f"log record seq {seq} (promote"
    judged = "says support-triage@2026.11.22-1 passed the gate of staging, but judged again from the log before it"
    # writers refuse before they plan: nothing is written, and they say which record and why
    refused_by_integrity(ws, ("approve", V2, "--env", "staging", "--key", keys.path("bob")), failure, judged, "approvals: no approvals that count")
    refused_by_integrity(ws, ("promote", V1, "--env", "production", "--key", keys.path("pete")), failure)
    # reads through the index, and the check CI runs
    refused_by_integrity(ws, ("status", "--check"), failure, judged)
    refused_by_integrity(ws, ("history", NAME, "--env", "staging"), failure)
    # the runtime keeps serving what it verified, and a process starting now has nothing it may serve
    assert runtime.refresh() is False
    assert runtime.current().version == version(V1)
    assert judged in runtime.problem
    from bundlectl.runtime import RegistryUnavailable

    with pytest.raises(RegistryUnavailable) as err:
        runtimes(ws)
    assert judged in err.value.message
    refused_by_integrity(ws, ("verify",), failure, judged)
    result = verify_elsewhere(ws, tmp_path, monkeypatch)
    assert result.exit_code == 5 and failure in result.stderr and judged in result.stderr, result.output


def test_the_index_keeps_only_the_prefix_it_judged(trusted: Workspace, keys: Keys):
    """The refused record never enters this machine's read index; the records before it stay, judged once."""
    from bundlectl.registry.index import Index

    ws, forger = trusted, Forger(trusted, keys)
    assert ws.run("status").exit_code == 0
    path = ws.storage().index_path()
    judged = Index(path).head().seq
    seq = forged_promotion(forger, V2, "staging")
    assert seq == judged + 1
    for _ in range(2):
        assert ws.run("status").exit_code == 5
        assert Index(path).head().seq == judged


def test_a_promotion_to_production_skipping_after_and_approvals_is_refused(trusted: Workspace, keys: Keys):
    """The issue's two-person rule: production needs `after: staging` and an approval; pete alone signs the move."""
    ws, forger = trusted, Forger(trusted, keys)
    assert ws.run("promote", V1, "--env", "production", "--key", keys.path("pete")).exit_code == 1
    seq = forged_promotion(forger, V1, "production")
    stderr = refused_by_integrity(ws, ("verify",), f"log record seq {seq} (promote", "passed the gate of production")
    assert "after: has never been live in staging" in stderr and "approvals: no approvals that count" in stderr


def last_evidence(forger: Forger, ref: str) -> dict[str, Any]:
    return next(r["data"] for r in reversed(forger.records()) if r["action"] == "evidence" and r["data"]["version"] == version(ref))


def test_evidence_pointing_at_a_report_never_stored_is_refused(trusted: Workspace, keys: Keys):
    """The runner key claims 54/54, run by the declared harness, for a report it never stored."""
    ws, forger = trusted, Forger(trusted, keys)
    invented = dict(last_evidence(forger, V2))
    invented["figures"] = {**invented["figures"], "cases": 54, "passed": 54, "pass_rate": 1.0}
    invented["report_key"] = "reports/" + "ab" * 32
    invented["provenance"] = {**invented["provenance"], "mode": "run", "harness": True}
    seq = forger.append("evidence", invented, "ci", registry=True)
    failure = f"log record seq {seq} (evidence"
    refused_by_integrity(ws, ("evidence", "list", V2, "--env", "staging"), failure, "was never stored")
    refused_by_integrity(ws, ("promote", V2, "--env", "staging", "--key", keys.path("pete")), failure)
    refused_by_integrity(ws, ("verify",), failure, "is missing")


def test_an_honest_record_copied_with_its_figures_raised_is_refused(trusted: Workspace, keys: Keys):
    """The report is the honest one, stored; only the summary says more cases passed than it gives."""
    ws, forger = trusted, Forger(trusted, keys)
    honest = last_evidence(forger, V2)
    more = honest["figures"]["cases"] * 2
    raised = {**honest, "figures": {**honest["figures"], "cases": more, "passed": more, "pass_rate": 1.0}}
    seq = forger.append("evidence", raised, "ci", registry=True)
    failure = f"log record seq {seq} (evidence"
    words = ("the summary says ", "the summary was edited")
    refused_by_integrity(ws, ("evidence", "list", V2, "--env", "staging", "--json"), failure, *words)
    refused_by_integrity(ws, ("approve", V2, "--env", "staging", "--key", keys.path("carol")), failure, *words)
    refused_by_integrity(ws, ("verify",), failure, *words)


def test_an_approval_of_an_unregistered_digest_is_refused(trusted: Workspace, keys: Keys):
    """Carol's validly signed approval names a digest no record registered: it counts nowhere, and writers refuse it."""
    ws, forger = trusted, Forger(trusted, keys)
    bundle = forger.registered(version(V1))
    seq = forger.append(
        "approval", {"name": NAME, "version": bundle["version"], "digest": "sha256:" + "cd" * 32, "env": "staging"}, "carol", registry=True
    )
    failure = f"log record seq {seq} (approval"
    words = ("approves support-triage@2026.11.01-1 (sha256:cdcdcdcdcdcd…) is not registered",)
    refused_by_integrity(ws, ("promote", V1, "--env", "staging", "--key", keys.path("pete")), failure, *words)
    refused_by_integrity(ws, ("gate", V1, "--env", "staging"), failure, *words)
    refused_by_integrity(ws, ("verify",), failure, "not registered")


def test_an_honest_log_still_verifies_and_its_gate_records_are_judged_equal(
    trusted: Workspace, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """The happy path's twin: approvals, a promotion, a canary, a rollback, all through bundlectl, verify everywhere."""
    ws = trusted
    ok(ws, "approve", V1, "--env", "staging", "--key", keys.path("carol"))
    ok(ws, "promote", V1, "--env", "staging", "--key", keys.path("pete"))
    ok(ws, "approve", V2, "--env", "staging", "--key", keys.path("bob"))
    ok(ws, "promote", V2, "--env", "staging", "--key", keys.path("pete"))
    ok(ws, "rollback", NAME, "--env", "staging", "--key", keys.path("pete"))
    ok(ws, "approve", V1, "--env", "production", "--key", keys.path("carol"))
    ok(ws, "promote", V1, "--env", "production", "--key", keys.path("pete"))
    assert ws.run("verify").exit_code == 0
    result = verify_elsewhere(ws, tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    statuses = json.loads(ws.run("status", "--json").stdout)
    assert statuses


def test_a_registration_whose_outcome_a_manifest_could_not_declare_is_malformed_not_a_crash(trusted: Workspace, keys: Keys):
    """Alice signs by hand a registration whose owner's target is text: the guard and drift read that number, so every
    reader refuses the record as malformed (exit 5, naming it) instead of crashing on it later (exit 70)."""
    ws, forger = trusted, Forger(trusted, keys)
    bundle = json.loads(json.dumps(forger.registered(version(V1))))
    bundle["version"] = bundle["record"]["version"] = "2026.12.01-1"
    bundle["record"]["metadata"]["version"] = "2026.12.01-1"
    bundle["record"]["metadata"]["outcome"] = {"metric": "resolved", "target": "high"}
    seq = forger.append("register", bundle, "alice", registry=True)
    for args in (("status", "support-triage"), ("verify",), ("register", "bundles/support-triage-v2", "--key", keys.path("alice"))):
        refused_by_integrity(ws, args, "is malformed: register field 'record' declares an outcome no manifest could", "target", "'high'")
    assert seq == len(forger.records())
