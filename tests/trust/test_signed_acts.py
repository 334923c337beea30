"""Once trust is set: every act signed by a key allowed for it, the signer's principal recorded, approvals that count."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import V1, V2, Workspace
from tests.helpers import promptfoo_report, suite_cases
from tests.trust.conftest import Keys, ok, set_trust, trust_yaml, write


def key(keys: Keys, name: str) -> list[str]:
    return ["--key", keys.path(name)]


def gate(ws: Workspace, ref: str, env: str, *args: str) -> dict:
    result = ws.run("gate", ref, "--env", env, "--json", *args)
    return {c["name"]: c for c in json.loads(result.stdout)["checks"]}


def refused_with_nothing_written(ws: Workspace, args: list[str], message: str) -> None:
    before = ws.bundlectl_refs()
    result = ws.run(*args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr and "nothing was written" in result.stderr, result.stderr
    assert "Traceback" not in result.output
    assert ws.bundlectl_refs() == before


def test_unsigned_and_wrong_role_acts_are_refused_with_nothing_written(trusted: Workspace, keys: Keys):
    report = promptfoo_report(trusted, "v1", name="another.json")
    ok(trusted, "new", "faq-bot")
    cases = [
        (["register", "bundles/faq-bot"], "register must be signed by one of the keys of the trust file"),
        (["register", "bundles/faq-bot", *key(keys, "mallory")], "which the trust file does not name"),
        (["evidence", "add", V1, report], "adding evidence must be signed"),
        (["evidence", "add", V1, report, *key(keys, "mallory")], "which the trust file does not name"),
        (["approve", V1, "--env", "staging"], "approve must be signed by one of the approvers"),
        (["approve", V1, "--env", "staging", *key(keys, "pete")], "(pete@example.com) is not among the approvers"),
        (["promote", V1, "--env", "staging"], "promote must be signed by one of the promoters of staging"),
        (["promote", V1, "--env", "staging", *key(keys, "carol")], "(carol@example.com) is not among the promoters of staging"),
        (["promote", V1, "--env", "production", *key(keys, "alice")], "is not among the promoters of production"),
    ]
    for args, message in cases:
        refused_with_nothing_written(trusted, args, message)
    ok(trusted, "approve", V1, "--env", "staging", *key(keys, "carol"))
    ok(trusted, "promote", V1, "--env", "staging", *key(keys, "pete"))
    ok(trusted, "approve", V2, "--env", "staging", *key(keys, "carol"))
    ok(trusted, "promote", V2, "--env", "staging", *key(keys, "pete"))
    for args, message in [
        (["rollback", "support-triage", "--env", "staging"], "rollback must be signed"),
        (["rollback", "support-triage", "--env", "staging", *key(keys, "bob")], "is not among the promoters"),
        (["rollback", "support-triage", "--env", "staging", "--rehearse", *key(keys, "ci")], "is not among"),
    ]:
        refused_with_nothing_written(trusted, args, message)
    assert trusted.run("verify").exit_code == 0


def test_pause_and_resume_are_a_promoters_signed_acts(trusted: Workspace, keys: Keys):
    ok(trusted, "approve", V1, "--env", "staging", *key(keys, "carol"))
    ok(trusted, "promote", V1, "--env", "staging", *key(keys, "pete"))
    pause = ["pause", "support-triage", "--env", "staging", "--reason", "bad answers"]
    refused_with_nothing_written(trusted, pause, "pause must be signed by one of the promoters of staging")
    refused_with_nothing_written(trusted, [*pause, *key(keys, "carol")], "(carol@example.com) is not among the promoters of staging")
    refused_with_nothing_written(
        trusted, [*pause, *key(keys, "alice"), "--actor", "someone-else@example.com"], "is not the principal of the signing key (alice@example.com)"
    )
    # a dry run is refused as the act would be, not "would pause" (and nothing is written either way)
    refused_with_nothing_written(trusted, [*pause, "--dry-run"], "pause must be signed by one of the promoters of staging")
    refused_with_nothing_written(trusted, [*pause, "--dry-run", *key(keys, "carol")], "(carol@example.com) is not among the promoters of staging")
    before = trusted.bundlectl_refs()
    dry = trusted.json(*pause, "--dry-run", *key(keys, "alice"))
    assert (dry["dry_run"], dry["paused"], trusted.bundlectl_refs()) == (True, True, before)
    ok(trusted, *pause, *key(keys, "alice"))
    refused_with_nothing_written(trusted, ["resume", "support-triage", "--env", "staging", *key(keys, "ci")], "is not among the promoters of staging")
    refused_with_nothing_written(
        trusted, ["resume", "support-triage", "--env", "staging", "--dry-run", *key(keys, "ci")], "is not among the promoters of staging"
    )
    ok(trusted, "resume", "support-triage", "--env", "staging", *key(keys, "pete"))
    events = trusted.json("history", "support-triage", "--env", "staging")["events"]
    assert [(e["action"], e["actor"], e["signed"]) for e in events[:2]] == [
        ("resume", "pete@example.com", True),
        ("pause", "alice@example.com", True),
    ]
    assert "(claimed)" not in trusted.run("history", "support-triage", "--env", "staging").stdout
    assert trusted.run("verify").exit_code == 0


def test_canaries_are_a_promoters_signed_acts(trusted: Workspace, keys: Keys):
    for ref in (V1, V2):
        ok(trusted, "approve", ref, "--env", "staging", *key(keys, "carol"))
    ok(trusted, "promote", V1, "--env", "staging", *key(keys, "pete"))
    canary = ["promote", V2, "--env", "staging", "--canary", "10"]
    refused_with_nothing_written(trusted, canary, "canary must be signed by one of the promoters of staging")
    refused_with_nothing_written(trusted, [*canary, *key(keys, "carol")], "(carol@example.com) is not among the promoters of staging")
    ok(trusted, *canary, *key(keys, "alice"))
    refused_with_nothing_written(
        trusted, ["rollback", "support-triage", "--env", "staging", *key(keys, "ci")], "is not among the promoters of staging"
    )
    ok(trusted, "rollback", "support-triage", "--env", "staging", *key(keys, "pete"))
    events = trusted.json("history", "support-triage", "--env", "staging")["events"]
    assert [(e["action"], e["actor"], e["signed"]) for e in events[:2]] == [
        ("canary-rollback", "pete@example.com", True),
        ("canary", "alice@example.com", True),
    ]
    assert trusted.run("verify").exit_code == 0


def test_the_recorded_actor_is_the_signers_principal_never_a_claim(trusted: Workspace, keys: Keys, monkeypatch):
    ok(trusted, "approve", V1, "--env", "staging", *key(keys, "carol"))
    monkeypatch.setenv("BUNDLECTL_ACTOR", "someone-else@example.com")
    ok(trusted, "promote", V1, "--env", "staging", *key(keys, "pete"))
    [move] = trusted.json("history", "support-triage", "--env", "staging")["events"]
    assert (move["actor"], move["signed"]) == ("pete@example.com", True)
    [live] = trusted.json("status")["environments"]
    assert (live["by"], live["by_signed"]) == ("pete@example.com", True)
    assert trusted.json("status")["trust"]["set"] is True
    assert [b["registered_by"] for b in trusted.json("list")["bundles"]] == ["alice@example.com"] * 2
    refused = trusted.run("promote", V2, "--env", "staging", "--actor", "carol@example.com", *key(keys, "pete"))
    assert refused.exit_code == 1 and "--actor carol@example.com is not the principal of the signing key (pete@example.com)" in refused.stderr
    human = trusted.run("status").output
    assert "pete@example.com" in human and "(claimed)" not in human and "no trust set" not in human


def test_spoofed_self_approval_does_not_count_and_a_valid_one_does(registry: Workspace, keys: Keys, monkeypatch):
    """Alice registers V2 and may approve; she tries to approve it as bob, carol and dave: none of it counts."""
    set_trust(registry, keys, trust_yaml(keys, approvers=("alice", "bob", "carol")), "alice", "bob")
    ok(registry, "register", "bundles/support-triage-v2", *key(keys, "alice"))
    policy = write(
        registry,
        "policy.yaml",
        "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {gates: {approvals: {min: 1, exclude_author: true}}}\n",
    )
    ok(registry, "policy", "set", policy, *key(keys, "alice"), *key(keys, "bob"))

    refused = registry.run("approve", V2, "--env", "staging", "--actor", "bob@example.com", *key(keys, "alice"))
    assert refused.exit_code == 1 and "--actor bob@example.com is not the principal" in refused.stderr
    monkeypatch.setenv("BUNDLECTL_ACTOR", "carol@example.com")
    assert "alice@example.com approved" in ok(registry, "approve", V2, "--env", "staging", *key(keys, "alice"))
    monkeypatch.delenv("BUNDLECTL_ACTOR")
    registry.repo.git.config("user.email", "dave@example.com")
    assert "alice@example.com had already approved" in ok(registry, "approve", V2, "--env", "staging", *key(keys, "alice"))

    checks = gate(registry, V2, "staging", *key(keys, "pete"))
    assert checks["approvals"]["passed"] is False and checks["approvals"]["value"] == 0
    assert "not counted (author or promoter): alice@example.com" in checks["approvals"]["detail"]
    refused = registry.run("promote", V2, "--env", "staging", *key(keys, "pete"))
    assert refused.exit_code == 1 and "approvals" in refused.output

    # pete promotes, so pete's approval would not count either; carol's does
    ok(registry, "approve", V2, "--env", "staging", *key(keys, "carol"))
    checks = gate(registry, V2, "staging", *key(keys, "pete"))
    assert checks["approvals"]["passed"] is True and checks["approvals"]["detail"].startswith("approved by carol@example.com;")
    assert gate(registry, V2, "staging", *key(keys, "carol"))["approvals"]["passed"] is False  # carol as the promoter
    ok(registry, "promote", V2, "--env", "staging", *key(keys, "pete"))
    assert registry.run("verify").exit_code == 0


def test_policy_changes_need_the_admins_threshold(trusted: Workspace, keys: Keys):
    lax = write(trusted, "lax.yaml", "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {gates: {}}\n  production: {gates: {}}\n")
    refused_with_nothing_written(trusted, ["policy", "set", lax], "policy set must be signed by 2 of the admins")
    refused_with_nothing_written(trusted, ["policy", "set", lax, *key(keys, "pete"), *key(keys, "alice")], "is not among the admins")
    ok(trusted, "policy", "set", lax, *key(keys, "alice"), *key(keys, "bob"))
    assert trusted.json("policy", "show")["policy"]["environments"]["staging"]["gates"]["approvals"] is None


def test_key_rotation_stops_a_removed_keys_approvals_counting(trusted: Workspace, keys: Keys):
    """carol's key is compromised: the admins replace it; her old approvals no longer count, history still verifies."""
    ok(trusted, "approve", V1, "--env", "staging", *key(keys, "carol"))
    assert gate(trusted, V1, "staging", *key(keys, "pete"))["approvals"]["passed"] is True
    before = trusted.json("trust", "show")
    rotated = trust_yaml(keys, lines={"carol": keys.line("carol-2", "carol@example.com")})
    set_trust(trusted, keys, rotated, "alice", "bob")
    after = trusted.json("trust", "show")
    assert after["root"] == before["root"] == before["digest"] != after["digest"] and after["since"] == before["since"]

    approvals = gate(trusted, V1, "staging", *key(keys, "pete"))["approvals"]
    assert approvals["passed"] is False
    assert "not counted (not signed by a key that is an approver now): carol@example.com" in approvals["detail"]
    refused_with_nothing_written(
        trusted, ["approve", V1, "--env", "staging", *key(keys, "carol")], "which the trust file does not name, is not among the approvers"
    )
    ok(trusted, "approve", V1, "--env", "staging", *key(keys, "carol-2"))  # the same principal, the new key: a new approval
    assert gate(trusted, V1, "staging", *key(keys, "pete"))["approvals"]["passed"] is True
    ok(trusted, "promote", V1, "--env", "staging", *key(keys, "pete"))
    verified = trusted.json("verify")
    assert verified["trust_since"] is not None and verified["signed"] == verified["events"] - verified["trust_since"] + 1


