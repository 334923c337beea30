"""The library's front door: one function per thing a user does, plain values in, typed results out.

Each call opens what it needs (the storage for `registry`, then the read index) and keeps nothing
afterwards. Library modules are imported inside the functions, so importing this module is cheap and a
read never pays for git, S3, pydantic or YAML it does not use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

__all__ = [
    "new_bundle",
    "validate",
    "register",
    "list_bundles",
    "show",
    "export",
    "diff",
    "export_schemas",
    "init",
    "copy_registry",
    "verify",
    "evidence_add",
    "evidence_list",
    "eval_run",
    "evals_cases",
    "set_policy",
    "show_policy",
    "set_trust",
    "show_trust",
    "gate",
    "approve",
    "promote",
    "rollback",
    "build_rollback",
    "canary",
    "guard",
    "rehearse",
    "pause",
    "resume",
    "status",
    "status_report",
    "history",
    "audit_at",
    "audit_request",
    "serve",
    "set_webhooks",
    "show_webhooks",
    "deliver_webhooks",
    "webhooks_log",
    "enable_webhook",
    "report",
    "rollback_advice",
    "break_glass_standing",
    "doctor",
    "completion_words",
    "drift",
    "review",
]

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from bundlectl.bundle.content.case_list import DeclaredCase
    from bundlectl.bundle.record import BundleRecord
    from bundlectl.diff.bundles import BundleDiff
    from bundlectl.doctor.checks import DoctorReport
    from bundlectl.drift.check import DriftResult
    from bundlectl.drift.reviews import ReviewResult
    from bundlectl.evidence.add import EvidenceAdded
    from bundlectl.evidence.listing import EvidenceListing
    from bundlectl.evidence.run import EvalRun
    from bundlectl.foundation.progress import ProgressSink
    from bundlectl.gate.result import GateResult
    from bundlectl.registry.bundles import RegisterResult
    from bundlectl.registry.refs import BundleSource
    from bundlectl.registry.rows import BundleRow, CanaryRow, MoveRow, PauseRow, WatchRow
    from bundlectl.report.model import ReleaseReport
    from bundlectl.storage.base import Storage
    from bundlectl.trust.identity import Acting
    from bundlectl.workflows.audit import LiveAt, RequestAudit
    from bundlectl.workflows.canary import CanaryResult
    from bundlectl.workflows.guard import GuardReport
    from bundlectl.workflows.init import InitResult
    from bundlectl.workflows.moves import MoveResult
    from bundlectl.workflows.pause import PauseResult
    from bundlectl.workflows.promote import PolicyResult
    from bundlectl.workflows.registry import CopyResult
    from bundlectl.workflows.rollback import BuiltRollback, RollbackResult
    from bundlectl.workflows.status import LiveStatus, StatusReport
    from bundlectl.workflows.trust import TrustResult, TrustView

    Keys = str | Sequence[str] | None  # --key: one path, or several (a threshold of admins)
    from bundlectl.webhooks.deliver import DeliveryPass, EndpointLog
    from bundlectl.webhooks.subscriptions import Subscriptions, WebhooksResult
    from bundlectl.workflows.validate import ValidationResult
    from bundlectl.workflows.verify import VerifyReport


# The facade's own results are NamedTuples: immutable and typed like frozen dataclasses, but about a
# fifth of their cost to define, and this module is imported by every command.


class Exported(NamedTuple):
    record: BundleRecord
    folder: Path


class RegistryCopied(NamedTuple):
    source_url: str
    target_url: str
    result: CopyResult
    migrated: bool = False


class Approval(NamedTuple):
    bundle: BundleRow
    env: str
    actor: str  # the approving key's principal once trust is set, else the claimed identity
    seq: int | None  # None: this actor had already approved it
    signed: bool = False
    not_counted: str | None = None  # why the gate will never count it (the approver registered the bundle), if so


class PolicyInForce(NamedTuple):
    policy: dict[str, Any]
    seq: int

    def to_json(self) -> dict[str, Any]:
        """The `policy show --json` document."""
        return {"seq": self.seq, "policy": self.policy}


class RollbackReport(NamedTuple):
    result: RollbackResult
    diff: BundleDiff | None  # dry runs only: the live bundle against the one ENV would point at

    def to_json(self) -> dict[str, Any]:
        """The `rollback --json` document: the result, and a dry run's diff."""
        return {**self.result.to_json(), **({"diff": self.diff.to_json()} if self.diff is not None else {})}


