"""A URL that is not one bundlectl can post to: a failure of that endpoint, named without repeating the URL, never a
crash that stops delivery to every other endpoint."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Workspace
from tests.webhooks.conftest import endpoint, subscribe

TOKEN = "XOXB-SECRET-TOKEN-7"


@pytest.mark.parametrize(
    "value",
    [
        f"hooks.slack.com/services/T000/B000/{TOKEN}",  # pasted without its scheme
        f"https://hooks.slack.com:99999/services/{TOKEN}",  # a port out of range
        f"https://hooks.slack.com:{TOKEN}/services/x",  # not a port
        f"ftp://hooks.slack.com/{TOKEN}",
    ],
)
def test_a_url_variable_that_is_no_http_url_fails_its_endpoint_only(git_registry: Workspace, receivers, monkeypatch, value: str) -> None:
    receiver = receivers()
    monkeypatch.setenv("SLACK_URL", value)
    subscribe(git_registry, {"chat": {"url": {"env": "SLACK_URL"}, "format": "slack"}, "ops": endpoint(receiver)})
    assert (
        subscribe(
            git_registry, {"chat": {"url": {"env": "SLACK_URL"}, "format": "slack", "link": "https://r/{seq}"}, "ops": endpoint(receiver)}
        ).exit_code
        == 0
    )
    git_registry.run("webhooks", "enable", "chat")  # the write's quick attempt failed it already: try it now

    result = git_registry.run("webhooks", "deliver", "--json")

    assert result.exit_code == 0, result.output
    runs = {run["endpoint"]: run for run in json.loads(result.stdout)["endpoints"]}
    assert runs["chat"]["failed"] == "the URL is not an http:// or https:// URL with a host and a port from 1 to 65535"
    assert runs["ops"]["failed"] is None and [d.verified()["type"] for d in receiver.got] == ["webhooks.set"]
    shown = git_registry.run("webhooks", "log", "--json")
    assert TOKEN not in result.output + shown.output and "hooks.slack.com" not in result.output + shown.output


def test_a_url_with_a_port_out_of_range_is_refused_when_set(git_registry: Workspace) -> None:
    before = git_registry.bundlectl_refs()
    result = subscribe(git_registry, {"ops": {"url": "https://hooks.example.com:99999/x", "secret": {"env": "HOOK_SECRET"}}})
    assert result.exit_code != 0 and "its port must be a number from 1 to 65535" in result.output
    assert git_registry.bundlectl_refs() == before  # nothing was written
