"""bundlectl.runtime: what serving processes use to follow the live bundle, honour the kill switch, and stamp requests.

    from bundlectl.runtime import Paused, Runtime

    runtime = Runtime("support-triage", "production", poll_interval=15, cache_dir="/var/cache/bundlectl",
                      request_log="requests.jsonl")
    try:
        bundle = runtime.current()             # never waits on the network; the registry is followed in the background
    except Paused as paused:                   # `bundlectl pause`: take the fallback path
        return fallback(paused.reason)
    system_prompt = bundle.text("prompts/system.md")   # already fetched and digest-checked
    runtime.stamp(request_id)                  # bundle.* attributes on the current OTel span + a JSON line

During a canary, `runtime.current(key=request_id)` gives a sticky share of keys the candidate (`bundle.arm`);
stamp and record with the bundle served: `runtime.stamp(request_id, bundle=bundle)`, then
`runtime.record(request_id, bundle=bundle, ok=True, escalated=False, latency_ms=812)` for `bundlectl guard`.

Every exception the runtime raises is a BundlectlError; the ones serving code handles are exported here.
"""

from bundlectl.errors import BundlectlError
from bundlectl.runtime.bundle import LiveBundle, PauseState
from bundlectl.runtime.errors import FileNotInBundle, Paused, RegistryUnavailable
from bundlectl.runtime.live import Runtime

__all__ = ["BundlectlError", "FileNotInBundle", "LiveBundle", "PauseState", "Paused", "RegistryUnavailable", "Runtime"]
