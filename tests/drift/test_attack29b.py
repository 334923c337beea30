"""Hostile review of the drift rule (issue 29): a runner who signs, with plain git (or S3 calls) and `ssh-keygen`, a
`stable` drift record over a run that is not a new run of the live bundle's harness keeps the schedule quiet without
any re-run; every reader refuses it. And a drift record signed long after its run keeps the schedule no fresher."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest

from bundlectl import api
from bundlectl.foundation.clock import now_utc, rfc3339
from tests.conftest import Workspace
from tests.drift.conftest import NAME, REF
from tests.drift.test_forged_drift import honest_stable_drift, owned_anywhere, stored_run  # noqa: F401  (fixture)
from tests.drift.test_reviews import key, owned  # noqa: F401  (fixture)
from tests.trust.conftest import Keys, ok
from tests.trust.forge import Forger
from tests.trust.test_forged_transitions import refused_by_integrity

OLD = "2026-01-01T00:00:00Z"  # before the bundle went live


def evidence_of(forger: Forger, seq: int) -> dict[str, Any]:
    return dict(next(r["data"] for r in forger.records() if r["action"] == "evidence" and r["seq"] == seq))


def stored_report(forger: Forger, seq: int) -> dict[str, Any]:
    """The raw report evidence SEQ names, read from the registry with plain git or S3 calls."""
    key = evidence_of(forger, seq)["report_key"]
    if forger.ws.backend == "git":
        return dict(json.loads(forger._git("cat-file", "blob", f"refs/bundlectl/objects/{key}")))
    client, bucket, prefix = forger._s3()
    return dict(json.loads(client.get_object(Bucket=bucket, Key=f"{prefix}/objects/{key}")["Body"].read()))


def drift_over(forger: Forger, honest: dict[str, Any], run: int, at: str | None = None) -> int:
    """The honest stable record's fields (figures, decision, action) over another run, signed by the runner ci."""
    record = next(r["data"] for r in forger.records() if r["action"] == "drift" and r["seq"] == honest["seq"])
    return forger.append("drift", {**record, "run": run}, "ci", at=at)


def resigned_admitting_run(forger: Forger, honest: dict[str, Any]) -> tuple[int, str]:
    """The admitting run's evidence record signed again: the same stored report, a new seq after the bundle went live."""
    return forger.append("evidence", evidence_of(forger, honest["baseline"]), "ci"), f"evidence {honest['baseline']} already holds"


def attached_report(forger: Forger, honest: dict[str, Any]) -> tuple[int, str]:
    """A report of the admitting run's outcomes dated now, given to `evidence add` (attached: no run was measured)."""
    report = stored_report(forger, honest["run"])  # what the honest drift run stored
    report["run_at"] = rfc3339(now_utc())
    path = forger.ws.root / "attached.json"
    path.write_text(json.dumps(report))
    ok(forger.ws, "evidence", "add", REF, str(path), *key(forger.keys, "ci"))
    run = int(next(r["seq"] for r in reversed(forger.records()) if r["action"] == "evidence"))
    return run, "which is not a run of the harness support-triage@2026.11.01-7 declares, measured by bundlectl"


def run_from_before_live(forger: Forger, honest: dict[str, Any]) -> int:
    """A run of the harness with its times (report and measured) set to before the bundle went live, stored now."""
    from bundlectl.evidence.importers import import_report
    from bundlectl.evidence.report import run_identity  # the run id the docs describe, as anyone can compute it

    report = stored_report(forger, honest["run"])
    report["run_at"] = OLD
    data = json.dumps(report).encode()
    record = evidence_of(forger, honest["run"])
    provenance = {
        **record["provenance"],
        "report_time": OLD,
        "started_at": OLD,
        "ended_at": "2026-01-01T00:01:00Z",
        "run_id": run_identity(import_report(data, "report.json", "native")),
    }
    forged = {**record, "run_at": OLD, "report_key": "reports/" + hashlib.sha256(data).hexdigest(), "provenance": provenance}
    return forger.append("evidence", forged, "ci", report=data)


NOT_NEW_RUNS = {"resigned-admitting-run": resigned_admitting_run, "attached-report": attached_report}


@pytest.mark.parametrize("forgery", NOT_NEW_RUNS)
def test_a_stable_drift_record_over_a_run_that_is_not_a_new_harness_run_is_refused(
    owned_anywhere: Workspace,  # noqa: F811
    keys: Keys,
    forgery: str,
    monkeypatch: pytest.MonkeyPatch,
):
    ws, forger = owned_anywhere, Forger(owned_anywhere, keys)
    honest = honest_stable_drift(ws, keys)
    monkeypatch.setenv("DRIFT_FLIP", "12")  # the provider changed since: a real re-run would find drift
    run, why = NOT_NEW_RUNS[forgery](forger, honest)
    assert ws.run("verify").exit_code == 0, "the evidence record alone is a valid transition"
    seq = drift_over(forger, honest, run)
    failure = f"log record seq {seq} (drift"
    refused_by_integrity(ws, ("status", "--check"), failure, why)
    refused_by_integrity(ws, ("drift", NAME, "--env", "staging", "--report", "report.json", "--apply", *key(keys, "ci")), failure, why)
    refused_by_integrity(ws, ("verify",), failure, why)