def test_a_policy_may_demand_evals_signed_by_runners(trusted: Workspace, keys: Keys):
    strict = write(
        trusted,
        "strict.yaml",
        "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n"
        "  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8, signed_by: runners}}}\n",
    )
    ok(trusted, "policy", "set", strict, *key(keys, "alice"), *key(keys, "bob"))
    assert gate(trusted, V2, "staging")["eval.pass_rate"]["passed"] is True  # ci added V2's evidence in the fixture
    ok(trusted, "evidence", "add", V2, promptfoo_report(trusted, "v2", timedelta(minutes=5), "newer.json"), *key(keys, "alice"))
    newest, runners = trusted.json("evidence", "list", V2, "--env", "staging")["evidence"]
    assert (newest["counts"], runners["counts"]) == (False, True)
    assert "not signed by a runner key of the trust in force" in newest["why"]
    assert gate(trusted, V2, "staging")["eval.fresh"]["detail"].endswith("is 1h old")  # the runner's run, not alice's
    unsigned = write(
        trusted, "p2.yaml", "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n"
    )
    ok(trusted, "policy", "set", unsigned, *key(keys, "alice"), *key(keys, "bob"))
    assert gate(trusted, V2, "staging")["eval.fresh"]["detail"].endswith("is 5m old")


def test_bundlectl_eval_signed_by_a_runner_counts(trusted: Workspace, keys: Keys, monkeypatch):
    from tests.cli.test_eval import NATIVE_HARNESS

    strict = write(
        trusted,
        "strict.yaml",
        "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n"
        "  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8, signed_by: runners}}}\n",
    )
    ok(trusted, "policy", "set", strict, *key(keys, "alice"), *key(keys, "bob"))
    monkeypatch.setenv("CASES", json.dumps(suite_cases("v1")))
    harness = [sys.executable, "-c", NATIVE_HARNESS]
    before = trusted.bundlectl_refs()
    refused = trusted.run("eval", V1, "--report", "report.json", *key(keys, "mallory"), "--", *harness)
    assert refused.exit_code == 1 and "nothing was written" in refused.stderr and "harness ran" not in refused.output
    assert trusted.bundlectl_refs() == before
    ok(trusted, "eval", V1, "--report", "report.json", *key(keys, "ci"), "--", *harness)
    assert gate(trusted, V1, "staging")["eval.pass_rate"]["passed"] is True


