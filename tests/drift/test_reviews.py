"""Reviews signed by the owner, the owner's authority after two consecutive out-of-tolerance reviews, drift runs
signed by a runner, and `verify` re-deriving all of them (trust set, real ssh-keygen keys)."""

from __future__ import annotations

import json

import pytest

from bundlectl.registry.log import Planned, append
from bundlectl.trust.identity import acting
from tests.conftest import V2, Workspace
from tests.drift.conftest import NAME, POLICY, REF, register_stand_in
from tests.helpers import promptfoo_report
from tests.trust.conftest import Keys, ok, set_trust, trust_yaml, write

OWNER = "ops-triage@example.com"  # metadata.owner of the example bundle


def key(keys: Keys, name: str) -> list[str]:
    return ["--key", keys.path(name)]


def make_owned(ws: Workspace, keys: Keys, provenance: str = "run", before: str | None = None) -> Workspace:
    """Trust with the owner's key (an approver), the stand-in live in staging: registered by alice, run by ci,
    promoted by pete; `before`: an example bundle live there first."""
    set_trust(ws, keys, trust_yaml(keys, approvers=("bob", "owner"), lines={"owner": keys.line("owner", OWNER)}), "alice", "bob")
    register_stand_in(ws, *key(keys, "alice"))
    policy = write(
        ws, "policy.yaml", "apiVersion: bundlectl/v1\nkind: Policy\n" + POLICY.replace("ACTION", "notify").replace("PROVENANCE", provenance)
    )
    ok(ws, "policy", "set", policy, *key(keys, "alice"), *key(keys, "bob"))
    if before is not None:
        ok(ws, "register", "bundles/support-triage-v2", *key(keys, "alice"))
        ok(ws, "evidence", "add", before, promptfoo_report(ws, "v2"), *key(keys, "ci"))
        ok(ws, "promote", before, "--env", "staging", *key(keys, "pete"))
    ok(ws, "eval", REF, "--report", "report.json", *key(keys, "ci"))
    ok(ws, "promote", REF, "--env", "staging", *key(keys, "pete"))
    return ws


@pytest.fixture
def owned(git_registry: Workspace, keys: Keys, cases: None) -> Workspace:
    return make_owned(git_registry, keys)


def refused(ws: Workspace, args: list[str], message: str) -> None:
    before = ws.bundlectl_refs()
    result = ws.run(*args)
    assert result.exit_code != 0, result.output
    assert message in result.stderr and "Traceback" not in result.output, result.stderr
    assert ws.bundlectl_refs() == before


def review(ws: Workspace, keys: Keys, value: str, who: str = "owner") -> dict:
    result = ws.run("review", NAME, "--env", "staging", "--value", value, "--json", *key(keys, who))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_review_is_the_owners_signed_act(owned: Workspace, keys: Keys):
    args = ["review", NAME, "--env", "staging", "--value", "0.95"]
    refused(owned, [*args, *key(keys, "bob")], f"is not among the keys of the owner {OWNER}")
    refused(owned, [*args, *key(keys, "pete")], f"is not among the keys of the owner {OWNER}")
    noted = owned.run(*args, "--note", "monthly review", "--json", *key(keys, "owner"))
    assert noted.exit_code == 0, noted.output
    first = json.loads(noted.stdout)
    assert (first["in_tolerance"], first["owner"], first["owner_authority"]) == (True, OWNER, False)
    events = owned.json("history", NAME, "--env", "staging")["events"]
    assert (events[0]["action"], events[0]["actor"], events[0]["signed"], events[0]["value"]) == ("review", OWNER, True, 0.95)
    assert events[0]["reason"] == "monthly review"  # --note is the review's reason
    assert owned.run("verify").exit_code == 0


def test_the_owner_may_pause_only_after_the_second_consecutive_out_of_tolerance_review(owned: Workspace, keys: Keys):
    pause = ["pause", NAME, "--env", "staging", "--reason", "routing is wrong", "--as-owner"]
    refused(owned, [*pause, *key(keys, "owner")], "holds no authority")
    refused(owned, [*pause, "--dry-run", *key(keys, "owner")], "holds no authority")  # a dry run says what the act would
    assert review(owned, keys, "0.85")["owner_authority"] is False
    refused(owned, [*pause, *key(keys, "owner")], "2 consecutive reviews outside tolerance")
    assert review(owned, keys, "0.93")["in_tolerance"] is True  # back within: the count starts again
    assert review(owned, keys, "0.80")["owner_authority"] is False
    refused(owned, [*pause, *key(keys, "owner")], "holds no authority")
    status = owned.json("status")["environments"][0]
    assert status["owner_authority"] is None
    second = review(owned, keys, "0.84")
    assert second["owner_authority"] is True
    status = owned.json("status")["environments"][0]
    assert status["owner_authority"] == {"reviews": [second["seq"], second["seq"] - 1]}
    assert "owner authority in staging" in owned.run("status").stdout
    # not with another person's key, and not without claiming the authority (the owner is no promoter)
    refused(owned, [*pause, *key(keys, "bob")], f"is not among the keys of the owner {OWNER}")
    refused(owned, [*pause, *key(keys, "pete")], f"is not among the keys of the owner {OWNER}")
    refused(owned, [*pause[:-1], *key(keys, "owner")], "is not among the promoters of staging")
    refused(owned, [*pause, "--dry-run", *key(keys, "bob")], f"is not among the keys of the owner {OWNER}")
    before = owned.bundlectl_refs()
    assert owned.json(*pause, "--dry-run", *key(keys, "owner"))["dry_run"] is True
    assert owned.bundlectl_refs() == before
    ok(owned, *pause, *key(keys, "owner"))
    events = owned.json("history", NAME, "--env", "staging")["events"]
    assert (events[0]["action"], events[0]["actor"], events[0]["signed"]) == ("pause", OWNER, True)
    assert owned.run("verify").exit_code == 0