def test_the_schedule_counts_from_when_the_run_ran_not_when_its_record_was_signed(owned: Workspace, keys: Keys):  # noqa: F811
    ws, forger = owned, Forger(owned, keys)
    honest = honest_stable_drift(ws, keys)
    run = stored_run(forger)  # a harness run of the live bundle, stored now and counted by no drift record
    later = (now_utc() + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    seq = drift_over(forger, honest, run, at=later)  # signed (or dated) 20 days after the run
    assert ws.run("verify").exit_code == 0  # a valid record: only how fresh it keeps the schedule is at stake
    row = api.status_report(NAME, now=now_utc() + timedelta(days=21)).environments[0]
    missed = [p for p in row.problems if p.startswith("drift: missed schedule")]
    assert len(missed) == 1 and f"(seq {seq})" in missed[0] and "wants one every 7d" in missed[0], row.problems


def test_a_run_counted_in_one_environment_is_not_counted_again_in_another(owned: Workspace, keys: Keys):  # noqa: F811
    """The bundle live in staging and production, admitted by the same run: staging's honest drift run, named again by
    a production drift record (same baseline, same figures), would keep production's schedule fresh with no run of its own."""
    from tests.drift.conftest import POLICY
    from tests.trust.conftest import write

    ws, forger = owned, Forger(owned, keys)
    staging = POLICY.replace("ACTION", "notify").replace("PROVENANCE", "run")
    both = staging + staging.split("\n", 1)[1].replace("  staging:", "  production:")
    ok(ws, "policy", "set", write(ws, "policy.yaml", "apiVersion: bundlectl/v1\nkind: Policy\n" + both), *key(keys, "alice"), *key(keys, "bob"))
    ok(ws, "promote", REF, "--env", "production", *key(keys, "pete"))
    honest = honest_stable_drift(ws, keys)  # staging's run
    record = next(r["data"] for r in forger.records() if r["action"] == "drift" and r["seq"] == honest["seq"])
    seq = forger.append("drift", {**record, "env": "production"}, "ci")
    why = f"names run {honest['run']}, which drift record {honest['seq']} already counted"
    refused_by_integrity(ws, ("status", "--check"), f"log record seq {seq} (drift", why)
    refused_by_integrity(ws, ("verify",), f"log record seq {seq} (drift", why)


def test_a_run_from_before_the_bundle_went_live_keeps_no_schedule_fresh(owned_anywhere: Workspace, keys: Keys):  # noqa: F811
    """A harness run whose times (report and measured) are months old, stored and counted now: the record is a valid
    transition (a skewed promoter's clock makes "before it went live" unjudgeable), but the schedule counts from when
    the run ran, so `status --check` says the schedule was missed."""
    ws, forger = owned_anywhere, Forger(owned_anywhere, keys)
    honest = honest_stable_drift(ws, keys)
    seq = drift_over(forger, honest, run_from_before_live(forger, honest))
    assert ws.run("verify").exit_code == 0
    check = ws.run("status", "--check")
    assert check.exit_code == 1, check.output
    assert f"drift: missed schedule: the last drift run was at {OLD} (seq {seq})" in check.output, check.output


def test_where_only_runners_measure_a_promoters_drift_run_keeps_no_schedule(owned_anywhere: Workspace, keys: Keys):  # noqa: F811
    """Under `signed_by: runners` the eval gate counts no report a promoter signed; a drift run is such a report. The
    promoter's own `drift --apply` writes no drift record, and one they sign by hand over their run is refused."""
    from tests.drift.conftest import POLICY
    from tests.trust.conftest import write

    ws, forger = owned_anywhere, Forger(owned_anywhere, keys)
    runners_only = POLICY.replace("ACTION", "notify").replace("PROVENANCE", "run").replace("max_age: 30d", "max_age: 30d, signed_by: runners")
    policy = write(ws, "policy.yaml", "apiVersion: bundlectl/v1\nkind: Policy\n" + runners_only)
    ok(ws, "policy", "set", policy, *key(keys, "alice"), *key(keys, "bob"))
    honest = honest_stable_drift(ws, keys)  # the runner ci: counted
    before = [r["seq"] for r in forger.records() if r["action"] == "drift"]
    result = ws.run("drift", NAME, "--env", "staging", "--report", "report.json", "--apply", *key(keys, "pete"))
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert "the eval gate of staging would not count it (not signed by a runner key" in result.stderr, result.stderr
    assert "no drift record was written" in result.stderr
    assert [r["seq"] for r in forger.records() if r["action"] == "drift"] == before
    run = int(next(r["seq"] for r in reversed(forger.records()) if r["action"] == "evidence"))  # pete's stored run
    assert ws.run("status", "--check").exit_code == 0
    record = next(r["data"] for r in forger.records() if r["action"] == "drift" and r["seq"] == honest["seq"])
    seq = forger.append("drift", {**record, "run": run}, "pete")
    why = f"names run {run}, which the eval gate of staging would not count: not signed by a runner key"
    refused_by_integrity(ws, ("status", "--check"), f"log record seq {seq} (drift", why)
    refused_by_integrity(ws, ("verify",), f"log record seq {seq} (drift", why)