class Rehearsal(NamedTuple):
    back: RollbackResult
    forward: RollbackResult
    evidence: EvidenceAdded

    def to_json(self) -> dict[str, Any]:
        """The `rollback --rehearse --json` document."""
        return {
            "rehearsed": True,
            "name": self.forward.plan.live.name,
            "env": self.forward.plan.env,
            "back_to": self.back.plan.target.version,
            "forward_to": self.forward.plan.target.version,
            "evidence_seq": self.evidence.seq,
        }


# --- bundles -------------------------------------------------------------------------------------------


def new_bundle(name: str, parent: Path = Path("bundles")) -> Path:
    """Scaffold PARENT/NAME with all eight components; returns the new folder."""
    from bundlectl.workflows.new import scaffold_bundle

    return scaffold_bundle(name, parent)


def validate(
    paths: list[Path], progress: ProgressSink | None = None, changed: bool = False, *, allow_hard_links: bool = False
) -> list[ValidationResult]:
    """Validate the bundles PATHS name: bundle folders, files inside bundles, folders of bundles. With
    `changed`, PATHS are changed files (pre-commit's) and a file in no bundle is skipped."""
    from bundlectl.workflows.validate import validate_folders

    return validate_folders(paths, progress, changed, allow_hard_links=allow_hard_links)


def register(
    path: Path,
    *,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
    dry_run: bool = False,
    progress: ProgressSink | None = None,
    allow_hard_links: bool = False,
) -> RegisterResult:
    """Freeze a bundle folder into the registry (the folder is read first, so its problems come first); a component
    file with more than one hard link is refused unless `allow_hard_links`."""
    from bundlectl.bundle.folder import read_bundle_folder
    from bundlectl.registry.bundles import register_bundle

    folder = read_bundle_folder(path, progress=progress, allow_hard_links=allow_hard_links)
    storage = _storage(registry, endpoint_url, refresh=True)
    return register_bundle(storage, folder, _acting(actor, key), reason, dry_run, progress)


def list_bundles(name: str | None = None, *, registry: str | None = None, endpoint_url: str | None = None) -> list[BundleRow]:
    from bundlectl.registry.bundles import list_bundles as registered

    return registered(_storage(registry, endpoint_url), name)


def show(ref: str, *, registry: str | None = None, endpoint_url: str | None = None) -> BundleRecord:
    """The bundle REF names: registered, a folder, or git:REV:PATH (the registry is opened only if needed)."""
    return _source(ref, _OpenOnce(registry, endpoint_url)).record


def export(ref: str, folder: Path, *, registry: str | None = None, endpoint_url: str | None = None) -> Exported:
    """Write the bundle REF out as a folder that re-validates to the same digest."""
    from bundlectl.bundle.export import export_bundle

    source = _source(ref, _OpenOnce(registry, endpoint_url))
    return Exported(source.record, export_bundle(source.record, source.copy_file, folder))


def diff(ref_a: str, ref_b: str, components: list[str] | None = None, *, registry: str | None = None, endpoint_url: str | None = None) -> BundleDiff:
    """The component-aware diff of two bundles; `components` limits it to those kinds."""
    from bundlectl.diff.bundles import diff_bundles

    storage = _OpenOnce(registry, endpoint_url)
    return diff_bundles(_source(ref_a, storage), _source(ref_b, storage), components or None)


def export_schemas(folder: Path) -> list[Path]:
    from bundlectl.workflows.schemas import export_schemas as write

    return write(folder)


# --- the registry itself -------------------------------------------------------------------------------


def init(*, registry: str | None = None, endpoint_url: str | None = None, actor: str | None = None) -> InitResult:
    """Create the registry (idempotent) with its first event and the starter gate policy."""
    from bundlectl.workflows.init import init_registry

    return init_registry(_storage(registry, endpoint_url, create=True, refresh=True), _acting(actor, None))


def copy_registry(source: str, target: str, *, endpoint_url: str | None = None, migrate: bool = False) -> RegistryCopied:
    """Copy every event, object and pointer from SOURCE to TARGET (a git target is created if missing): a sandbox
    copy with an id of its own, or with `migrate` the registry itself, SOURCE then retired."""
    from bundlectl.storage.locate import open_storage
    from bundlectl.workflows.registry import copy_registry as copy

    src = open_storage(source, Path.cwd(), endpoint_url=endpoint_url)
    dst = open_storage(target, Path.cwd(), create=not target.startswith("s3://"), endpoint_url=endpoint_url)
    src.refresh()
    dst.refresh()
    return RegistryCopied(src.url, dst.url, copy(src, dst, migrate=migrate), migrate)


