"""`webhooks set` and `show`: subscriptions are a logged act like the policy, and name secrets without holding them."""

from __future__ import annotations

import json

from tests.conftest import Workspace
from tests.webhooks.conftest import SECRET, endpoint, subscribe


def test_set_logs_the_subscriptions_and_show_names_where_secrets_are(registry: Workspace, receivers):
    receiver = receivers()
    result = subscribe(
        registry,
        {
            "ops": endpoint(receiver, events=["bundle.*", "guard.decided"], link="https://r/{name}/{version}"),
            "chat": {"url": {"env": "SLACK_URL"}, "format": "slack", "events": ["canary.*"]},
        },
    )
    assert result.exit_code == 0, result.output
    assert "are now in force for chat, ops (event" in result.output
    shown = registry.json("webhooks", "show")
    by_name = {e["name"]: e for e in shown["endpoints"]}
    assert by_name["ops"] == {
        "name": "ops",
        "url": receiver.url,
        "events": ["bundle.*", "guard.decided"],
        "format": "standard",
        "secret": "$HOOK_SECRET",
        "link": "https://r/{name}/{version}",
        "since": shown["seq"],
    }
    assert by_name["chat"]["url"] == "$SLACK_URL" and by_name["chat"]["secret"] is None
    again = subscribe(
        registry,
        {
            "ops": endpoint(receiver, events=["bundle.*", "guard.decided"], link="https://r/{name}/{version}"),
            "chat": {"url": {"env": "SLACK_URL"}, "format": "slack", "events": ["canary.*"]},
        },
    )
    assert "already in force; nothing to do" in again.output
    assert registry.run("verify").exit_code == 0


def test_an_endpoint_keeps_its_start_when_the_subscriptions_change(registry: Workspace, receivers):
    receiver = receivers()
    subscribe(registry, {"ops": endpoint(receiver)})
    first = registry.json("webhooks", "show")["seq"]
    subscribe(registry, {"ops": endpoint(receiver, events=["bundle.promoted"]), "audit": endpoint(receiver)})
    shown = {e["name"]: e for e in registry.json("webhooks", "show")["endpoints"]}
    assert shown["ops"]["since"] == first and shown["audit"]["since"] == first + 1


def test_a_secret_or_a_url_with_credentials_is_refused_without_repeating_it(registry: Workspace, receivers):
    receiver = receivers()
    before = registry.bundlectl_refs()
    pasted = subscribe(registry, {"ops": {"url": receiver.url, "secret": SECRET}})
    assert pasted.exit_code != 0 and "secret" in pasted.output and SECRET not in pasted.output
    with_password = subscribe(registry, {"ops": {"url": "https://bot:hunter2-pass@hooks.example.com/x", "secret": {"env": "HOOK_SECRET"}}})
    assert with_password.exit_code != 0 and "without credentials" in with_password.output
    assert "hunter2-pass" not in with_password.output
    unsigned = subscribe(registry, {"ops": {"url": receiver.url}})
    assert unsigned.exit_code != 0 and "name its secret" in unsigned.output
    unknown = subscribe(registry, {"ops": endpoint(receiver, events=["bundle.exploded"])})
    assert unknown.exit_code != 0 and "'bundle.exploded' is not an event type" in unknown.output
    bad_link = subscribe(registry, {"ops": endpoint(receiver, link="https://r/{password}")})
    assert bad_link.exit_code != 0 and "the link names {password}" in bad_link.output
    json_error = subscribe(registry, {"ops": {"url": receiver.url, "secret": SECRET}}, "--json")
    assert SECRET not in json_error.output
    assert registry.bundlectl_refs() == before  # nothing was written


def test_show_without_subscriptions_says_how_to_set_them(registry: Workspace):
    result = registry.run("webhooks", "show", "--json")
    assert result.exit_code != 0
    assert "no webhooks are subscribed" in json.loads(result.stdout)["error"]["message"]


def test_under_trust_subscriptions_need_the_admins(registry: Workspace, keys, receivers):
    from tests.trust.conftest import set_trust, trust_yaml

    set_trust(registry, keys, trust_yaml(keys), "alice", "bob")
    receiver = receivers()
    before = registry.bundlectl_refs()
    alone = subscribe(registry, {"ops": endpoint(receiver)}, "--key", keys.path("alice"))
    assert alone.exit_code != 0 and "webhooks set must be signed by" in alone.output
    assert registry.bundlectl_refs() == before
    both = subscribe(registry, {"ops": endpoint(receiver)}, "--key", keys.path("alice"), "--key", keys.path("bob"))
    assert both.exit_code == 0, both.output
    policy = registry.root / "policy.yaml"
    policy.write_text("apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {}\n")
    signed = registry.run("policy", "set", str(policy), "--key", keys.path("alice"), "--key", keys.path("bob"))
    assert signed.exit_code == 0, signed.output
    (delivery,) = receiver.got
    body = delivery.verified()
    assert body["type"] == "policy.set" and body["data"]["signed"] is True and body["data"]["actor"] == "alice@example.com, bob@example.com"
    assert registry.run("verify").exit_code == 0
