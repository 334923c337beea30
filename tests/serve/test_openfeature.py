"""bundlectl.openfeature: the in-process runtime behind OpenFeature's Python API, with change events."""

from __future__ import annotations

import threading

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import EventDetails, ProviderEvent

from bundlectl.openfeature import BundleProvider
from bundlectl.runtime import Runtime
from tests.helpers import promote
from tests.serve.conftest import ENV, NAME, V1, V2


@pytest.fixture
def provided(live):
    runtime = Runtime(NAME, ENV, cwd=live.root, follow=False)
    api.set_provider_and_wait(BundleProvider(runtime, watch_interval=0.05))
    yield live, runtime, api.get_client()
    api.shutdown()
    runtime.close()


def test_object_flags_resolve_to_the_live_bundle_as_the_server_answers(provided):
    ws, runtime, client = provided
    details = client.get_object_details(NAME, {}, EvaluationContext(targeting_key="user-1"))
    assert (details.reason, details.variant, details.value["digest"]) == ("STATIC", "2026.11.01-1", ws.json("show", V1)["digest"])
    assert details.flag_metadata == dict(runtime.current().attributes)
    assert "url" not in details.value["components"]["prompt"]["files"]["prompts/system.md"]  # in process: read from the runtime
    missing = client.get_object_details("other-bundle", {"fallback": True})
    assert (missing.value, missing.error_code) == ({"fallback": True}, "FLAG_NOT_FOUND")
    assert client.get_boolean_details(NAME, False).error_code == "TYPE_MISMATCH"


def test_a_promote_a_canary_and_a_pause_are_provider_events(provided):
    ws, runtime, client = provided
    changes: list[EventDetails] = []
    seen = threading.Event()

    def on_change(details: EventDetails) -> None:
        changes.append(details)
        seen.set()

    client.add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, on_change)
    promote(ws, V2, ENV)
    assert runtime.refresh()
    assert seen.wait(5) and changes[-1].flags_changed == [NAME]
    assert client.get_object_details(NAME, {}).variant == "2026.11.22-1"
    seen.clear()
    assert ws.run("pause", NAME, "--env", ENV, "--reason", "incident 42").exit_code == 0
    assert runtime.refresh()
    assert seen.wait(5)
    paused = client.get_object_details(NAME, {"fallback": True}, EvaluationContext(targeting_key="user-1"))
    assert (paused.value, paused.reason) == ({"fallback": True}, "DISABLED")
    assert paused.flag_metadata["bundle.pause_reason"] == "incident 42"