def test_a_forged_authority_signed_by_the_owner_fails_verify(owned: Workspace, keys: Keys):
    """An owner with write access appends a pause claiming reviews that were within tolerance: the signature is
    valid, the act was not allowed; verify re-derives the authority from the reviews and calls it tampering."""
    first, second = review(owned, keys, "0.95"), review(owned, keys, "0.85")
    storage = owned.storage()
    live = owned.json("status")["environments"][0]
    data = {
        "name": NAME,
        "env": "staging",
        "digest": live["digest"],
        "version": live["version"],
        "pointer_version": live["pointer_version"],
        "authority": {"owner": OWNER, "reviews": [second["seq"], first["seq"]]},
    }
    append(storage, lambda index: Planned("pause", data), acting(None, [keys.path("owner")]), "forged")  # type: ignore[arg-type]
    result = owned.run("verify")
    assert result.exit_code == 5 and "claims the owner's authority on reviews" in result.stderr


def test_a_forged_review_value_fails_verify(owned: Workspace, keys: Keys):
    live = owned.json("status")["environments"][0]
    data = {
        "name": NAME,
        "env": "staging",
        "digest": live["digest"],
        "version": live["version"],
        "owner": OWNER,
        "metric": "correct_route_rate",
        "value": 0.5,
        "in_tolerance": True,
    }
    append(owned.storage(), lambda index: Planned("review", data), acting(None, [keys.path("owner")]))  # type: ignore[arg-type]
    result = owned.run("verify")
    assert result.exit_code == 5 and "its in_tolerance disagree" in result.stderr


def test_a_drift_run_is_signed_by_the_runner_that_applied_it(owned: Workspace, keys: Keys, monkeypatch: pytest.MonkeyPatch):
    args = ["drift", NAME, "--env", "staging", "--report", "report.json", "--apply"]
    refused(owned, [*args, *key(keys, "bob")], "(bob@example.com) is not among the runners or promoters of staging")
    monkeypatch.setenv("DRIFT_FLIP", "15")
    result = owned.run(*args, "--json", *key(keys, "ci"))
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout)
    events = owned.json("history", NAME, "--env", "staging")["events"]
    assert (events[0]["seq"], events[0]["action"], events[0]["actor"], events[0]["signed"]) == (found["seq"], "drift", "ci@example.com", True)
    assert owned.run("verify").exit_code == 0
    # a second record over the same run, edited to say stable, is a forged transition (tests/drift/test_forged_drift.py
    # forges one over a run of its own)
    forged = {k: v for k, v in events[0].items() if k in ("digest", "version", "baseline", "run", "alpha", "figures")}
    forged["figures"] = {**forged["figures"], "decision": "stable", "flipped": []}
    append(
        owned.storage(),
        lambda index: Planned(
            "drift",
            {
                "name": NAME,
                "env": "staging",
                **forged,
                "decision": "stable",  # type: ignore[arg-type]
                "action": "none",
            },
        ),
        acting(None, [keys.path("ci")]),
    )
    result = owned.run("verify")
    assert result.exit_code == 5 and f"names run {found['run']}, which drift record {found['seq']} already counted" in result.stderr


def test_review_needs_a_value_and_a_live_bundle(owned: Workspace, keys: Keys):
    refused(owned, ["review", NAME, "--env", "staging", *key(keys, "owner")], "either --value X or --from-guard SOURCE")
    refused(owned, ["review", NAME, "--env", "production", "--value", "0.9", *key(keys, "owner")], "nothing of support-triage is live in production")


def test_a_pausing_policy_needs_a_promoter_to_apply_it(owned: Workspace, keys: Keys):
    policy = write(owned, "policy.yaml", "apiVersion: bundlectl/v1\nkind: Policy\n" + POLICY.replace("ACTION", "pause").replace("PROVENANCE", "run"))
    ok(owned, "policy", "set", policy, *key(keys, "alice"), *key(keys, "bob"))
    args = ["drift", NAME, "--env", "staging", "--report", "report.json", "--apply"]
    refused(owned, [*args, *key(keys, "ci")], "(ci@example.com) is not among the promoters of staging")
    ok(owned, *args, *key(keys, "pete"))


def test_the_owner_may_roll_back_after_two_bad_reviews_and_verify_agrees(git_registry: Workspace, keys: Keys, cases: None):
    owned = make_owned(git_registry, keys, provenance="any", before=V2)
    rollback = ["rollback", NAME, "--env", "staging", "--reason", "route rate too low", "--as-owner"]
    review(owned, keys, "0.85")
    refused(owned, [*rollback, *key(keys, "owner")], "holds no authority")
    review(owned, keys, "0.86")
    refused(owned, [*rollback, *key(keys, "bob")], f"is not among the keys of the owner {OWNER}")
    ok(owned, *rollback, *key(keys, "owner"))
    live = owned.json("status")["environments"][0]
    assert (live["version"], live["by"], live["by_signed"], live["owner_authority"]) == (V2.split("@")[1], OWNER, True, None)
    assert owned.run("verify").exit_code == 0