def test_without_trust_everything_works_and_identities_are_claimed(registered: Workspace, keys: Keys):
    ok(registered, "policy", "set", write(registered, "p.yaml", "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {gates: {}}\n"))
    assert "bob@example.com (claimed) approved" in ok(registered, "approve", V1, "--env", "staging", "--actor", "bob@example.com")
    ok(registered, "promote", V1, "--env", "staging", *key(keys, "alice"))  # a key is not needed, and not held against it
    status = ok(registered, "status")
    assert "tester@example.com (claimed)" in status and "this registry has no trust set" in status
    assert "tester@example.com (claimed)" in ok(registered, "history", "support-triage", "--env", "staging")
    assert registered.json("status")["trust"] == {"set": False, "since": None}
    assert "(claimed)" in ok(registered, "list")
    assert "no trust set" in ok(registered, "verify")
    assert registered.run("trust", "show").exit_code == 4


def test_ci_identity_and_run_url_are_recorded(registered: Workspace, monkeypatch: pytest.MonkeyPatch):
    for variable, value in {
        "GITHUB_ACTIONS": "true",
        "GITHUB_ACTOR": "octocat",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/triage",
        "GITHUB_RUN_ID": "42",
        "GITHUB_RUN_ATTEMPT": "2",
    }.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.delenv("BUNDLECTL_ACTOR")
    ok(registered, "evidence", "add", V1, promptfoo_report(registered, "v1"))
    monkeypatch.delenv("GITHUB_ACTIONS")
    for variable, value in {
        "GITLAB_CI": "true",
        "GITLAB_USER_EMAIL": "gl@example.com",
        "CI_JOB_URL": "https://gitlab.example.com/acme/triage/-/jobs/7",
    }.items():
        monkeypatch.setenv(variable, value)
    ok(registered, "evidence", "add", V2, promptfoo_report(registered, "v2"))
    storage = registered.storage()
    records = [json.loads(e.payload) for e in storage.events_after(None, storage.log_head())][-2:]
    assert [(r["actor"], r["run_url"]) for r in records] == [
        ("github:octocat", "https://github.com/acme/triage/actions/runs/42/attempts/2"),
        ("gl@example.com", "https://gitlab.example.com/acme/triage/-/jobs/7"),
    ]
    assert registered.run("verify").exit_code == 0


