"""`bundlectl init`: the registry's first event, then the starter gate policy."""

from __future__ import annotations

from dataclasses import dataclass

from bundlectl.integrity.registry_id import new_registry_id
from bundlectl.policy.starter import STARTER_POLICY
from bundlectl.registry.events import InitData
from bundlectl.registry.log import Planned, append
from bundlectl.storage.base import Storage
from bundlectl.trust.identity import Acting
from bundlectl.workflows.promote import set_policy

FORMAT = 2  # 2: every evidence record is written under the prompt rule (readers judge each by it from seq 1)


@dataclass(frozen=True)
class InitResult:
    url: str
    created: bool
    policy_written: bool


def init_registry(storage: Storage, actor: Acting) -> InitResult:

    storage.initialize()
    if storage.is_initialized():
        return InitResult(storage.url, False, False)
    event = append(
        storage,
        lambda index: None if index.head().id else Planned("init", InitData(format=FORMAT, registry=new_registry_id())),
        actor,
        "bundlectl init",
        allow_empty=True,
    )
    policy = set_policy(storage, STARTER_POLICY.encode(), "starter policy", actor, "starter policy from bundlectl init")
    return InitResult(storage.url, event is not None, policy.created)
