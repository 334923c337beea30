"""The S3 registry behind a proxy that turns into a black hole (accepts, never answers): serving never waits on it.

Time bounds here are "did not hang" bounds, generous on purpose: a call to `current()` that waited on
the network would take `timeout` (1.5 s) or more, not tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bundlectl.runtime import RegistryUnavailable, Runtime
from tests.conftest import ROOT, V2, Workspace, use_s3
from tests.helpers import promote
from tests.runtime.blackhole import BlackHoleProxy
from tests.runtime.conftest import wait_until

NEVER_BLOCKS = 0.3  # seconds: far above a memory read (even on a loaded machine), far below the network timeout (1.5 s)
TIMEOUT = 1.5  # the network timeout: a loaded machine running the suite on two workers answers within it
POLL = 0.2


pytestmark = pytest.mark.parametrize("registry", ["s3"], indirect=True)  # the outage is a network one


def through(proxy: BlackHoleProxy, runtimes, ws: Workspace, **kwargs) -> Runtime:
    """A runtime that reaches the registry only through the proxy."""
    return runtimes(ws, endpoint_url=proxy.url, timeout=TIMEOUT, poll_interval=POLL, **kwargs)


def slowest_call(runtime: Runtime, seconds: float) -> tuple[float, int]:
    """Serve requests for `seconds`: the slowest `current()` plus file read, and how many were served."""
    worst, served, deadline = 0.0, 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        runtime.current().text("prompts/system.md")
        worst = max(worst, time.perf_counter() - started)
        served += 1
        time.sleep(0.001)
    return worst, served


def test_requests_are_served_without_waiting_while_the_registry_hangs(v1_live: Workspace, proxy, runtimes):
    runtime = through(proxy, runtimes, v1_live)
    proxy.black_hole()
    worst, served = slowest_call(runtime, 8 * POLL + 2 * TIMEOUT)
    assert worst < NEVER_BLOCKS, worst
    assert served > 100
    assert proxy.swallowed > 0  # the runtime did try the hanging registry, in the background
    assert "still serving 2026.11.01-1 (pointer version 1)" in wait_until_problem(runtime)
    problem = runtime.problem
    assert "registry unreachable or inconsistent" in problem or "a registry check has been running" in problem


def wait_until_problem(runtime: Runtime) -> str:
    wait_until(lambda: runtime.problem is not None, within=3 * TIMEOUT + POLL + 2)
    return runtime.problem


def test_a_bundle_promoted_during_the_outage_is_served_after_it(v1_live: Workspace, proxy, runtimes):
    runtime = through(proxy, runtimes, v1_live)
    proxy.black_hole()
    promote(v1_live, V2, "staging")  # the CLI reaches the registry directly: only the serving side is cut off
    worst, _ = slowest_call(runtime, 4 * POLL + TIMEOUT)
    assert worst < NEVER_BLOCKS and runtime.current().version == "2026.11.01-1"
    proxy.forward()
    wait_until(lambda: runtime.current().version == "2026.11.22-1", within=POLL + 2 * TIMEOUT + 3)
    assert runtime.current().pointer_version == 2
    wait_until(lambda: runtime.problem is None, within=POLL + 2 * TIMEOUT + 3)


def test_start_up_without_a_cache_fails_fast_during_the_outage(v1_live: Workspace, proxy, runtimes):
    proxy.black_hole()
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable) as err:
        through(proxy, runtimes, v1_live, startup_timeout=1.0)
    assert time.monotonic() - started < 1.0 + 1.0
    assert "no verified bundle of support-triage in staging to serve" in err.value.message
    assert "cache_dir=" in err.value.hint


START_IN_A_NEW_PROCESS = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from bundlectl.runtime import Runtime

    endpoint, cache, root = sys.argv[1:4]
    started = time.monotonic()
    runtime = Runtime("support-triage", "staging", endpoint_url=endpoint, cache_dir=cache, cwd=Path(root),
                      startup_timeout=1.0, timeout=0.5, poll_interval=0.2)
    elapsed = time.monotonic() - started
    bundle = runtime.current()
    print(json.dumps({"elapsed": elapsed, "version": bundle.version, "problem": runtime.problem,
                      "prompt": bundle.text("prompts/system.md")}))
""")