def test_log_commits_carry_the_actor(git_registered: Workspace, keys: Keys):
    set_trust(git_registered, keys, trust_yaml(keys), "alice", "bob")
    ok(git_registered, "approve", V1, "--env", "staging", *key(keys, "carol"))
    authors = git_registered.repo.git.log("--format=%an <%ae>|%cn <%ce>", "refs/bundlectl/log").splitlines()
    assert authors[0] == "carol@example.com <carol@example.com>|carol@example.com <carol@example.com>"
    assert authors[1].startswith("alice@example.com, bob@example.com <alice@example.com>|")
    assert authors[-1].startswith("tester@example.com <tester@example.com>|")  # claimed, before trust
    assert not any("bundlectl@localhost" in a for a in authors)


def test_registry_copy_keeps_every_signature(trusted: Workspace, keys: Keys, tmp_path: Path):
    ok(trusted, "approve", V1, "--env", "staging", *key(keys, "carol"))
    ok(trusted, "promote", V1, "--env", "staging", *key(keys, "pete"))
    target = tmp_path / "copy.git"
    ok(trusted, "registry", "copy", trusted.storage().url if trusted.backend == "s3" else str(trusted.root), str(target))
    copied, source = trusted.json("verify", "--registry", str(target)), trusted.json("verify")
    assert copied["signed"] == source["signed"] + 1 > 1  # and the sandbox's own (unsigned) registry record
    assert copied["copy_of"] == source["registry"] != copied["registry"]


