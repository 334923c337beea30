"""Editing, dropping or reordering any past log record, or touching pointers and objects, fails verify (exit 5)."""

import json

import pytest

from bundlectl.digest.canonical import canonical_json
from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy, write_behind_bundlectl


@pytest.fixture
def history(git_registered: Workspace) -> Workspace:
    registered = git_registered
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1"))
    add(registered, V2, promptfoo_report(registered, "v2"))
    assert registered.run("approve", V1, "--env", "staging", "--actor", "bob@example.com").exit_code == 0
    promote(registered, V1, "staging")
    promote(registered, V2, "staging")
    assert registered.run("verify").exit_code == 0
    return registered


def log_records(ws: Workspace) -> list[tuple[str, str, dict]]:
    """Oldest first: (commit, summary line, payload)."""
    records = []
    for sha in ws.repo.git.rev_list("--reverse", "refs/bundlectl/log").split():
        message = ws.repo.git.log("-1", "--format=%B", sha)
        summary, _, body = message.partition("\n\n")
        records.append((sha, summary, json.loads(body)))
    return records


def rewrite(ws: Workspace, records: list[tuple[str, str, dict]], encode=lambda payload: canonical_json(payload).decode()) -> None:
    """Rebuild the commit chain from these records (as an attacker with git access would) and move the ref."""
    parent = None
    empty = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's empty tree, which every event commit uses
    for _, summary, payload in records:
        message = f"{summary}\n\n{encode(payload)}\n"
        args = [empty, "-m", message] + (["-p", parent] if parent else [])
        parent = ws.repo.git.commit_tree(*args)
    ws.repo.git.update_ref("refs/bundlectl/log", parent)


def first_of(records, action):
    return next(i for i, r in enumerate(records) if r[2]["action"] == action)


def assert_detected(ws: Workspace, text: str) -> None:
    result = ws.run("verify")
    assert result.exit_code == 5, result.output
    assert text in result.stderr, result.stderr
    assert "Traceback" not in result.output


EDITS = {
    "init": lambda d: d.update(format=d["format"] + 1),
    "policy": lambda d: d["policy"]["environments"]["staging"]["gates"]["eval"].update(min_pass_rate=0.1),
    "register": lambda d: d["record"]["metadata"].update(owner="mallory@example.com"),
    "evidence": lambda d: d["figures"].update(pass_rate=1.0),
    "approval": lambda d: d.update(env="production"),
    "promote": lambda d: d.update(reason_note="forged"),
}


@pytest.mark.parametrize("action", list(EDITS))
def test_editing_a_past_record_of_each_kind_is_detected(history: Workspace, action: str):
    records = log_records(history)
    i = first_of(records, action)
    EDITS[action](records[i][2]["data"])
    rewrite(history, records)
    result = history.run("verify")
    assert result.exit_code == 5, result.output
    # caught at the edited record itself (its digests) or at the next one (the chain)
    assert f"log record seq {i + 1} (" in result.stderr or (
        f"log record seq {i + 2} (" in result.stderr and "a record was edited, dropped or reordered" in result.stderr
    )


def test_dropping_a_record_is_detected(history: Workspace):
    records = log_records(history)
    del records[first_of(records, "approval")]
    rewrite(history, records)
    assert_detected(history, "a record was edited, dropped or reordered")


def test_reordering_records_is_detected(history: Workspace):
    records = log_records(history)
    i = first_of(records, "evidence")
    records[i], records[i + 1] = records[i + 1], records[i]
    rewrite(history, records)
    assert_detected(history, "a record was edited, dropped or reordered")


def test_editing_the_newest_record_consistently_is_caught_by_pointers_and_anchor(history: Workspace):
    records = log_records(history)
    records[-1][2]["data"]["to_digest"] = records[-1][2]["data"]["from_digest"]
    records[-1][2]["data"]["to_version"] = records[-1][2]["data"]["from_version"]
    rewrite(history, records)
    result = history.run("verify")
    assert result.exit_code == 5


def test_self_consistent_rewrite_is_caught_by_the_anchor(history: Workspace):
    records = log_records(history)[:-1]  # drop the newest promotion, chain stays valid
    rewrite(history, records)
    previous = records[-1][2]  # and make the pointer agree with the shortened log, as a careful attacker would
    value = {
        "name": "support-triage",
        "env": "staging",
        "digest": previous["data"]["to_digest"],
        "version": previous["data"]["to_version"],
        "pointer_version": 1,
        "seq": previous["seq"],
    }
    write_behind_bundlectl(history, "pointers/envs/support-triage/staging", canonical_json(value))
    assert_detected(history, "the log was rewritten: this machine last saw seq")
    result = history.run("status")
    assert result.exit_code == 5 and "the registry log was rewritten" in result.stderr


def test_non_canonical_record_is_detected(history: Workspace):
    def pretty_approvals(payload: dict) -> str:
        return json.dumps(payload, indent=1) if payload["action"] == "approval" else canonical_json(payload).decode()

    rewrite(history, log_records(history), pretty_approvals)
    assert_detected(history, "not in canonical form")


def test_moving_a_pointer_by_hand_is_detected(history: Workspace):
    fake = json.dumps({"name": "support-triage", "env": "staging", "digest": "sha256:" + "0" * 64}).encode()
    write_behind_bundlectl(history, "pointers/envs/support-triage/staging", fake)
    assert_detected(history, "pointer envs/support-triage/staging says")


def test_corrupted_object_is_detected(history: Workspace):
    ref = next(r for r in history.bundlectl_refs().splitlines() if "objects/blobs/" in r).split()[-1]
    write_behind_bundlectl(history, ref.removeprefix("refs/bundlectl/"), b"not the original bytes")
    assert_detected(history, "does not match its digest")