def test_a_new_process_serves_the_cached_bundle_during_the_outage(v1_live: Workspace, proxy, runtimes, tmp_path: Path):
    cache = tmp_path / "runtime-cache"
    through(proxy, runtimes, v1_live, cache_dir=cache).close()  # a process that ran before the outage
    proxy.black_hole()
    result = subprocess.run(
        [sys.executable, "-c", START_IN_A_NEW_PROCESS, proxy.url, str(cache), str(v1_live.root)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=os.environ,
    )
    assert result.returncode == 0, result.stderr
    started = json.loads(result.stdout)
    assert started["elapsed"] < 1.0 + 2.0  # its start-up timeout, and slack for a loaded machine: it did not hang
    assert started["version"] == "2026.11.01-1"
    assert started["prompt"] == (v1_live.root / "bundles/support-triage-v1/prompts/system.md").read_text()
    assert "the registry did not answer within 1 s" in started["problem"] or "registry unreachable" in started["problem"]
    assert f"still serving 2026.11.01-1 (pointer version 1) from the cache in {cache}" in started["problem"]


def test_a_damaged_cache_is_never_served(v1_live: Workspace, proxy, runtimes, tmp_path: Path):
    cache = tmp_path / "runtime-cache"
    through(proxy, runtimes, v1_live, cache_dir=cache).close()
    blob = next((cache / "blobs").iterdir())
    blob.write_bytes(b"edited while nobody looked")
    proxy.black_hole()
    with pytest.raises(RegistryUnavailable) as err:
        through(proxy, runtimes, v1_live, cache_dir=cache, startup_timeout=1.0)
    assert "the cache could not help" in err.value.message and "does not match its digest" in err.value.message

    proxy.forward()  # with the registry back, the cache is repaired from it
    through(proxy, runtimes, v1_live, cache_dir=cache).close()
    state = cache / "live" / "support-triage@staging.json"
    document = json.loads(state.read_text())
    document["record"]["components"]["model"]["fields"]["snapshot"] = "gpt-4o-mini-2024-07-18"  # the digests left as they were
    state.write_text(json.dumps(document))
    proxy.black_hole()
    with pytest.raises(RegistryUnavailable) as err:
        through(proxy, runtimes, v1_live, cache_dir=cache, startup_timeout=1.0)
    assert "the bundle record does not match its digest" in err.value.message


def test_a_cache_of_another_registry_is_not_served(v1_live: Workspace, proxy, runtimes, tmp_path: Path, monkeypatch, s3_endpoint):
    cache = tmp_path / "runtime-cache"
    through(proxy, runtimes, v1_live, cache_dir=cache).close()
    other = use_s3(monkeypatch, s3_endpoint)  # BUNDLECTL_REGISTRY now names another bucket
    assert other
    proxy.black_hole()
    with pytest.raises(RegistryUnavailable) as err:
        through(proxy, runtimes, v1_live, cache_dir=cache, startup_timeout=1.0)
    assert "was written for another registry or environment" in err.value.message


def test_async_handlers_never_block_their_loop(v1_live: Workspace, proxy, runtimes, tmp_path: Path):
    cache = tmp_path / "runtime-cache"
    through(proxy, runtimes, v1_live, cache_dir=cache).close()
    proxy.black_hole()

    async def serve() -> tuple[int, float, str, float]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        started = time.monotonic()
        runtime = await Runtime.acreate(
            "support-triage",
            "staging",
            cwd=v1_live.root,
            endpoint_url=proxy.url,
            cache_dir=cache,
            startup_timeout=2 * TIMEOUT,
            timeout=TIMEOUT,
            poll_interval=POLL,
        )
        waited, ticks_while_starting = time.monotonic() - started, ticks
        worst, deadline = 0.0, time.monotonic() + 4 * POLL + TIMEOUT
        while time.monotonic() < deadline:
            begun = time.perf_counter()
            bundle = await runtime.acurrent()
            await runtime.astamp("req-async")
            worst = max(worst, time.perf_counter() - begun)
            await asyncio.sleep(0.001)
        ticking.cancel()
        runtime.close()
        return ticks_while_starting, waited, bundle.version, worst

    ticks, waited, version, worst = asyncio.run(serve())
    assert version == "2026.11.01-1"
    assert waited >= TIMEOUT  # start-up did wait on the hanging registry (until its first call timed out)…
    assert ticks >= 10, ticks  # …and the loop kept running meanwhile (a blocked loop ticks not once)
    assert worst < NEVER_BLOCKS, f"acurrent() + astamp() took {worst:.3f} s"


def test_a_shared_cache_keeps_the_files_another_process_still_serves(v1_live: Workspace, proxy, runtimes, tmp_path: Path, monkeypatch):
    monkeypatch.setattr("bundlectl.runtime.files.IN_MEMORY_MAX", 100)  # every file a large one: served from the cache folder
    cache = tmp_path / "runtime-cache"
    lagging = through(proxy, runtimes, v1_live, cache_dir=cache)  # cut off from the registry below: it keeps serving v1
    served = lagging.current()
    large = {relpath: path.read_bytes() for relpath, path in served.paths.items()}
    assert large and all(path.parent == cache / "blobs" for path in served.paths.values())
    proxy.black_hole()
    hours_ago = time.time() - 2 * 3600
    for blob in (cache / "blobs").iterdir():  # copied long ago
        os.utime(blob, (hours_ago, hours_ago))
    promote(v1_live, V2, "staging")
    wait_until(lambda: "registry unreachable" in (lagging.problem or ""), within=3 * TIMEOUT + POLL + 2)
    following = runtimes(v1_live, cache_dir=cache, follow=False)  # another process on the machine, reaching the registry
    assert following.current().version == "2026.11.22-1"  # it saved v2 in the shared folder and collected garbage
    assert served.version == lagging.current().version == "2026.11.01-1"
    assert {relpath: served.file(relpath) for relpath in served.paths} == large  # nothing the lagging one serves was removed
    lagging.close()
    assert len(list((cache / "in-use").iterdir())) == 1  # a closed runtime's lease is gone; the running one's stays