def verify(
    *, registry: str | None = None, endpoint_url: str | None = None, trust_root: str | None = None, registry_id: str | None = None
) -> VerifyReport:
    """Re-check every digest, the log chain, the pointers and every signature; raises IntegrityFailure on tampering.

    `trust_root`, the digest of the first trust file (`trust show`), pins it: a log whose trust began elsewhere fails;
    `registry_id` pins the registry: a log that is another one (a sandbox copy brought back) fails.
    """
    from bundlectl.workflows.verify import verify_registry

    return verify_registry(_storage(registry, endpoint_url, refresh=True), trust_root, registry_id)


# --- evidence and policy -------------------------------------------------------------------------------


def evidence_add(
    ref: str,
    file: str,
    kind: str | None = None,
    fmt: str = "auto",
    *,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
) -> EvidenceAdded:
    """Bind the report FILE to the registered bundle REF; `file` is also the label its problems carry."""
    from bundlectl.evidence.add import add_evidence
    from bundlectl.evidence.importers import read_report

    storage = _storage(registry, endpoint_url, refresh=True)
    bundle = _registered(ref, storage)
    data = read_report(Path(file))
    return add_evidence(storage, bundle, data, file, kind, fmt, _acting(actor, key), reason)


def evidence_list(
    ref: str, env: str | None = None, *, registry: str | None = None, endpoint_url: str | None = None, now: datetime | None = None
) -> EvidenceListing:
    """The evidence bound to REF, each report judged fresh or stale by the gate of ENV that reads its kind."""
    from bundlectl.evidence.listing import list_evidence
    from bundlectl.foundation.clock import now_utc
    from bundlectl.registry.read import index_at_head

    storage = _storage(registry, endpoint_url)
    bundle = _registered(ref, storage)
    return list_evidence(index_at_head(storage), bundle, env, now or now_utc())


def eval_run(
    ref: str,
    command: list[str],
    report: str | None = None,
    fmt: str = "auto",
    *,
    keep: bool = False,
    output: Callable[[bytes], None] | None = None,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
) -> EvalRun:
    """Run COMMAND (empty: the harness REF declares) on REF's exact files, exported to a fresh folder, and bind the
    report it writes as a measured run."""
    from bundlectl.evidence.run import run_eval

    storage = _storage(registry, endpoint_url, refresh=True)
    bundle = _registered(ref, storage)
    return run_eval(storage, bundle, list(command), report, fmt, _acting(actor, key), reason, keep, output)


def evals_cases(file: str, fmt: str = "auto") -> list[DeclaredCase]:
    """The case list a report implies: what `evals: {cases: …}` declares for a suite that is not promptfoo."""
    from bundlectl.evidence.cases import report_case_list
    from bundlectl.evidence.importers import import_report, read_report

    return report_case_list(import_report(read_report(Path(file)), file, fmt), file)


def set_policy(
    file: str,
    *,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
    dry_run: bool = False,
) -> PolicyResult:
    """Store the policy in FILE as a logged, versioned event (a dry run only validates it)."""
    from bundlectl.foundation.textfile import read_input
    from bundlectl.workflows.promote import set_policy as store_policy

    data = read_input(Path(file))
    return store_policy(_storage(registry, endpoint_url, refresh=True), data, file, _acting(actor, key), reason, dry_run)


def show_policy(*, registry: str | None = None, endpoint_url: str | None = None) -> PolicyInForce:
    """The policy in force and the event that stored it; NotFound when there is none."""
    from bundlectl.errors import NotFound
    from bundlectl.registry.read import index_at_head

    document, seq = index_at_head(_storage(registry, endpoint_url)).policy()
    if document is None or seq is None:
        raise NotFound("no gate policy is in force", "store one with `bundlectl policy set FILE`")
    return PolicyInForce(document, seq)


# --- trust ---------------------------------------------------------------------------------------------


def set_trust(
    file: str, *, registry: str | None = None, endpoint_url: str | None = None, key: Keys = None, reason: str | None = None, dry_run: bool = False
) -> TrustResult:
    """Store the trust file FILE, signed by `key` (a threshold of admins: of its own the first time, else of those in force)."""
    from bundlectl.foundation.textfile import read_input
    from bundlectl.workflows.trust import set_trust as store_trust

    data = read_input(Path(file))
    return store_trust(_storage(registry, endpoint_url, refresh=True), data, file, _acting(None, key), reason, dry_run)


