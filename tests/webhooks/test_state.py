"""Delivery state in the registry: compare-and-swap on each backend, outside the pointers `verify` checks."""

from __future__ import annotations

import pytest

from bundlectl.errors import IntegrityFailure
from bundlectl.webhooks.state import Attempt, DeliveryState, merged, read_state, save_state, state_name
from tests.conftest import Workspace


def test_state_moves_only_from_the_token_it_was_read_at(registry: Workspace):
    storage = registry.storage()
    pointers = storage.list_pointers()
    assert storage.read_state("webhooks/ops") is None
    assert storage.swap_state("webhooks/ops", None, b'{"a":1}') is True
    assert storage.swap_state("webhooks/ops", None, b'{"a":2}') is False  # it exists now
    current = storage.read_state("webhooks/ops")
    assert current is not None and current.value == b'{"a":1}'
    assert storage.swap_state("webhooks/ops", current.token, b'{"a":3}') is True
    assert storage.swap_state("webhooks/ops", current.token, b'{"a":4}') is False  # a stale token loses
    assert storage.read_state("webhooks/ops").value == b'{"a":3}'
    assert storage.list_pointers() == pointers and registry.run("verify").exit_code == 0


def test_a_deliverer_that_lost_the_race_merges_and_never_steps_back(git_registry: Workspace):
    storage = git_registry.storage()
    token, start = read_state(storage, "ops", 3)
    assert (token, start.acked_seq) == (None, 3)
    ahead = save_state(storage, "ops", None, DeliveryState(acked_seq=9, acked_id="nine"), [], 3)
    attempt = Attempt(5, "sha256:x", "bundle.promoted", "2026-12-06T00:00:00+00:00", 200, None, 3, "write")
    behind = save_state(storage, "ops", None, DeliveryState(acked_seq=5, acked_id="five"), [attempt], 3)  # read before ahead
    assert (behind.acked_seq, behind.acked_id) == (9, "nine") and behind.attempts == (attempt,)
    assert read_state(storage, "ops", 3)[1] == behind
    assert merged(ahead, DeliveryState(acked_seq=12), []).acked_seq == 12


def test_damaged_state_is_named_not_a_traceback(git_registry: Workspace):
    storage = git_registry.storage()
    storage.swap_state(state_name("ops"), None, b"not json")
    with pytest.raises(IntegrityFailure, match="the delivery state ops is damaged"):
        read_state(storage, "ops", 1)
