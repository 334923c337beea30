"""A webhooks record written behind bundlectl: `verify` holds it to what `webhooks set` stores, and the payload parts."""

from __future__ import annotations

import copy

import pytest

from bundlectl.digest.canonical import digest_of
from bundlectl.webhooks.subscriptions import parse_webhooks, record_problem
from bundlectl.webhooks.types import matches

FILE = b"""apiVersion: bundlectl/v1
kind: Webhooks
endpoints:
  ops: {url: "https://hooks.example.com/x", secret: {env: OPS_SECRET}, events: ["canary.*"]}
"""


def stored() -> dict:
    document = parse_webhooks(FILE, "webhooks.yaml")
    return {"webhooks": document, "webhooks_digest": digest_of(document), "since": {"ops": 4}}


def test_what_webhooks_set_stores_passes():
    assert record_problem(stored(), 4) is None


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["webhooks"]["endpoints"]["ops"].update(secret="whsec_c2VjcmV0"), "secret"),
        (lambda d: d["webhooks"]["endpoints"]["ops"].update(url="https://u:p@evil.example.com/"), "without credentials"),
        (lambda d: d["webhooks"]["endpoints"]["ops"].update(colour="red"), "Extra inputs are not permitted"),
        (lambda d: d["webhooks"]["endpoints"]["ops"].pop("link"), "not in the form"),
        (lambda d: d.update(webhooks_digest="sha256:" + "0" * 64), "do not match its webhooks_digest"),
        (lambda d: d.update(since={"ops": 9}), "a later record"),
        (lambda d: d.update(since={}), "other endpoints"),
    ],
)
def test_a_record_webhooks_set_would_not_write_is_named(edit, message):
    data = copy.deepcopy(stored())
    edit(data)
    problem = record_problem(data, 4)
    assert problem is not None and message in problem
    assert "c2VjcmV0" not in problem


def test_event_patterns_and_the_guard():
    assert matches(("canary.*",), "canary.rolled_back", False)
    assert not matches(("canary.*",), "bundle.rolled_back", False)
    assert matches(("guard.decided",), "bundle.rolled_back", True)  # an act the guard made
    assert not matches(("guard.decided",), "bundle.rolled_back", False)
    assert matches(("*",), "promotion.refused", False)