def test_deleting_the_log_is_detected_and_init_does_not_start_a_second_registry(history: Workspace):
    head = history.repo.git.rev_parse("refs/bundlectl/log")
    history.repo.git.update_ref("-d", "refs/bundlectl/log")
    for command in (["verify"], ["status"], ["init"]):
        result = history.run(*command)
        assert result.exit_code == 5, (command, result.output)
        assert f"the registry log is gone: this machine last read it at seq 10 ({head})" in result.stderr, result.stderr
    assert history.repo.git.rev_parse("--verify", "-q", "refs/bundlectl/log", with_exceptions=False) == ""


POLICY = b"apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {}\n  production: {after: staging}\n"


def _policy_event(document: dict):
    from bundlectl.registry.events import Event

    return Event(3, "0" * 64, "2026-11-23T10:00:00Z", "ops@example.com", "policy", None, {"policy": document})


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["environments"].clear(), "environments: Value error, defines no environment"),
        (lambda d: d["environments"]["staging"].update(after="production"), "the `after` chain has a cycle"),
        (lambda d: d["environments"]["production"].update(after="qa"), "comes after 'qa', which the policy does not define"),
        (lambda d: d["environments"]["staging"].update(colour="red"), "Extra inputs are not permitted"),
    ],
)
def test_a_logged_policy_policy_set_would_refuse_fails_verify(edit, message):
    """A policy record written behind bundlectl must keep the rules `policy set` enforces, not only be readable."""
    from bundlectl.errors import IntegrityFailure
    from bundlectl.policy.load import parse_policy
    from bundlectl.workflows.verify import _check_policy

    document = parse_policy(POLICY, "policy.yaml").model_dump(mode="json")
    _check_policy(_policy_event(document))  # what `policy set` stores passes
    edit(document)
    with pytest.raises(IntegrityFailure) as err:
        _check_policy(_policy_event(document))
    assert "log record seq 3" in err.value.message and message in err.value.message, err.value.message


def test_a_logged_policy_not_in_the_stored_form_fails_verify():
    from bundlectl.errors import IntegrityFailure
    from bundlectl.policy.load import parse_policy
    from bundlectl.workflows.verify import _check_policy

    document = parse_policy(POLICY, "policy.yaml").model_dump(mode="json")
    del document["environments"]["staging"]["gates"]["approvals"]  # a default left out: readable, but not what was stored
    with pytest.raises(IntegrityFailure) as err:
        _check_policy(_policy_event(document))
    assert "the policy is not in the form `bundlectl policy set` stores" in err.value.message


# a policy as `policy set` stored it before EvalGate gained `provenance` (5e171c4) and `signed_by` (27d799d): the
# model_dump of bundlectl at 4829e0f, verbatim; logs written then still hold it and the gate reads it with defaults
OLD_POLICY = {
    "apiVersion": "bundlectl/v1",
    "kind": "Policy",
    "environments": {
        "staging": {
            "after": None,
            "production": False,
            "gates": {
                "eval": {"min_cases": 20, "min_pass_rate": 0.9, "max_age": "7d", "slices": {"billing": {"min_cases": 0, "min_pass_rate": 0.8}}},
                "regression": None,
                "latency": {"max_p95_ms": 1500.0, "max_age": "7d"},
                "cost": {"max_cost_per_task_usd": 0.01, "daily_tasks": 1000, "volume_multiplier": 1.0, "max_daily_usd": None, "max_age": "7d"},
                "rehearsal": {"max_age": "30d"},
                "approvals": {"min": 1, "exclude_author": True},
            },
        },
        "production": {
            "after": "staging",
            "production": True,
            "gates": {
                "eval": {"min_cases": 1, "min_pass_rate": 0.95, "max_age": "7d", "slices": {}},
                "regression": {"max_drop": 0.02},
                "latency": None,
                "cost": None,
                "rehearsal": None,
                "approvals": None,
            },
        },
    },
}


def _with_provenance(document: dict) -> dict:
    """The same policy as bundlectl stored it between 5e171c4 and 27d799d: `provenance` but no `signed_by` yet."""
    import copy

    document = copy.deepcopy(document)
    for env in document["environments"].values():
        env["gates"]["eval"]["provenance"] = "any"
    return document


@pytest.mark.parametrize("document", [OLD_POLICY, _with_provenance(OLD_POLICY)], ids=["before-provenance", "before-signed-by"])
def test_a_policy_stored_by_an_older_bundlectl_still_passes_verify(document):
    """Fields added to the policy later, with defaults, are absent from policies older versions logged: not tampering."""
    from bundlectl.policy.in_force import GatePolicy
    from bundlectl.workflows.verify import _check_policy

    _check_policy(_policy_event(document))
    staging = GatePolicy.from_document(document, 3).environment("staging").gates.eval
    assert staging is not None and (staging.provenance, staging.signed_by) == ("any", None)


def test_an_old_policy_with_a_field_removed_that_was_always_stored_still_fails_verify():
    import copy

    from bundlectl.errors import IntegrityFailure
    from bundlectl.workflows.verify import _check_policy

    document = copy.deepcopy(OLD_POLICY)
    del document["environments"]["production"]["gates"]["approvals"]  # stored (as null) by every version
    with pytest.raises(IntegrityFailure) as err:
        _check_policy(_policy_event(document))
    assert err.value.message == "log record seq 3 (policy, None): the policy is not in the form `bundlectl policy set` stores"
    document = _with_provenance(OLD_POLICY)
    document["environments"]["production"]["gates"]["eval"]["provenance"] = "Run"
    with pytest.raises(IntegrityFailure):
        _check_policy(_policy_event(document))
