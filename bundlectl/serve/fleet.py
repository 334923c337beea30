"""The runtimes a server follows, one per bundle name, started in the background so the server answers at once.

A name whose runtime has not started yet (the registry has not answered and no cache holds its bundle) is
not ready: `/readyz` says so and its evaluations answer 503 with Retry-After, and it keeps being tried.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from bundlectl.errors import BundlectlError, UsageProblem
from bundlectl.runtime import Runtime
from bundlectl.serve.config import ServeSettings

log = logging.getLogger("bundlectl.serve")
_LONGEST_START = 60.0  # seconds a retried start may wait for its first registry check


def served_names(settings: ServeSettings) -> tuple[str, ...]:
    """The names given, or every bundle with a pointer in ENV (read from the registry once, at start)."""
    if settings.names:
        return tuple(sorted(set(settings.names)))
    from bundlectl.storage.base import NetworkLimits
    from bundlectl.storage.locate import open_storage, registry_url

    storage = open_storage(
        registry_url(settings.registry),
        settings.cwd or Path.cwd(),
        endpoint_url=settings.endpoint_url,
        limits=NetworkLimits(settings.timeout, settings.timeout, attempts=1),
    )
    names = sorted({key.split("/")[1] for key in storage.list_pointers() if key.startswith("envs/") and key.endswith(f"/{settings.env}")})
    if not names:
        raise UsageProblem(f"nothing is promoted to {settings.env} in this registry", "name the bundles to serve, or promote one first")
    return tuple(names)


class Fleet:
    def __init__(self, settings: ServeSettings, names: tuple[str, ...]) -> None:
        self.settings, self.names = settings, names
        self.runtimes: dict[str, Runtime] = {}  # filled as each starts; read without a lock (a dict read is atomic)
        self.failures: dict[str, str] = {}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._start, args=(name,), name=f"bundlectl-serve start {name}", daemon=True) for name in names]
        for thread in self._threads:
            thread.start()

    def _start(self, name: str) -> None:
        settings = self.settings
        startup_timeout = settings.startup_timeout
        while not self._stop.is_set():
            try:
                runtime = Runtime(
                    name,
                    settings.env,
                    settings.registry,
                    endpoint_url=settings.endpoint_url,
                    poll_interval=settings.poll_interval,
                    timeout=settings.timeout,
                    startup_timeout=startup_timeout,
                    cache_dir=settings.cache_dir,
                    request_log=settings.request_log,
                    cwd=settings.cwd,
                )
            except BundlectlError as exc:
                if self.failures.get(name) != exc.message:
                    log.warning("cannot serve %s in %s yet: %s", name, settings.env, exc.message)
                self.failures[name] = exc.message
                # a first check slower than the wait (a slow registry, a big bundle) must be able to finish next time
                startup_timeout = min(2 * startup_timeout, _LONGEST_START)
                self._stop.wait(min(settings.poll_interval, 5.0))
                continue
            if self._stop.is_set():
                runtime.close()
                return
            self.runtimes = {**self.runtimes, name: runtime}  # swapped whole: readers never see a dict being resized
            self.failures.pop(name, None)
            return

    def wait_started(self, within: float) -> bool:
        for thread in self._threads:
            thread.join(within)
        return len(self.runtimes) == len(self.names)

    def not_ready(self) -> dict[str, str]:
        """Each name without a verified bundle to serve, and why."""
        return {name: self.failures.get(name, "starting") for name in self.names if name not in self.runtimes}

    def problems(self) -> dict[str, str]:
        """What each started runtime reports (registry unreachable, refused pointer…): served anyway, from what it holds."""
        return {name: problem for name, runtime in self.runtimes.items() if (problem := runtime.problem)}

    def close(self) -> None:
        self._stop.set()
        for runtime in self.runtimes.values():
            runtime.close()
