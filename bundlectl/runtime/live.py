"""Following the live bundle of NAME in ENV from a serving process, without ever waiting on the network to serve.

A background thread checks the registry every `poll_interval` seconds, each remote call bounded by
`timeout`; `current()` only reads the snapshot that thread last swapped in. A new bundle is swapped in
only once every one of its files was fetched and verified, and never one older than a pointer already
seen. When the registry fails, hangs or disagrees with itself, the last verified bundle keeps serving
and `problem` says why. With `cache_dir=`, that bundle is also kept on disk for the next process.

Small files are served from memory; large ones (indexes, weights) from verified local read-only copies
(`LiveBundle.path`), copied in chunks so no process ever holds them whole.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from bundlectl.errors import BundlectlError, UsageProblem
from bundlectl.foundation.clock import event_time
from bundlectl.foundation.outcomes import OUTCOME
from bundlectl.foundation.stamp import REQUEST_ID
from bundlectl.runtime.bundle import LiveBundle, PauseState, Serving
from bundlectl.runtime.errors import RegistryUnavailable
from bundlectl.runtime.tallies import OutcomeTallies, outcome_values

log = logging.getLogger("bundlectl.runtime")

CHECK_DEADLINE_TIMEOUTS = 5  # a whole registry check may take this many `timeout`s: a trickling registry cannot hold it
MAX_ABANDONED_CHECKS = 2  # checks given up at their deadline but still waiting; no more are started meanwhile


class Runtime:
    """The live bundle of NAME in ENV for one serving process (thread-safe; one per process and environment).

    `poll_interval`: seconds between registry checks. `timeout`: seconds a connect or a read may wait.
    `check_deadline`: seconds a whole check may take (default 5 × `timeout`), however the registry trickles; a check
    past it is abandoned and the next starts fresh (raise it above what a large bundle takes to download).
    `startup_timeout`: how long the constructor waits for the first check before it
    serves the cache or raises RegistryUnavailable. `follow=False` checks only when `refresh()` is called.
    `files_dir`: where local copies of large files go (default: the cache's blob folder, else bundlectl's cache folder).
    `routing_secret`: salts the canary routing hash (default: $BUNDLECTL_ROUTING_SECRET), so that knowing the
    candidate's digest is not enough to choose keys for an arm; give every process of the service the same one.
    """

    def __init__(
        self,
        name: str,
        env: str,
        registry: str | None = None,
        *,
        endpoint_url: str | None = None,
        poll_interval: float = 30.0,
        timeout: float = 2.0,
        startup_timeout: float = 10.0,
        cache_dir: str | Path | None = None,
        request_log: str | Path | None = None,
        cwd: Path | None = None,
        storage: Any = None,
        follow: bool = True,
        files_dir: str | Path | None = None,
        check_deadline: float | None = None,
        routing_secret: str | bytes | None = None,
    ) -> None:
        from bundlectl.foundation.names import is_env, is_name
        from bundlectl.runtime.follow import Follower
        from bundlectl.runtime.routing import routing_secret as secret_of
        from bundlectl.safeio.deadline import Abandoned
        from bundlectl.storage.base import NetworkLimits
        from bundlectl.storage.locate import open_storage, registry_url

        if not (is_name(name) and is_env(env)):
            raise UsageProblem(
                f"{name!r} in {env!r} is not a bundle name and environment",
                "names are lowercase letters, digits and dashes, as in `bundlectl status`",
            )
        check_deadline = CHECK_DEADLINE_TIMEOUTS * timeout if check_deadline is None else check_deadline
        if min(poll_interval, timeout, startup_timeout, check_deadline) <= 0:
            raise UsageProblem("poll_interval, timeout, startup_timeout and check_deadline must be positive numbers of seconds")
        self.check_deadline = check_deadline
        self.name, self.env = name, env
        self._routing_secret = secret_of(routing_secret)  # salts canary routing: the registry's readers do not know it
        self.poll_interval, self.timeout, self.startup_timeout = poll_interval, timeout, startup_timeout
        self.storage = storage or open_storage(
            registry_url(registry), cwd or Path.cwd(), endpoint_url=endpoint_url, limits=NetworkLimits(timeout, timeout, attempts=1)
        )
        self._cache = self._open_cache(cache_dir)
        self.files_dir = Path(files_dir) if files_dir is not None else self._default_files_dir(cache_dir)
        self._follower = Follower(self.storage, name, env, self.files_dir, self._cache)
        self._serving: Serving | None = None  # swapped whole under _swap; read without a lock by current()
        self._swap = threading.Lock()
        self._checking = threading.Lock()  # one registry check at a time: the thread's or refresh()'s
        self._check_started: float | None = None
        self._abandoned = Abandoned()  # checks given up at their deadline, still waiting on the network
        self._problem: str | None = None
        self._from_cache: str | None = None  # where and when, while serving what the cache held and the registry has not confirmed
        self._cache_refused: str | None = None  # why the cache held nothing to serve
        self._fatal: BundlectlError | None = None
        self._stop, self._first_check = threading.Event(), threading.Event()
        self._log = self._open_log(request_log) if request_log else None
        self.tallies = OutcomeTallies()  # what record() counted, for the OpenTelemetry and Prometheus exporters
        self._trace: Any = None
        try:
            from opentelemetry import trace

            from bundlectl.runtime import otel_metrics

            self._trace = trace
            otel_metrics.follow(self.tallies)
        except ImportError:
            pass
        self._load_cache()
        self._thread = threading.Thread(target=self._follow, args=(follow,), name=f"bundlectl-runtime {name}/{env}", daemon=True)
        self._thread.start()
        self._await_first_check()

    # serving ------------------------------------------------------------------------
    def current(self, key: str | None = None) -> LiveBundle:
        """The bundle to serve now: one attribute read, never the network. Raises Paused while ENV is paused.

        During a canary, a sticky share of routing keys (a user or request id) gets the candidate (`.arm`);
        without a key, the live bundle is served, outside the canary's comparison.
        """
        serving = self._serving
        assert serving is not None
        pause = serving.pause
        if pause is not None and pause.paused:
            refusal = serving.refusal()
            assert refusal is not None
            raise refusal
        if serving.candidate is None:
            return serving.bundle
        return serving.unrouted if key is None else serving.route(key, self._routing_secret)

    async def acurrent(self, key: str | None = None) -> LiveBundle:
        """`current()` for `async def` handlers: it never blocks the event loop (nothing in it waits)."""
        return self.current(key)

    def stamp(self, request_id: str | None = None, *, bundle: LiveBundle | None = None) -> dict[str, Any]:
        """Mark the current request: `bundle.*` attributes on the active OTel span, and a JSON line in the request log.

        Pass the `bundle` that `current(key=…)` gave this request: during a canary it may be the candidate.
        """
        attributes = dict((bundle or self.current()).attributes)
        if request_id is not None:
            attributes[REQUEST_ID] = request_id
        if self._trace is not None:
            span = self._trace.get_current_span()
            if span.is_recording():
                span.set_attributes(attributes)
        if self._log is not None:
            self._write({"time": event_time(), **attributes})
        return attributes

    async def astamp(self, request_id: str | None = None, *, bundle: LiveBundle | None = None) -> dict[str, Any]:
        """`stamp()` for `async def` handlers (one non-blocking append is all it may wait on)."""
        return self.stamp(request_id, bundle=bundle)

    def record(
        self,
        request_id: str | None,
        *,
        bundle: LiveBundle | None = None,
        ok: bool | None = None,
        escalated: bool | None = None,
        schema_valid: bool | None = None,
        latency_ms: float | None = None,
        cost_usd: float | None = None,
        **metrics: float | bool,
    ) -> dict[str, Any]:
        """The request's outcome, beside its stamp: a JSON line in the request log, and the OpenTelemetry and
        Prometheus counters (`bundle.*` attributes). `metrics` carries the owner's metric (`metadata.outcome.metric`).

        Pass the `bundle` that served the request; omitted, it is the live one. What is not known is left out.
        """
        served = bundle or self.current()
        values = outcome_values(ok, escalated, schema_valid, latency_ms, cost_usd, metrics)
        self.tallies.add(served.series, values)
        line = {"time": event_time(), REQUEST_ID: request_id, **served.attributes, OUTCOME: values}
        if self._log is not None:
            self._write(line)
        return line

    async def arecord(self, request_id: str | None, **outcome: Any) -> dict[str, Any]:
        """`record()` for `async def` handlers."""
        return self.record(request_id, **outcome)

    def held(self) -> tuple[LiveBundle, ...]:
        """The verified bundles held now: the live one, and the canary's candidate while one runs (paused or not)."""
        serving = self._serving
        if serving is None:
            return ()
        return (serving.bundle,) if serving.candidate is None else (serving.bundle, serving.candidate)

    @property
    def paused(self) -> PauseState | None:
        """The pause in force, or None."""
        serving = self._serving
        pause = serving.pause if serving else None
        return pause if pause is not None and pause.paused else None

    @property
    def problem(self) -> str | None:
        """Why the runtime may not be serving what the registry says now (unreachable, hanging, refused); None if all is well."""
        started = self._check_started
        if started is not None and time.monotonic() - started > 3 * self.timeout:
            return (
                f"a registry check has been running for {time.monotonic() - started:.0f} s (the registry is slow or "
                "not answering)" + self._still_serving() + self._log_problem()
            )
        if self._problem is None:
            return self._log_problem().removeprefix("; ") or None
        return self._problem + self._log_problem()

    @property
    def dropped_records(self) -> int:
        """Request log lines (stamps and records) that could not be written (a full disk): the log is incomplete."""
        return self._log.dropped if self._log is not None else 0

    def _log_problem(self) -> str:
        log_file = self._log
        if log_file is None or not log_file.dropped:
            return ""
        return (
            f"; the request log {log_file.path} dropped {log_file.dropped} line{'s' if log_file.dropped != 1 else ''} "
            f"({log_file.last_error}): it is incomplete, and the guard will not take it as evidence"
        )

    def close(self) -> None:
        """Stop following (a check in flight is abandoned at its deadline) and close the request log; never raises OSError."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=0.1)
        if self._trace is not None:
            from bundlectl.runtime import otel_metrics

            otel_metrics.forget(self.tallies)
        if self._log is not None:
            self._log.close()  # kept, so dropped_records and problem still tell
        if self._cache is not None:
            try:
                self._cache.release()
            except OSError:
                pass

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @classmethod
    async def acreate(cls, *args: Any, **kwargs: Any) -> Runtime:
        """Construct in a worker thread, so an `async` start-up never blocks its loop during the first check."""
        import asyncio

        return await asyncio.to_thread(cls, *args, **kwargs)

    # the request log ---------------------------------------------------------------------
    def _open_log(self, path: str | Path) -> Any:
        from bundlectl.foundation.stamp import ENV, LOG_DROPPED, NAME
        from bundlectl.safeio.appender import LineAppender

        def note(count: int) -> str:
            return json.dumps({"time": event_time(), NAME: self.name, ENV: self.env, LOG_DROPPED: count})

        try:
            return LineAppender(path, note)
        except OSError as exc:
            import errno

            why = "it is a symlink, which is not followed" if exc.errno == errno.ELOOP else exc.strerror or str(exc)
            raise UsageProblem(
                f"the request log {path} cannot be opened for appending ({why})", "give request_log= a file path in a folder this process can write"
            ) from None

    def _write(self, line: dict[str, Any]) -> None:
        if self._log is not None and not self._log.append(json.dumps(line)):
            self.tallies.drop()

    # following the registry -----------------------------------------------------------
    def refresh(self) -> bool:
        """Check the registry now, in this thread (bounded by `timeout` per call); True when something new was adopted."""
        return self._check()

    async def arefresh(self) -> bool:
        import asyncio

        return await asyncio.to_thread(self._check)

    def _follow(self, keep_following: bool) -> None:
        self._check()
        self._first_check.set()
        while keep_following and not self._stop.wait(self.poll_interval):
            self._check()

    def _check(self) -> bool:
        from bundlectl.runtime.follow import PauseOnly
        from bundlectl.safeio.deadline import Deadline, run_within

        with self._checking:
            if self._stop.is_set():
                return False
            if self._abandoned.running >= MAX_ABANDONED_CHECKS:  # each holds a thread and a connection: start no more
                self._report(
                    f"{self._abandoned.running} registry checks are still waiting on the registry past their "
                    f"{self.check_deadline:g} s deadline (it is trickling or hanging)" + self._still_serving()
                )
                return False
            self._check_started = time.monotonic()
            serving = self._serving
            try:
                candidate = run_within(lambda: self._follower.check(serving), Deadline(self.check_deadline), "the registry check", self._abandoned)
            except UsageProblem as exc:  # a mistake in how the runtime was set up, not an outage
                self._fatal = exc
                self._report(exc.message)
                return False
            except PauseOnly as exc:  # a pause or resume is followed even while the pointer cannot be
                adopted = self._adopt(exc.serving)
                self._report(self._why_not_followed(exc.cause) + self._still_serving())
                return adopted
            except Exception as exc:  # serving goes on whatever the registry does; `problem` says why
                self._report(self._why_not_followed(exc) + self._still_serving())
                return False
            finally:
                self._check_started = None
                self._keep_serving()
            self._problem, self._from_cache = None, None
            return candidate is not None and self._adopt(candidate)

    @staticmethod
    def _why_not_followed(exc: Exception) -> str:
        from bundlectl.runtime.follow import Refusal

        if isinstance(exc, Refusal):
            return exc.message
        message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        return f"registry unreachable or inconsistent ({message})"

    def _adopt(self, candidate: Serving) -> bool:
        with self._swap:
            if self._stop.is_set():
                return False
            before, self._serving = self._serving, candidate
        bundle = candidate.bundle
        if before is None or before.bundle.digest != bundle.digest or before.pointer != candidate.pointer:
            log.info("now serving %s@%s (%s) in %s, pointer version %s", self.name, bundle.version, bundle.digest, self.env, bundle.pointer_version)
        was_paused = before is not None and before.pause is not None and before.pause.paused
        if self.paused and not was_paused:
            log.warning("%s in %s is paused by %s: %s; current() raises Paused", self.name, self.env, self.paused.by, self.paused.reason)
        elif was_paused and not self.paused:
            log.info("%s in %s was resumed; serving %s again", self.name, self.env, bundle.version)
        self._save(candidate)
        return True

    # the last verified bundle on disk -------------------------------------------------
    def _open_cache(self, cache_dir: str | Path | None) -> Any:
        from bundlectl.runtime.cache import LastGood

        return LastGood(Path(cache_dir), self.name, self.env, self.storage.url) if cache_dir is not None else None

    @staticmethod
    def _default_files_dir(cache_dir: str | Path | None) -> Path:
        """Local copies of large files: the runtime cache's own blob folder, else `files/` in bundlectl's cache folder."""
        from bundlectl.digest.filehash import cache_dir as user_cache_dir
        from bundlectl.runtime.cache import blob_folder

        return blob_folder(Path(cache_dir)) if cache_dir is not None else user_cache_dir() / "files"

    def _load_cache(self) -> None:
        """Serve the cached bundle until the registry answers: it also sets the floor no older pointer may go below."""
        from bundlectl.runtime.cache import CacheUnusable

        if self._cache is None:
            return
        try:
            self._serving, saved_at = self._cache.load()
        except CacheUnusable as exc:
            self._cache_refused = exc.message
            return
        self._from_cache = f"from the cache in {self._cache.folder} (saved {saved_at})"

    def _keep_serving(self) -> None:
        """At every check: the cached files of the bundles served (live and canary) stay leased, whatever other runtimes
        save in the folder."""
        serving = self._serving
        if self._cache is not None and serving is not None:
            self._cache.keep(serving.bundle, *([serving.candidate] if serving.candidate else []))

    def _save(self, serving: Serving) -> None:
        if self._cache is None:
            return
        try:
            self._cache.save(serving)
        except (OSError, BundlectlError) as exc:
            why = getattr(exc, "message", None) or getattr(exc, "strerror", None) or str(exc)
            self._report(f"cannot keep the verified bundle in {self._cache.folder} ({why}); a process started during an outage could not serve it")

    def _await_first_check(self) -> None:
        self._first_check.wait(self.startup_timeout)
        with self._swap:
            if self._fatal is None and self._serving is not None:
                if self._from_cache is not None and self._problem is None:  # the first check is still waiting
                    self._problem = f"the registry did not answer within {self.startup_timeout:g} s" + self._still_serving()
                return
            self._stop.set()  # before the lock is released: nothing may be adopted by a runtime that failed to start
        self.close()
        if self._fatal is not None:
            raise self._fatal
        why = self._problem or f"the registry did not answer within {self.startup_timeout:g} s"
        cache = f"; the cache could not help: {self._cache_refused}" if self._cache_refused else ""
        raise RegistryUnavailable(
            f"no verified bundle of {self.name} in {self.env} to serve: {why}{cache}",
            "check the registry and that something is promoted there; with `cache_dir=`, a process "
            "starting during an outage serves the last verified bundle",
        )

    def _still_serving(self) -> str:
        serving = self._serving
        if serving is None:
            return ""
        where = f" {self._from_cache}" if self._from_cache else ""
        return f"; still serving {serving.bundle.version} (pointer version {serving.bundle.pointer_version}){where}"

    def _report(self, problem: str) -> None:
        if problem != self._problem:
            log.warning("bundlectl runtime %s/%s: %s", self.name, self.env, problem)
        self._problem = problem
