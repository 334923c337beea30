"""The in-process runtime as an OpenFeature provider: Python services use OpenFeature's API, as services that call
`bundlectl serve` over OFREP do, with the same values, reasons and metadata and no network on the request path.

    from openfeature import api
    from bundlectl.openfeature import BundleProvider

    api.set_provider_and_wait(BundleProvider([Runtime("support-triage", "production", cache_dir="/var/cache/bundlectl")]))
    details = api.get_client().get_object_details("support-triage", {}, EvaluationContext(targeting_key=user_id))

Object flags only (the flag key is the bundle name). A watcher thread emits PROVIDER_CONFIGURATION_CHANGED
(flags_changed: the bundle names) when a runtime adopts another bundle, a canary step, a pause or a resume.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import FlagNotFoundError, TypeMismatchError
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider
from openfeature.provider.metadata import Metadata

from bundlectl.runtime import Paused, Runtime
from bundlectl.serve.evaluation import PAUSED, bundle_value, paused_metadata

ObjectValue = Sequence[FlagValueType] | Mapping[str, FlagValueType]


def _state(runtime: Runtime) -> tuple[Any, ...]:
    """What a change event is about: the bundles held (digest, pointer, canary step) and the pause in force."""
    paused = runtime.paused
    return (tuple((b.digest, b.pointer_version, b.canary) for b in runtime.held()), paused.seq if paused else None)


class BundleProvider(AbstractProvider):
    """Resolves object flags named after bundles to the bundle each runtime serves for the context's targetingKey."""

    def __init__(self, runtimes: Runtime | Iterable[Runtime], *, watch_interval: float = 0.5) -> None:
        super().__init__()
        listed = [runtimes] if isinstance(runtimes, Runtime) else list(runtimes)
        self.runtimes = {runtime.name: runtime for runtime in listed}
        self.watch_interval = watch_interval
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def get_metadata(self) -> Metadata:
        return Metadata(name="bundlectl")

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, name="bundlectl openfeature watcher", daemon=True)
        self._watcher.start()

    def shutdown(self) -> None:
        """Stops the watcher; the runtimes stay open (their owner closes them)."""
        self._stop.set()

    def _watch(self) -> None:
        seen = {name: _state(runtime) for name, runtime in self.runtimes.items()}
        while not self._stop.wait(self.watch_interval):
            now = {name: _state(runtime) for name, runtime in self.runtimes.items()}
            changed = sorted(name for name in now if now[name] != seen[name])
            seen = now
            if changed:
                self.emit_provider_configuration_changed(ProviderEventDetails(flags_changed=changed, message=f"{', '.join(changed)} changed"))

    def resolve_object_details(
        self, flag_key: str, default_value: ObjectValue, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[ObjectValue]:
        runtime = self.runtimes.get(flag_key)
        if runtime is None:
            raise FlagNotFoundError(f"flag {flag_key!r} is not a bundle this provider follows ({', '.join(sorted(self.runtimes))})")
        key = evaluation_context.targeting_key if evaluation_context is not None else None
        try:
            bundle = runtime.current(key or None)
        except Paused as paused:  # the code default: the service's fallback path
            return FlagResolutionDetails(default_value, reason=Reason.DISABLED, variant=PAUSED, flag_metadata=paused_metadata(paused))
        reason = Reason.SPLIT if bundle.canary is not None and key else Reason.STATIC
        return FlagResolutionDetails(bundle_value(bundle, None), reason=reason, variant=bundle.version, flag_metadata=dict(bundle.attributes))

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        raise TypeMismatchError(f"{flag_key} is a bundle: an object flag")

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        raise TypeMismatchError(f"{flag_key} is a bundle: an object flag")

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        raise TypeMismatchError(f"{flag_key} is a bundle: an object flag")

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        raise TypeMismatchError(f"{flag_key} is a bundle: an object flag")
