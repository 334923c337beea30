"""Delivery state on a registry shared through a git remote: every copy sees what another delivered."""

from __future__ import annotations

from tests.conftest import V1, V2
from tests.registry.test_shared_remote import Copy, Team, shared, team  # noqa: F401 - the shared-remote fixtures


def test_copies_of_a_remote_registry_share_what_was_delivered(shared: tuple[Team, Copy], receivers):  # noqa: F811
    team, alice = shared  # noqa: F811
    receiver = receivers()
    (alice.root / "webhooks.yaml").write_text(
        "apiVersion: bundlectl/v1\nkind: Webhooks\nendpoints:\n"
        f"  ops: {{url: '{receiver.url}', secret: {{env: HOOK_SECRET}}, events: [bundle.promoted]}}\n"
    )
    alice.ok("webhooks", "set", "webhooks.yaml")
    alice.ok("promote", V1, "--env", "staging")
    assert receiver.types() == ["bundle.promoted"]
    assert "refs/bundlectl/state/webhooks/ops" in team.remote_refs()  # pushed, with a lease, where every copy reads it

    bob = team.clone("bob")
    assert bob.json("webhooks", "deliver")["endpoints"][0]["delivered"] == 0  # alice's delivery is bob's to see
    bob.ok("promote", V2, "--env", "staging", "--actor", "bob@example.com")
    assert receiver.types() == ["bundle.promoted", "bundle.promoted"]
    assert [d.verified()["data"]["actor"] for d in receiver.got] == ["tester@example.com", "bob@example.com"]
    state = alice.json("webhooks", "log", BUNDLECTL_FETCH_TTL="0")["endpoints"][0]
    assert state["behind"] == 0 and [a["by"] for a in state["attempts"]] == ["write", "write"]
    assert alice.run("verify").exit_code == 0
