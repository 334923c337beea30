"""One check of the registry, as the runtime's background thread makes it: did the environment move, pause or canary?

Three conditional reads answer "nothing changed" cheaply (on S3 three 304s, on git three ref reads). A change
is accepted only if the event log agrees with it, it is not older than what was already seen, and the
new bundle's digest recomputes; then every file is fetched and checked before the bundle may be served.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bundlectl.errors import BundlectlError, DigestMismatch, IntegrityFailure, NotFound, PointerMismatch
from bundlectl.foundation.outcomes import CANDIDATE
from bundlectl.registry.pointers import (
    SETTLE_DELAYS,
    CanaryValue,
    PauseValue,
    PointerValue,
    canary_pointer_name,
    describe,
    logged_canary,
    logged_pause,
    logged_pointer,
    pause_pointer_name,
    pointer_name,
)
from bundlectl.runtime.bundle import LiveBundle, PauseState, Serving

log = logging.getLogger("bundlectl.runtime")

if TYPE_CHECKING:
    from bundlectl.registry.index import Index
    from bundlectl.runtime.cache import LastGood
    from bundlectl.storage.base import Pointer, Storage


class Refusal(BundlectlError):
    """A pointer the runtime will not follow (older than one already seen): reported, never served."""


class PauseOnly(BundlectlError):
    """A check that could follow the pause pointer but not the environment pointer: `serving` is the bundle already
    served under the new pause state, `cause` why the environment pointer was not followed."""

    def __init__(self, serving: Serving, cause: BundlectlError) -> None:
        super().__init__(cause.message, cause.hint)
        self.serving, self.cause = serving, cause


class _Disagrees(IntegrityFailure):
    """A pointer and the log say different things: a write in flight, or (if it lasts) damage."""


class Follower:
    def __init__(self, storage: Storage, name: str, env: str, files_dir: Path, cache: LastGood | None = None) -> None:
        self.storage, self.name, self.env, self.files_dir, self.cache = storage, name, env, files_dir, cache
        self.env_pointer, self.pause_pointer = pointer_name(name, env), pause_pointer_name(name, env)
        self.canary_pointer = canary_pointer_name(name, env)

    def check(self, serving: Serving | None) -> Serving | None:
        """What to serve from now on; None when nothing changed. Raises when the registry fails or disagrees.

        Pointers and log disagreeing for a moment is a write in flight; only a lasting disagreement is raised.
        """
        for delay in SETTLE_DELAYS:
            try:
                return self._check(serving, settled=False)
            except _Disagrees:
                time.sleep(delay)
        return self._check(serving, settled=True)

    def _check(self, serving: Serving | None, settled: bool) -> Serving | None:
        import bundlectl.transitions  # noqa: F401  (a pointer is followed only to records judged valid transitions)
        from bundlectl.registry.read import index_at_head
        from bundlectl.registry.signatures import with_signatures_checked
        from bundlectl.storage.base import UNCHANGED

        env_token, pause_token, canary_token = serving.tokens if serving else (None, None, None)
        env_read = self.storage.read_pointer_if_changed(self.env_pointer, env_token)
        pause_read = self.storage.read_pointer_if_changed(self.pause_pointer, pause_token)
        canary_read = self.storage.read_pointer_if_changed(self.canary_pointer, canary_token)
        pause_same = pause_read is UNCHANGED or (pause_read is None and pause_token is None and serving is not None and serving.pause is None)
        canary_same = canary_read is UNCHANGED or (canary_read is None and canary_token is None and serving is not None and serving.canary is None)
        if env_read is UNCHANGED and pause_same and canary_same:
            return None
        pause = None
        if pause_read is UNCHANGED:
            pause = serving.pause_value if serving else None
        elif pause_read is not None:
            pause = PauseValue.decode(pause_read.value, self.pause_pointer)
        canary = None
        if canary_read is UNCHANGED:
            canary = serving.canary if serving else None
        elif canary_read is not None:
            canary = CanaryValue.decode(canary_read.value, self.canary_pointer)
        index = index_at_head(self.storage, check_pointers=False)  # this check compares its own three pointers with the log
        # a pointer (the pause pointer too) is followed only to records that allowed keys signed for this registry: the
        # judgment of a record rests on who its actor is, and anyone who can write the storage can write an actor
        with_signatures_checked(self.storage, index)
        floor = serving if serving is not None and self._backed(index, serving) else None
        if floor is not None:
            self._pause_never_backwards(floor, pause)
        row = index.pause(self.name, self.env)
        logged_state = logged_pause(row)
        if logged_state != pause:
            raise _Disagrees(f"the pause pointer says {_paused(pause)} but the log says {_paused(logged_state)}")
        state = PauseState(row.paused, row.reason, row.actor, row.time, row.seq) if row else None
        tokens = (_token(env_read, env_token), _token(pause_read, pause_token), _token(canary_read, canary_token))
        try:
            return self._followed(serving, floor, index, env_read, state, tokens, canary)
        except BundlectlError as exc:
            # The kill switch is honoured whatever else is wrong: a verified pause or resume is adopted with
            # the bundle already served, and the environment pointer is read again at the next check.
            if serving is None or state == serving.pause or (isinstance(exc, _Disagrees) and not settled):
                raise
            raise PauseOnly(replace(serving, pause=state, tokens=(env_token, tokens[1], canary_token)), exc) from None

    def _followed(
        self,
        serving: Serving | None,
        floor: Serving | None,
        index: Index,
        env_read: Pointer | None | object,
        state: PauseState | None,
        tokens: tuple[str | None, str | None, str | None],
        canary: CanaryValue | None,
    ) -> Serving:
        """The environment and canary pointers' part of a check: the bundles they name, verified against the log and
        loaded (the candidate like the live bundle, every file fetched and checked)."""
        from bundlectl.storage.base import Pointer

        if env_read is None:
            raise NotFound(f"nothing of {self.name} is live in {self.env}")
        if isinstance(env_read, Pointer):
            value = PointerValue.decode(env_read.value, self.env_pointer)
        else:
            assert serving is not None
            value = serving.pointer
        if floor is not None and value.pointer_version < floor.pointer.pointer_version:
            raise Refusal(
                f"refused a replayed or stale pointer: version {value.pointer_version} ({value.version}) "
                f"is older than version {floor.pointer.pointer_version} already served"
            )
        logged = logged_pointer(index.pointer(self.name, self.env))
        if logged != value:
            raise _Disagrees(
                f"the pointer says {value.version} (version {value.pointer_version}) but the log "
                f"says {logged.version if logged else 'nothing'} (version {logged.pointer_version if logged else 0})"
            )
        if floor is not None and (canary.seq if canary else 0) < (floor.canary.seq if floor.canary else 0):
            raise Refusal(f"refused a replayed or stale canary pointer: {describe(canary)} is older than {describe(floor.canary)} already seen")
        logged_canary_value = logged_canary(*index.canary(self.name, self.env))
        if logged_canary_value != canary:
            raise _Disagrees(f"the canary pointer says {describe(canary)} but the log says {describe(logged_canary_value)}")
        bundle = serving.bundle if serving is not None and serving.pointer.digest == value.digest else self._load(index, value)
        running = canary.seq if canary is not None and canary.percent else None
        if (bundle.pointer_version, bundle.canary) != (value.pointer_version, running):  # same files, new stamp
            bundle = replace(bundle, pointer_version=value.pointer_version, canary=running)
        candidate = None
        if canary is not None and canary.percent:
            before = serving.candidate if serving is not None else None
            candidate = (
                before
                if before is not None and before.digest == canary.digest
                else self._load(index, PointerValue(self.name, self.env, canary.digest, canary.version, value.pointer_version, canary.seq))
            )
            if (candidate.arm, candidate.canary, candidate.pointer_version) != (CANDIDATE, running, value.pointer_version):
                candidate = replace(candidate, arm=CANDIDATE, canary=running, pointer_version=value.pointer_version)
        return Serving(bundle, value, state, tokens, canary, candidate)

    def _backed(self, index: Index, serving: Serving) -> bool:
        """Whether what is served may stand as the floor no pointer goes below: always, once the registry confirmed it;
        for what the cache holds, only if the log set that pointer and that pause state (anyone who can write the cache
        could otherwise pin an old bundle, or hide a pause, for good by claiming a higher version)."""
        if not serving.from_cache:
            return True
        pointer, pause = serving.pointer, serving.pause
        move = index.move_after(self.name, self.env, pointer.seq - 1)
        pointer_set = move is not None and (move.seq, move.to_digest, move.pointer_version) == (pointer.seq, pointer.digest, pointer.pointer_version)
        pause_set = pause is None or any((row.seq, row.paused) == (pause.seq, pause.paused) for row in index.pauses(self.name, self.env))
        if not pointer_set or not pause_set:
            claim = f"pointer version {pointer.pointer_version} ({pointer.version})" if not pointer_set else _paused(serving.pause_value)
            log.warning(
                "the runtime cache of %s in %s claims %s, which the registry's log never set: the cache was "
                "edited, or the registry lost records; following the registry",
                self.name,
                self.env,
                claim,
            )
        return pointer_set and pause_set

    def _pause_never_backwards(self, serving: Serving, pause: PauseValue | None) -> None:
        seen_pause = serving.pause.seq if serving.pause else 0
        if (pause.seq if pause else 0) < seen_pause:
            raise Refusal(f"refused a replayed or stale pause pointer: {_paused(pause)} is older than {_paused(serving.pause_value)} already seen")

    def _load(self, index: Index, value: PointerValue) -> LiveBundle:
        """The bundle the pointer names, its digest recomputed and every file fetched and checked (cache first)."""
        from bundlectl.registry.bundles import read_blob
        from bundlectl.runtime.files import IN_MEMORY_MAX, local_copy

        row = index.bundle(self.name, value.version)
        if row is None or row.digest != value.digest:
            raise PointerMismatch(f"{self.name}@{value.version} is not registered with digest {value.digest}")
        record = row.record()
        if record.computed_digest() != record.digest or record.altered_component() is not None:
            raise DigestMismatch(f"{record.ref}: the bundle digest does not match its components")
        files, paths = {}, {}
        for component in record.components.values():
            for relpath, entry in component.files.items():
                label = f"{record.ref}:{relpath}"
                if entry.size > IN_MEMORY_MAX:  # copied to disk in chunks and checked; never held in memory
                    copy = functools.partial(_copy_out, self.storage, entry.digest, label)
                    paths[relpath] = local_copy(self.files_dir, entry.digest, entry.size, copy)
                    continue
                cached = self.cache.blob(entry.digest, entry.size) if self.cache else None
                files[relpath] = cached if cached is not None else read_blob(self.storage, entry.digest, label)
        return LiveBundle(self.name, self.env, record.version, record.digest, value.pointer_version, record, files, paths, self.files_dir)


def _copy_out(storage: Storage, digest: str, label: str, target: IO[bytes]) -> None:
    from bundlectl.registry.bundles import copy_blob

    copy_blob(storage, digest, label, target.write)


def _token(read: Pointer | None | object, before: str | None) -> str | None:
    """The token to present next time: the new pointer's, the old one when unchanged, None when absent."""
    from bundlectl.storage.base import Pointer

    if isinstance(read, Pointer):
        return read.token
    return None if read is None else before


def _paused(pause: PauseValue | None) -> str:
    return describe(pause) if pause else "never paused"