def show_trust(*, registry: str | None = None, endpoint_url: str | None = None) -> TrustView:
    """The trust in force: roles, principals, key fingerprints; NotFound when the registry has none."""
    from bundlectl.workflows.trust import show_trust as trust_view

    return trust_view(_storage(registry, endpoint_url))


# --- what is live --------------------------------------------------------------------------------------


def gate(
    ref: str, env: str, *, registry: str | None = None, endpoint_url: str | None = None, actor: str | None = None, key: Keys = None
) -> GateResult:
    """Every check of ENV's gate for REF, as if `actor` (or the holder of `key`) promoted it now; changes nothing."""
    from bundlectl.workflows.promote import check_gate

    storage = _storage(registry, endpoint_url)
    return check_gate(storage, _registered(ref, storage), env, _acting(actor, key))


def approve(
    ref: str,
    env: str,
    *,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
) -> Approval:
    from bundlectl.workflows.promote import approve as record_approval

    storage = _storage(registry, endpoint_url, refresh=True)
    bundle = _registered(ref, storage)
    result = record_approval(storage, bundle, env, _acting(actor, key), reason)
    return Approval(bundle, env, result.actor, result.seq, result.signed, result.not_counted)


def promote(
    ref: str,
    env: str,
    *,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
    dry_run: bool = False,
    notify: bool = False,
) -> MoveResult:
    """Move ENV to REF if the gate passes; raises GateRefused (carrying the gate) if not, after telling the webhooks
    subscribed to promotion.refused when `notify`."""
    from bundlectl.gate.result import GateRefused
    from bundlectl.workflows.promote import promote as move

    storage = _storage(registry, endpoint_url, refresh=True)
    bundle = _registered(ref, storage)
    acting = _acting(actor, key)
    try:
        return move(storage, bundle, env, acting, reason, dry_run)
    except GateRefused as refused:
        if notify and not dry_run:
            from bundlectl.webhooks.notices import notify_refused

            notify_refused(storage, refused.result, lambda: acting.claimed, reason)
        raise


def rollback(
    name: str,
    env: str,
    *,
    to: str | None = None,
    components: list[str] | None = None,
    break_glass: bool = False,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
    dry_run: bool = False,
    as_owner: bool = False,
) -> RollbackReport | CanaryResult:
    """Point ENV back (or swap `components` back); a dry run also diffs the live bundle against the target.

    While a canary runs, a plain rollback ends it instead (a CanaryResult): what is live stays live. `as_owner`: by
    the bundle's owner on the authority of consecutive out-of-tolerance reviews (`bundlectl review`).
    """
    from bundlectl.workflows.canary import end_running_canary
    from bundlectl.workflows.rollback import rollback as roll_back
    from bundlectl.workflows.rollback import rollback_diff

    storage = _storage(registry, endpoint_url, refresh=True)
    if not to and not components:
        ended = end_running_canary(storage, name, env, _acting(actor, key), reason, dry_run)
        if ended is not None:
            return ended
    target = _registered(to, storage) if to else None
    authority = None
    if as_owner:
        from bundlectl.drift.reviews import owner_authority_claim

        authority = owner_authority_claim
    result = roll_back(storage, name, env, _acting(actor, key), reason, target, list(components or []), break_glass, dry_run, authority=authority)
    return RollbackReport(result, rollback_diff(result, storage) if dry_run else None)


def build_rollback(
    name: str,
    env: str,
    components: list[str],
    *,
    to: str | None = None,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
    dry_run: bool = False,
) -> BuiltRollback:
    """Register the bundle a component rollback of ENV would build, moving nothing (`rollback --register-only`)."""
    from bundlectl.workflows.rollback import register_rollback_bundle

    storage = _storage(registry, endpoint_url, refresh=True)
    target = _registered(to, storage) if to else None
    return register_rollback_bundle(storage, name, env, _acting(actor, key), reason, target, components, dry_run)


