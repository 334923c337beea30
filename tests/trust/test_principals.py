"""Principals name people (issue 21): the domain compares without letter case, the rest exactly, and a trust file
may not spell two principals that differ only in letter case; one person never meets a threshold twice."""

from __future__ import annotations

import pytest

from bundlectl.trust.keys import PublicKey
from bundlectl.trust.roles import Trust, person
from bundlectl.trust.rules import NotAllowed, actor_of, allowed_signers
from tests.conftest import Workspace
from tests.trust.conftest import Keys, trust_yaml, write


def test_the_domain_compares_without_case_and_the_rest_exactly():
    assert person("alice@Example.COM") == person("alice@example.com") == "alice@example.com"
    assert person("Alice@example.com") != person("alice@example.com")
    assert person("ci-runner") == "ci-runner" and person("a@b@Example.com") == "a@b@example.com"


@pytest.mark.parametrize("spelling", ["Alice@example.com", "alice@EXAMPLE.com"])
def test_a_trust_file_spelling_one_principal_two_ways_is_refused_and_nothing_is_written(git_registry: Workspace, keys: Keys, spelling: str):
    """`alice@` and `Alice@` as two admins with a threshold of two: either one person reaches the threshold
    alone, or a reader cannot tell who is who."""
    ws = git_registry
    head = ws.log_head()
    text = trust_yaml(keys, admins=("alice", "alice2"), lines={"alice2": keys.line("alice2", spelling)})
    refused = ws.run("trust", "set", write(ws, "t.yaml", text), "--key", keys.path("alice"), "--key", keys.path("alice2"))
    assert refused.exit_code == 1
    assert f"principals 'alice@example.com' and '{spelling}' differ only in letter case" in refused.stderr
    assert ws.log_head() == head


def test_a_stored_trust_with_two_domain_spellings_counts_one_person_once(keys: Keys):
    """A trust document stored before the rule (the domain spelled two ways) still counts alice once."""
    document = {
        "roles": {
            "admins": {"threshold": 2, "keys": [keys.line("alice"), keys.line("alice2", "alice@EXAMPLE.com"), keys.line("bob")]},
            "approvers": {"keys": []},
            "runners": {"keys": []},
            "promoters": {},
        }
    }
    trust = Trust.from_document(document, 1)
    alice = [PublicKey.parse(keys.public(name)) for name in ("alice", "alice2")]
    with pytest.raises(NotAllowed, match="needs 2 distinct admins .principals.; 1 signed .alice@example.com."):
        allowed_signers(trust, "policy", {}, alice)
    signers = allowed_signers(trust, "policy", {}, [*alice, PublicKey.parse(keys.public("bob"))])
    assert actor_of(signers) == "alice@example.com, bob@example.com"