def test_signed_writers_racing_all_land_and_the_log_verifies(trusted: Workspace, keys: Keys):
    """Each writer that loses the race re-plans, signs its record again (it names the new head) and moves the head pointer."""
    import subprocess

    acts = [(who, ref, env) for who in ("bob", "carol") for ref in (V1, V2) for env in ("staging", "production")]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bundlectl", "approve", ref, "--env", env, *key(keys, who)],
            cwd=trusted.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who, ref, env in acts
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert [code for code, _ in outcomes] == [0] * len(acts), outcomes
    verified = trusted.json("verify")
    assert verified["signed"] == verified["events"] - verified["trust_since"] + 1
    approvals = {(a["actor"], a["env"]) for a in _approval_records(trusted)}
    assert approvals == {(f"{who}@example.com", env) for who, _, env in acts}


def _approval_records(ws: Workspace) -> list[dict]:
    storage = ws.storage()
    payloads = [e.payload.split(b"\n-----BEGIN SSH SIGNATURE-----")[0] for e in storage.events_after(None, storage.log_head())]
    return [{"actor": r["actor"], **r["data"]} for r in map(json.loads, payloads) if r["action"] == "approval"]


def test_the_guards_apply_is_a_promoters_signed_act(trusted: Workspace, keys: Keys, tmp_path: Path):
    """`guard --apply` under trust: without a promoter's key its decision is printed and nothing is written."""
    ok(trusted, "approve", V1, "--env", "staging", *key(keys, "carol"))
    ok(trusted, "approve", V2, "--env", "staging", *key(keys, "carol"))
    ok(trusted, "promote", V1, "--env", "staging", *key(keys, "pete"))
    ok(trusted, "promote", V2, "--env", "staging", "--canary", "50", "--step-time", "0m", *key(keys, "alice"))
    [step] = trusted.json("history", "support-triage", "--env", "staging")["events"][:1]
    digests = {arm: trusted.json("show", ref)["digest"] for arm, ref in (("live", V1), ("candidate", V2))}
    log = tmp_path / "requests.jsonl"
    log.write_text(
        "".join(
            json.dumps(
                {
                    "request.id": f"r{i}-{arm}",
                    "bundle.name": "support-triage",
                    "bundle.env": "staging",
                    "bundle.digest": digests[arm],
                    "bundle.arm": arm,
                    "bundle.canary": step["seq"],
                    "outcome": {"ok": True, "escalated": i % 10 == 0, "latency_ms": 700 + i % 50},
                }
            )
            + "\n"
            for i in range(400)
            for arm in ("live", "candidate")
        )
    )  # equal arms: "complete"
    guard = [
        "guard",
        "support-triage",
        "--env",
        "staging",
        "--source",
        str(log),
        "--min-sample",
        "100",
        "--max-sample",
        "400",
        "--apply",
    ]  # equal arms complete once the step time (0m) and the maximum sample have passed
    for extra, message in [
        ([], "promote must be signed by one of the promoters of staging"),
        (key(keys, "carol"), "(carol@example.com) is not among the promoters of staging"),
    ]:
        before = trusted.bundlectl_refs()
        result = trusted.run(*guard, *extra)
        assert result.exit_code == 1 and "COMPLETE" in result.stdout and message in result.stderr, result.output
        assert trusted.bundlectl_refs() == before
    ok(trusted, *guard, *key(keys, "pete"))
    [done] = trusted.json("history", "support-triage", "--env", "staging")["events"][:1]
    assert (done["action"], done["actor"], done["signed"], done["guard"]["decision"]) == ("promote", "pete@example.com", True, "complete")
    assert trusted.run("verify").exit_code == 0


def test_a_rollback_bundle_registered_only_is_a_signed_registration(trusted: Workspace, keys: Keys):
    """`rollback --component K --register-only` writes a `register` record: under trust it needs a key of the trust file,
    and the bundle it builds has no evidence of its own, so the gate still refuses it until some is added."""
    for ref in (V1, V2):
        ok(trusted, "approve", ref, "--env", "staging", *key(keys, "carol"))
        ok(trusted, "promote", ref, "--env", "staging", *key(keys, "pete"))
    build = ["rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--register-only"]
    refused_with_nothing_written(trusted, build, "register must be signed by one of the keys of the trust file")
    refused_with_nothing_written(trusted, [*build, *key(keys, "mallory")], "which the trust file does not name")
    built = json.loads(ok(trusted, *build, "--json", *key(keys, "alice")))
    version = built["version"]
    [row] = [b for b in trusted.json("list")["bundles"] if b["version"] == version]
    assert row["registered_by"] == "alice@example.com" and built["moved"] is False
    refused = trusted.run("promote", f"support-triage@{version}", "--env", "staging", *key(keys, "pete"))
    assert refused.exit_code == 1 and "eval" in refused.output
    assert trusted.run("verify").exit_code == 0