def canary(
    ref: str,
    env: str,
    percent: int,
    *,
    steps: list[int] | None = None,
    step_time: str | None = None,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
    dry_run: bool = False,
) -> CanaryResult:
    """`promote REF --env ENV --canary PERCENT`: serve REF beside what is live to a sticky share of requests.

    REF passes ENV's gate like any promotion; `steps` (ending at 100) are the shares the guard moves it
    through, each lasting at least `step_time` (30m, 1h, 2d; default 1h). Raises GateRefused if the gate fails.
    """
    from bundlectl.foundation.durations import duration_option
    from bundlectl.workflows.canary import start_canary

    storage = _storage(registry, endpoint_url, refresh=True)
    bundle = _registered(ref, storage)
    return start_canary(storage, bundle, env, percent, steps, duration_option(step_time, "--step-time"), _acting(actor, key), reason, dry_run)


def guard(
    name: str,
    env: str,
    *,
    sources: list[str] | None = None,
    prometheus: str | None = None,
    apply: bool = False,
    alpha: float = 0.05,
    min_sample: int = 1000,
    timeout: float = 10.0,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
    now: datetime | None = None,
    margins: dict[str, float] | None = None,
    beta: float | None = None,
    max_sample: int | None = None,
    notify: bool = True,
) -> GuardReport:
    """Judge NAME in ENV (its canary against the live bundle, or the live bundle against its owner's outcome target)
    from request logs (`sources`) or a Prometheus server; `apply` carries the decision out as a logged event.
    `margins`: per metric, the largest regression a canary step may pass with (over the manifest's); `notify`:
    deliver a decision that is not applied to the webhook subscribers (a report judging on the side does not)."""
    from bundlectl.workflows.guard import guard_settings, outcome_source, run_guard

    settings = guard_settings(sources, prometheus, alpha, min_sample, timeout, margins, beta, max_sample)
    storage = _storage(registry, endpoint_url, refresh=apply)
    report = run_guard(
        storage,
        name,
        env,
        outcome_source(sources, prometheus, timeout),
        settings,
        apply=apply,
        actor=_acting(actor, key) if apply else None,
        reason=reason,
        now=now,
    )
    if notify and report.applied is None and report.judgement.decision != "hold":  # an applied one is logged, and delivered from the log
        from bundlectl.trust.identity import acting_identity, ci_identity
        from bundlectl.webhooks.notices import notify_guard

        notify_guard(storage, report, lambda: acting_identity(actor, ci_identity()[0]))
    return report


def rehearse(
    name: str,
    env: str,
    *,
    to: str | None = None,
    components: list[str] | None = None,
    break_glass: bool = False,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
) -> Rehearsal:
    """Roll back and forward again in a non-production ENV, and record the rehearsal as evidence."""
    from bundlectl.workflows.rollback import rehearse as rehearse_rollback

    storage = _storage(registry, endpoint_url, refresh=True)
    target = _registered(to, storage) if to else None
    back, forward, evidence = rehearse_rollback(storage, name, env, _acting(actor, key), reason, target, list(components or []), break_glass)
    return Rehearsal(back, forward, evidence)


def pause(
    name: str,
    env: str,
    *,
    reason: str | None,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    dry_run: bool = False,
    as_owner: bool = False,
) -> PauseResult:
    """The kill switch: serving runtimes refuse NAME's bundle in ENV (`Paused`) until `resume`; promotion is refused.

    `as_owner`: by the bundle's owner on the authority of consecutive out-of-tolerance reviews (`bundlectl review`)."""
    from bundlectl.workflows.pause import set_paused

    if as_owner:
        from bundlectl.drift.reviews import owner_authority_claim

        return set_paused(
            _storage(registry, endpoint_url, refresh=True), name, env, True, _acting(actor, key), reason, dry_run, owner_authority_claim
        )
    return set_paused(_storage(registry, endpoint_url, refresh=True), name, env, True, _acting(actor, key), reason, dry_run)


def resume(
    name: str,
    env: str,
    *,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
    dry_run: bool = False,
) -> PauseResult:
    """End a pause of NAME in ENV: runtimes serve its bundle again at their next poll."""
    from bundlectl.workflows.pause import set_paused

    return set_paused(_storage(registry, endpoint_url, refresh=True), name, env, False, _acting(actor, key), reason, dry_run)


def status(
    name: str | None = None, *, registry: str | None = None, endpoint_url: str | None = None, now: datetime | None = None, refresh: bool = False
) -> list[LiveStatus]:
    """What is live in each environment (of NAME, or of every bundle) and how its evidence stands now.

    `refresh` reads a shared registry as it is now, not as this machine fetched it a moment ago (`--check`).
    """
    return status_report(name, registry=registry, endpoint_url=endpoint_url, now=now, refresh=refresh).environments


