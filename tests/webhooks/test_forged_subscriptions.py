"""Subscriptions changed without the admins' signatures, by someone who can write the registry (plain git, a key that
is not an admin's or none): no deliverer takes them, and nothing is sent to the forger's endpoint."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.conftest import Workspace
from tests.trust.conftest import set_trust, trust_yaml
from tests.trust.forge import Forger, canonical
from tests.webhooks.conftest import endpoint, subscribe


@pytest.mark.parametrize("signer", [None, "carol", "alice"])  # unsigned; an approver; one admin of a threshold of two
def test_a_webhooks_record_without_the_admins_is_refused_and_nothing_is_sent(registry: Workspace, keys, receivers, signer: str | None) -> None:
    ops, thief = receivers(), receivers()
    set_trust(registry, keys, trust_yaml(keys), "alice", "bob")
    both = ("--key", keys.path("alice"), "--key", keys.path("bob"))
    assert subscribe(registry, {"ops": endpoint(ops)}, *both).exit_code == 0
    forger = Forger(registry, keys)
    document: dict[str, Any] = {
        "apiVersion": "bundlectl/v1",
        "kind": "Webhooks",
        "endpoints": {
            "ops": {"url": ops.url, "events": ["*"], "format": "standard", "secret": {"env": "HOOK_SECRET"}, "link": None},
            "thief": {"url": thief.url, "events": ["*"], "format": "standard", "secret": {"env": "HOOK_SECRET"}, "link": None},
        },
    }
    seq = forger.records()[-1]["seq"] + 1
    since = {"ops": forger.records()[-1]["data"]["since"]["ops"], "thief": seq}
    digest = "sha256:" + hashlib.sha256(canonical(document)).hexdigest()
    forger.append("webhooks", {"webhooks": document, "webhooks_digest": digest, "since": since}, signer)
    ops.got[:] = []

    state = registry.storage().read_state("webhooks/ops")

    for args in (("webhooks", "show", "--json"), ("webhooks", "deliver", "--json"), ("webhooks", "log", "--json")):
        result = registry.run(*args)
        assert result.exit_code == 5, (args, result.output)
        assert f"seq {seq}" in json.loads(result.stdout)["error"]["message"]  # the record, or the head it did not move
    enabled = registry.run("webhooks", "enable", "ops")
    assert enabled.exit_code == 5 and f"seq {seq}" in enabled.stderr
    assert thief.got == [] and ops.got == []
    assert registry.storage().read_state("webhooks/ops") == state  # no delivery state moved either
