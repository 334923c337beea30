"""bundlectl.runtime: what serving processes use to follow the live bundle and stamp each request.

    from bundlectl.runtime import Runtime

    runtime = Runtime("support-triage", "production", poll_interval=15, request_log="requests.jsonl")
    bundle = runtime.current()                 # cached; re-checks the pointer every poll_interval
    system_prompt = bundle.text("prompts/system.md")   # read from the registry, digest checked
    runtime.stamp(request_id)                  # bundle.* attributes on the current OTel span + a JSON line
"""

from bundlectl.runtime.live import LiveBundle, RegistryUnavailable, Runtime

__all__ = ["LiveBundle", "RegistryUnavailable", "Runtime"]