def status_report(
    name: str | None = None, *, registry: str | None = None, endpoint_url: str | None = None, now: datetime | None = None, refresh: bool = False
) -> StatusReport:
    """`status`, and whether the registry has trust set (else every identity shown is a claim)."""
    from bundlectl.foundation.clock import now_utc
    from bundlectl.registry.read import index_at_head
    from bundlectl.registry.signatures import with_signatures_checked
    from bundlectl.workflows.status import status_report as report

    storage = _storage(registry, endpoint_url, refresh=refresh)
    index = index_at_head(storage)
    if refresh:  # `status --check`, the check CI runs: no live bundle may rest on a record no allowed key signed
        index = with_signatures_checked(storage, index)
    return report(index, now or now_utc(), name)


def history(
    name: str, env: str, limit: int | None = None, *, registry: str | None = None, endpoint_url: str | None = None
) -> list[MoveRow | PauseRow | CanaryRow | WatchRow]:
    """Promotions, rollbacks, pauses, resumes, canaries, drift runs and reviews of NAME in ENV, newest first;
    `limit` None means all."""
    from bundlectl.registry.read import index_at_head
    from bundlectl.workflows.status import known_environment, pointer_history

    index = index_at_head(_storage(registry, endpoint_url))
    events = pointer_history(index, name, env, limit)
    if not events:
        known_environment(index, env)  # a mistyped --env is not "has never been live"
    return events


def audit_at(name: str, env: str, at: datetime, *, registry: str | None = None, endpoint_url: str | None = None) -> LiveAt:
    """Which bundle of NAME was live in ENV at the instant `at`."""
    from bundlectl.registry.read import index_at_head
    from bundlectl.workflows.audit import live_at

    return live_at(index_at_head(_storage(registry, endpoint_url)), name, env, at)


def audit_request(request_id: str, logs: list[Path], *, registry: str | None = None, endpoint_url: str | None = None) -> RequestAudit:
    """The stamp of `request_id` in LOGS, checked against the log (see `RequestAudit.consistent`)."""
    from bundlectl.registry.read import index_at_head
    from bundlectl.workflows.audit import audit_request as check_stamp
    from bundlectl.workflows.audit import find_stamp

    stamp = find_stamp(request_id, logs)
    return check_stamp(index_at_head(_storage(registry, endpoint_url)), stamp)


# --- opening things ------------------------------------------------------------------------------------


def _storage(registry: str | None, endpoint_url: str | None, create: bool = False, refresh: bool = False) -> Storage:
    """--registry, else BUNDLECTL_REGISTRY, else the git repository around the current folder.

    `refresh` (writes, verify, `status --check`): a shared registry is read as it is now, not from a copy within its time to live.
    """
    import bundlectl.transitions  # noqa: F401  (every record read through this storage is judged before it is taken in)
    from bundlectl.storage.locate import open_storage, registry_url

    storage = open_storage(registry_url(registry), Path.cwd(), create=create, endpoint_url=endpoint_url)
    if refresh:
        from bundlectl.webhooks.hook import install

        storage.refresh()
        install()  # a write tries its webhooks once it is stored (bounded by BUNDLECTL_WEBHOOK_DEADLINE)
    return storage


class _OpenOnce:
    """The storage, opened at the first call only: refs to folders never touch the registry."""

    def __init__(self, registry: str | None, endpoint_url: str | None) -> None:
        self._where = (registry, endpoint_url)
        self._storage: Storage | None = None

    def __call__(self) -> Storage:
        if self._storage is None:
            self._storage = _storage(*self._where)
        return self._storage


def _source(ref: str, storage: _OpenOnce) -> BundleSource:
    from bundlectl.registry.refs import resolve

    return resolve(ref, Path.cwd(), storage)


def _registered(ref: str, storage: Storage) -> BundleRow:
    from bundlectl.registry.refs import resolve_registered

    row: BundleRow = resolve_registered(ref, Path.cwd(), storage)
    return row


def _acting(explicit: str | None, key: Keys) -> Acting:
    """Who acts: the claim (--actor, BUNDLECTL_ACTOR, the CI, git) and the signing keys (--key, BUNDLECTL_SIGNING_KEY)."""
    from bundlectl.trust.identity import acting

    return acting(explicit, [key] if isinstance(key, str) else key)


