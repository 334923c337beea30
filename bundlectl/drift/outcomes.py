"""`review --from-guard SOURCE`: the owner's metric over the live bundle's recorded outcomes, read as the guard reads them."""

from __future__ import annotations

from pathlib import Path

from bundlectl.drift.check import live_bundle
from bundlectl.errors import Refused
from bundlectl.guard.request_log import tally_request_logs
from bundlectl.registry.read import index_at_head
from bundlectl.storage.base import Storage


def live_outcome_mean(storage: Storage, name: str, env: str, source: str) -> float:
    """The mean of the owner's metric over the outcomes the live bundle served in ENV, from the request log SOURCE."""
    pointer, bundle = live_bundle(index_at_head(storage), name, env)
    outcome = bundle.record().metadata.get("outcome")
    if not outcome:
        raise Refused(
            f"{name}@{pointer.version} declares no outcome metric (metadata.outcome); nothing was recorded",
            "declare metadata.outcome: {metric, target, tolerance} in bundle.yaml",
        )
    moments = tally_request_logs([Path(source)], name, env, digest=pointer.digest).arm("live").metric(outcome["metric"])
    if moments.n == 0:
        raise Refused(
            f"{source} records no {outcome['metric']} outcome of {name}@{pointer.version} in {env}; nothing was recorded",
            "point --from-guard at the request log serving code writes",
        )
    return moments.mean
