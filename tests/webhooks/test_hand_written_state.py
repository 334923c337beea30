"""Delivery state written by hand (anyone who can write the registry's refs can, without any admin key): it must not
silence an endpoint without a word, nor make a deliverer skip records."""

from __future__ import annotations

import json

import pytest

from bundlectl.webhooks.state import DeliveryState, read_state, state_name
from tests.conftest import Workspace
from tests.webhooks.conftest import endpoint, subscribe


def _records(ws: Workspace, receiver, count: int) -> None:
    """`count` more records the endpoint wants (each `webhooks set` with another link is one)."""
    for _ in range(count):
        assert subscribe(ws, {"ops": endpoint(receiver, link=f"https://r/{ws.event_count()}/{{seq}}")}).exit_code == 0


def _write_state(ws: Workspace, state: DeliveryState) -> None:
    storage = ws.storage()
    token = storage.read_state(state_name("ops"))
    assert storage.swap_state(state_name("ops"), token.token if token else None, state.to_bytes())


def test_a_state_naming_a_later_record_by_id_skips_nothing(git_registry: Workspace, receivers) -> None:
    receiver = receivers()
    _records(git_registry, receiver, 1)
    receiver.status = 503  # down while four records are written: the state stays where it was
    _records(git_registry, receiver, 4)
    storage = git_registry.storage()
    _, state = read_state(storage, "ops", 0)
    acked = state.acked_seq
    head = git_registry.event_count()
    assert head == acked + 4, (head, acked)
    later = git_registry.repo.git.rev_parse("refs/bundlectl/log~1")  # the record at acked + 3
    _write_state(git_registry, DeliveryState(acked_seq=acked, acked_id=later))
    receiver.status, receiver.got[:] = 200, []

    result = git_registry.run("webhooks", "deliver", "--json")

    assert result.exit_code == 0, result.output
    assert [d.verified()["data"]["seq"] for d in receiver.got] == [acked + 1, acked + 2, acked + 3, acked + 4]
    _, state = read_state(git_registry.storage(), "ops", 0)
    assert state.acked_seq == head and state.acked_id == git_registry.repo.git.rev_parse("refs/bundlectl/log")


def test_a_state_acknowledging_beyond_the_log_is_named_not_taken_as_caught_up(git_registry: Workspace, receivers) -> None:
    receiver = receivers()
    _records(git_registry, receiver, 1)
    _write_state(git_registry, DeliveryState(acked_seq=999_999))
    before = git_registry.storage().read_state(state_name("ops"))
    receiver.got[:] = []
    _records(git_registry, receiver, 2)

    result = git_registry.run("webhooks", "deliver", "--json")

    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout)["endpoints"]
    assert run["delivered"] == 0 and receiver.got == []
    assert run["failed"].startswith("its delivery state says event 999999 was acknowledged, but the log ends at event ")
    (entry,) = git_registry.json("webhooks", "log")["endpoints"]
    assert "git update-ref -d refs/bundlectl/state/webhooks/ops" in entry["problem"]
    shown = git_registry.run("webhooks", "log")
    assert "the log ends at event" in shown.output
    after = git_registry.storage().read_state(state_name("ops"))
    assert before is not None and after is not None and after.token == before.token  # nothing written over it


@pytest.mark.parametrize(
    "field", [{"retry_at": "soon"}, {"retry_at": 5}, {"acked_id": 5}, {"acked_seq": True}, {"failures": -1}, {"disabled": ["x"]}]
)
def test_a_state_with_a_field_of_the_wrong_kind_never_breaks_a_write(git_registry: Workspace, receivers, field: dict[str, object]) -> None:
    receiver = receivers()
    _records(git_registry, receiver, 1)
    raw = {**json.loads(DeliveryState(acked_seq=2).to_bytes()), **field}
    storage = git_registry.storage()
    assert storage.read_state(state_name("ops")) is None and storage.swap_state(state_name("ops"), None, json.dumps(raw).encode())

    written = subscribe(git_registry, {"ops": endpoint(receiver, link="https://r/after/{seq}")})  # its quick attempt reads it

    assert written.exit_code == 0, written.output  # the record stands, and the command says so
    delivered = git_registry.run("webhooks", "deliver", "--json")
    assert delivered.exit_code == 5 and "the delivery state ops is damaged" in json.loads(delivered.stdout)["error"]["message"]
    assert "git update-ref -d refs/bundlectl/state/webhooks/ops" in json.loads(delivered.stdout)["error"]["hint"]


def test_a_retry_time_no_backoff_reaches_does_not_silence_the_endpoint(git_registry: Workspace, receivers) -> None:
    receiver = receivers()
    _records(git_registry, receiver, 1)
    receiver.got[:] = []
    _, state = read_state(git_registry.storage(), "ops", 0)
    _write_state(git_registry, DeliveryState(acked_seq=state.acked_seq, acked_id=state.acked_id, retry_at="9999-12-31T00:00:00+00:00"))
    _records(git_registry, receiver, 1)
    assert [d.verified()["type"] for d in receiver.got] == ["webhooks.set"]  # the write's quick attempt sent it