def serve(
    names: tuple[str, ...] | list[str],
    env: str,
    *,
    listen: str = "127.0.0.1:8080",
    registry: str | None = None,
    endpoint_url: str | None = None,
    poll_interval: float = 15.0,
    cache_dir: Path | None = None,
    request_log: Path | None = None,
    tokens_file: Path | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    public_url: str = "",
) -> None:
    """Serve NAMES' live bundles in ENV (all of them when empty) over OFREP until interrupted (`bundlectl serve`)."""
    from bundlectl.errors import UsageProblem
    from bundlectl.foundation.names import is_env, is_name
    from bundlectl.serve.config import ServeSettings, parse_listen
    from bundlectl.serve.server import Server

    bad = [name for name in names if not is_name(name)] + ([] if is_env(env) else [env])
    if bad:
        raise UsageProblem(f"{bad[0]!r} is not a bundle name or environment", "names are lowercase letters, digits and dashes")
    host, port = parse_listen(listen)
    Server(
        ServeSettings(
            env,
            tuple(names),
            host,
            port,
            registry,
            endpoint_url,
            Path.cwd(),
            poll_interval,
            cache_dir=cache_dir,
            request_log=request_log,
            tokens_file=tokens_file,
            tls_cert=tls_cert,
            tls_key=tls_key,
            public_url=public_url,
        )
    ).run()


# --- webhooks ------------------------------------------------------------------------------------------


def set_webhooks(
    file: str,
    *,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
    dry_run: bool = False,
) -> WebhooksResult:
    """Store the webhook subscriptions in FILE as a logged, versioned event (a dry run only validates them)."""
    from bundlectl.foundation.textfile import read_input
    from bundlectl.webhooks.subscriptions import set_webhooks as store

    data = read_input(Path(file))
    return store(_storage(registry, endpoint_url, refresh=True), data, file, _acting(actor, key), reason, dry_run)


def show_webhooks(*, registry: str | None = None, endpoint_url: str | None = None) -> Subscriptions:
    """The subscriptions in force (names of secrets only); NotFound when none were ever set."""
    from bundlectl.errors import NotFound
    from bundlectl.registry.signatures import checked_index
    from bundlectl.webhooks.subscriptions import subscriptions_in_force

    # signatures checked, as a writer does: subscriptions are acted on, and a record the admins did not sign is none
    subscriptions = subscriptions_in_force(checked_index(_storage(registry, endpoint_url)))
    if subscriptions.seq is None:
        raise NotFound("no webhooks are subscribed", "subscribe endpoints with `bundlectl webhooks set FILE`")
    return subscriptions


def deliver_webhooks(
    *,
    follow: bool = False,
    interval: float = 1.0,
    timeout: float = 10.0,
    batch: int = 100,
    registry: str | None = None,
    endpoint_url: str | None = None,
    on_pass: Callable[[DeliveryPass], None] | None = None,
) -> DeliveryPass:
    """Deliver every logged event not yet acknowledged, in log order per endpoint; with `follow`, keep at it."""
    from bundlectl.errors import UsageProblem
    from bundlectl.webhooks.deliver import deliver

    if not 0 < timeout <= 300 or not 0 < interval <= 3600 or batch < 1:
        raise UsageProblem(f"--timeout {timeout} (0–300 s), --interval {interval} (0–3600 s) and --batch {batch} (≥ 1) are out of range")
    return deliver(_storage(registry, endpoint_url), follow=follow, interval=interval, timeout=timeout, batch=batch, on_pass=on_pass)


def webhooks_log(endpoint: str | None = None, *, registry: str | None = None, endpoint_url: str | None = None) -> list[EndpointLog]:
    """Each endpoint's delivery state: acknowledged up to, how far behind, latest attempts and failures."""
    from bundlectl.webhooks.deliver import delivery_log

    return delivery_log(_storage(registry, endpoint_url), endpoint)


def enable_webhook(endpoint: str, *, registry: str | None = None, endpoint_url: str | None = None) -> None:
    """Deliver to ENDPOINT again (after 410 Gone, or now rather than after its backoff)."""
    from bundlectl.webhooks.deliver import enable

    enable(_storage(registry, endpoint_url), endpoint)


# --- the release report --------------------------------------------------------------------------------


