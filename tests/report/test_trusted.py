"""Under trust, the verdict shows the roles' thresholds and who signed each record the gate read, by the keys."""

from __future__ import annotations

from tests.conftest import V2, Workspace
from tests.trust.conftest import Keys, keys, ok, trusted  # noqa: F401 - the trust tests' fixtures


def test_the_verdict_names_signers_by_their_keys_against_the_trust_files_thresholds(trusted: Workspace, keys: Keys) -> None:  # noqa: F811
    ok(trusted, "approve", V2, "--env", "staging", "--key", keys.path("bob"))
    report = trusted.json("report", V2, "--env", "staging", "--actor", "pete@example.com")
    verdict = report["verdict"]
    assert verdict["passed"] is True and verdict["trust_set"] is True
    roles = {r["role"]: (r["threshold"], r["principals"]) for r in verdict["roles"]}
    assert roles["admins"] == (2, ["alice@example.com", "bob@example.com"])
    assert roles["runners"] == (1, ["ci@example.com"])
    signed = {s["record"].split(" (")[0]: s["principals"] for s in verdict["signatures"]}
    assert signed["eval report of 2026.11.22-1"] == ["ci@example.com"]
    assert signed["approval of bob@example.com"] == ["bob@example.com"]
    assert [e["signed_by"] for e in report["evidence"]] == [["ci@example.com"]]
    page = trusted.run("report", V2, "--env", "staging", "--actor", "pete@example.com").output
    assert "Signers against the trust file" in page and "ci@example.com" in page