def report(
    ref: str,
    env: str,
    *,
    sources: list[str] | None = None,
    prometheus: str | None = None,
    alpha: float = 0.05,
    min_sample: int = 1000,
    timeout: float = 10.0,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    now: datetime | None = None,
) -> ReleaseReport:
    """REF against what is live in ENV: verdict, changes, gate and evidence, case by case, operations, rollback
    readiness, canary and timeline, as of `now` (default: the newest log record, so the same registry state gives
    the same report). With outcome `sources` or `prometheus`, the guard also judges the running canary now."""
    from bundlectl.report.collect import collect_report

    storage = _storage(registry, endpoint_url)
    bundle = _registered(ref, storage)
    judged = None
    if sources or prometheus:
        judged = guard(
            bundle.name,
            env,
            sources=sources,
            prometheus=prometheus,
            alpha=alpha,
            min_sample=min_sample,
            timeout=timeout,
            registry=registry,
            endpoint_url=endpoint_url,
            now=now,
            notify=False,
        )
    return collect_report(storage, bundle, env, _acting(actor, key), judged, now)


def rollback_advice(gate: GateResult, components: list[str], to: str | None = None) -> list[str]:
    """What to do about each check that refused a component rollback (only the checks that failed)."""
    from bundlectl.workflows.rollback import refusal_advice

    return refusal_advice(gate, components, to)


def break_glass_standing(gate: GateResult | None) -> str:
    """What `status --check` will say of a bundle that went live by break-glass."""
    from bundlectl.workflows.rollback import break_glass_standing as standing

    return standing(gate)


def doctor(*, registry: str | None = None, endpoint_url: str | None = None, actor: str | None = None) -> DoctorReport:
    """What this machine has for bundlectl and what it lacks: git, identity, the registry, trust, clock, tools, cache."""
    from bundlectl.doctor.checks import diagnose
    from bundlectl.storage.locate import registry_url

    url = registry_url(registry)
    return diagnose(lambda: _storage(registry, endpoint_url), url or f"the git repository around {Path.cwd()}", actor)


class CompletionWords(NamedTuple):
    refs: list[str]  # NAME@VERSION of every registered bundle, then NAME@ENV of every live one
    names: list[str]
    envs: list[str]  # the policy's environments, then any other something was live in


def completion_words(*, registry: str | None = None, endpoint_url: str | None = None) -> CompletionWords:
    """What shell completion offers, from one read of the registry's index: no gate, no status, no policy parsing."""
    from bundlectl.registry.read import index_at_head

    index = index_at_head(_storage(registry, endpoint_url))
    bundles = [(row.name, row.version) for row in index.bundles()]
    live = [f"{row.name}@{row.env}" for row in index.pointers()]
    return CompletionWords(
        [f"{name}@{version}" for name, version in bundles] + live, list(dict.fromkeys(name for name, _ in bundles)), index.environments()
    )


# --- drift and reviews (issue 29) ----------------------------------------------------------------------


def drift(
    name: str,
    env: str,
    *,
    apply: bool = False,
    report: str | None = None,
    output: Callable[[bytes], None] | None = None,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
    reason: str | None = None,
) -> DriftResult:
    """Re-run the live bundle's declared harness and compare it case by case with the run that admitted it; with
    `apply`, store the run and the finding, and on drift do what ENV's policy says (notify, pause, rollback)."""
    from bundlectl.drift.check import check_drift

    storage = _storage(registry, endpoint_url, refresh=True)
    return check_drift(storage, name, env, _acting(actor, key), apply, reason, output, report)


def review(
    name: str,
    env: str,
    value: float | None = None,
    *,
    from_guard: str | None = None,
    note: str | None = None,
    registry: str | None = None,
    endpoint_url: str | None = None,
    actor: str | None = None,
    key: Keys = None,
) -> ReviewResult:
    """Record the owner's review of the live bundle's outcome metric in ENV: `value`, or its mean over the live
    outcomes in `from_guard` (a request log, read the way the guard reads it)."""
    import math

    from bundlectl.drift.reviews import record_review
    from bundlectl.errors import UsageProblem

    if (value is None) == (from_guard is None):
        raise UsageProblem("give the reviewed value: either --value X or --from-guard SOURCE", "nothing was recorded")
    if value is not None and not math.isfinite(value):
        raise UsageProblem(f"--value {value} must be a finite number", "nothing was recorded")
    storage = _storage(registry, endpoint_url, refresh=True)
    if from_guard is not None:
        from bundlectl.drift.outcomes import live_outcome_mean

        value = live_outcome_mean(storage, name, env, from_guard)
    assert value is not None
    return record_review(storage, name, env, value, _acting(actor, key), note)
