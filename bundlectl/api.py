"""The library's front door: one function per thing a user does, plain values in, typed results out.

Each call opens what it needs (the storage for `registry`, then the read index) and keeps nothing
afterwards. Library modules are imported inside the functions, so importing this module is cheap and a
read never pays for git, S3, pydantic or YAML it does not use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

__all__ = [
    "Registry",
    "Act",
    "Exported",
    "Approval",
    "CompletionWords",
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

    from bundlectl.bundle.record import BundleRecord
    from bundlectl.diff.bundles import BundleDiff
    from bundlectl.doctor.checks import DoctorReport
    from bundlectl.drift.check import DriftResult
    from bundlectl.drift.reviews import ReviewResult
    from bundlectl.evidence.add import EvidenceAdded
    from bundlectl.evidence.cases import ImpliedCases
    from bundlectl.evidence.listing import EvidenceListing
    from bundlectl.evidence.run import EvalRun
    from bundlectl.foundation.progress import ProgressSink
    from bundlectl.gate.result import GateResult
    from bundlectl.registry.bundles import BundleList, RegisterResult
    from bundlectl.registry.refs import BundleSource
    from bundlectl.registry.rows import BundleRow
    from bundlectl.report.model import ReleaseReport
    from bundlectl.storage.base import Storage
    from bundlectl.trust.identity import Acting
    from bundlectl.webhooks.deliver import DeliveryPass, EndpointLog
    from bundlectl.webhooks.subscriptions import Subscriptions, WebhooksResult
    from bundlectl.workflows.audit import LiveAt, RequestAudit
    from bundlectl.workflows.canary import CanaryResult
    from bundlectl.workflows.guard import GuardReport
    from bundlectl.workflows.init import InitResult
    from bundlectl.workflows.moves import MoveResult
    from bundlectl.workflows.pause import PauseResult
    from bundlectl.workflows.promote import PolicyInForce, PolicyResult
    from bundlectl.workflows.registry import RegistryCopied
    from bundlectl.workflows.rollback import BuiltRollback, Rehearsal, RollbackReport
    from bundlectl.workflows.status import History, LiveStatus, StatusReport
    from bundlectl.workflows.trust import TrustResult, TrustView
    from bundlectl.workflows.validate import Validation
    from bundlectl.workflows.verify import VerifyReport


# The facade's own values are NamedTuples: immutable and typed like frozen dataclasses, but about a
# fifth of their cost to define, and this module is imported by every command.


class Registry(NamedTuple):
    """Which registry a call opens: `url` (--registry; default BUNDLECTL_REGISTRY, else the git repository around
    the current folder) and, for s3:// registries, the S3 `endpoint_url` (--endpoint-url)."""

    url: str | None = None
    endpoint_url: str | None = None


class Act(NamedTuple):
    """Who acts and how: the claimed `actor` (default BUNDLECTL_ACTOR, the CI, git), the SSH `keys` that sign the
    act once trust is set (one path or several; default BUNDLECTL_SIGNING_KEY), the `reason` recorded with it,
    and `dry_run`: show what would happen, change nothing."""

    actor: str | None = None
    keys: str | Sequence[str] = ()
    reason: str | None = None
    dry_run: bool = False


DEFAULT_REGISTRY = Registry()  # BUNDLECTL_REGISTRY, else the git repository around the current folder
DEFAULT_ACT = Act()  # the identity and keys the environment names, no reason, for real


class Exported(NamedTuple):
    record: BundleRecord
    folder: Path


class Approval(NamedTuple):
    bundle: BundleRow
    env: str
    actor: str  # the approving key's principal once trust is set, else the claimed identity
    seq: int | None  # None: this actor had already approved it
    signed: bool = False
    not_counted: str | None = None  # why the gate will never count it (the approver registered the bundle), if so


# --- bundles -------------------------------------------------------------------------------------------


def new_bundle(name: str, parent: Path = Path("bundles")) -> Path:
    """Scaffold PARENT/NAME with all eight components; returns the new folder."""
    from bundlectl.workflows.new import scaffold_bundle

    return scaffold_bundle(name, parent)


def validate(paths: list[Path], *, progress: ProgressSink | None = None, changed: bool = False, allow_hard_links: bool = False) -> Validation:
    """Validate the bundles PATHS name: bundle folders, files inside bundles, folders of bundles. With
    `changed`, PATHS are changed files (pre-commit's) and a file in no bundle is skipped."""
    from bundlectl.workflows.validate import validate_folders

    return validate_folders(paths, progress=progress, changed=changed, allow_hard_links=allow_hard_links)


def register(
    path: Path, *, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT, progress: ProgressSink | None = None, allow_hard_links: bool = False
) -> RegisterResult:
    """Freeze a bundle folder into the registry (the folder is read first, so its problems come first); a component
    file with more than one hard link is refused unless `allow_hard_links`."""
    from bundlectl.bundle.folder import read_bundle_folder
    from bundlectl.registry.bundles import register_bundle

    folder = read_bundle_folder(path, progress=progress, allow_hard_links=allow_hard_links)
    return register_bundle(_storage(registry, refresh=True), folder, _acting(act), act.reason, dry_run=act.dry_run, progress=progress)


def list_bundles(name: str | None = None, *, registry: Registry = DEFAULT_REGISTRY) -> BundleList:
    from bundlectl.registry.bundles import list_bundles

    return list_bundles(_storage(registry), name)


def show(ref: str, *, registry: Registry = DEFAULT_REGISTRY) -> BundleRecord:
    """The bundle REF names: registered, a folder, or git:REV:PATH (the registry is opened only if needed)."""
    return _source(ref, _OpenOnce(registry)).record


def export(ref: str, folder: Path, *, registry: Registry = DEFAULT_REGISTRY) -> Exported:
    """Write the bundle REF out as a folder that re-validates to the same digest."""
    from bundlectl.bundle.export import export_bundle

    source = _source(ref, _OpenOnce(registry))
    return Exported(source.record, export_bundle(source.record, source.copy_file, folder))


def diff(ref_a: str, ref_b: str, components: list[str] | None = None, *, registry: Registry = DEFAULT_REGISTRY) -> BundleDiff:
    """The component-aware diff of two bundles; `components` limits it to those kinds."""
    from bundlectl.diff.bundles import diff_bundles

    storage = _OpenOnce(registry)
    return diff_bundles(_source(ref_a, storage), _source(ref_b, storage), components or None)


def export_schemas(folder: Path) -> list[Path]:
    from bundlectl.workflows.schemas import export_schemas

    return export_schemas(folder)


# --- the registry itself -------------------------------------------------------------------------------


def init(*, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT) -> InitResult:
    """Create the registry (idempotent) with its first event and the starter gate policy."""
    from bundlectl.workflows.init import init_registry

    return init_registry(_storage(registry, create=True, refresh=True), _acting(act))


def copy_registry(source: str, target: str, *, endpoint_url: str | None = None, migrate: bool = False) -> RegistryCopied:
    """Copy every event, object and pointer from SOURCE to TARGET (a git target is created if missing): a sandbox
    copy with an id of its own, or with `migrate` the registry itself, SOURCE then retired."""
    from bundlectl.workflows.registry import copy_registry_at

    return copy_registry_at(source, target, Path.cwd(), endpoint_url=endpoint_url, migrate=migrate)


def verify(*, registry: Registry = DEFAULT_REGISTRY, trust_root: str | None = None, registry_id: str | None = None) -> VerifyReport:
    """Re-check every digest, the log chain, the pointers and every signature; raises IntegrityFailure on tampering.

    `trust_root`, the digest of the first trust file (`trust show`), pins it: a log whose trust began elsewhere fails;
    `registry_id` pins the registry: a log that is another one (a sandbox copy brought back) fails.
    """
    from bundlectl.workflows.verify import verify_registry

    return verify_registry(_storage(registry, refresh=True), trust_root, registry_id)


# --- evidence and policy -------------------------------------------------------------------------------


def evidence_add(
    ref: str, file: str, kind: str | None = None, fmt: str = "auto", *, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT
) -> EvidenceAdded:
    """Bind the report FILE to the registered bundle REF; `file` is also the label its problems carry."""
    from bundlectl.evidence.add import add_evidence
    from bundlectl.evidence.importers import read_report

    storage = _storage(registry, refresh=True)
    bundle = _registered(ref, storage)
    return add_evidence(storage, bundle, read_report(Path(file)), file, kind, fmt, _acting(act), act.reason)


def evidence_list(ref: str, env: str | None = None, *, registry: Registry = DEFAULT_REGISTRY, now: datetime | None = None) -> EvidenceListing:
    """The evidence bound to REF, each report judged fresh or stale by the gate of ENV that reads its kind."""
    from bundlectl.evidence.listing import list_evidence
    from bundlectl.foundation.clock import now_utc
    from bundlectl.registry.read import index_at_head

    storage = _storage(registry)
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
    registry: Registry = DEFAULT_REGISTRY,
    act: Act = DEFAULT_ACT,
) -> EvalRun:
    """Run COMMAND (empty: the harness REF declares) on REF's exact files, exported to a fresh folder, and bind the
    report it writes as a measured run."""
    from bundlectl.evidence.run import run_eval

    storage = _storage(registry, refresh=True)
    bundle = _registered(ref, storage)
    return run_eval(storage, bundle, list(command), report, fmt, _acting(act), act.reason, keep=keep, output=output)


def evals_cases(file: str, fmt: str = "auto") -> ImpliedCases:
    """The case list a report implies: what `evals: {cases: …}` declares for a suite that is not promptfoo."""
    from bundlectl.evidence.cases import implied_cases
    from bundlectl.evidence.importers import import_report, read_report

    return implied_cases(import_report(read_report(Path(file)), file, fmt), file)


def set_policy(file: str, *, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT) -> PolicyResult:
    """Store the policy in FILE as a logged, versioned event (a dry run only validates it)."""
    from bundlectl.foundation.textfile import read_input
    from bundlectl.workflows.promote import set_policy

    data = read_input(Path(file))
    return set_policy(_storage(registry, refresh=True), data, file, _acting(act), act.reason, dry_run=act.dry_run)


def show_policy(*, registry: Registry = DEFAULT_REGISTRY) -> PolicyInForce:
    """The policy in force and the event that stored it; NotFound when there is none."""
    from bundlectl.workflows.promote import show_policy

    return show_policy(_storage(registry))


# --- trust ---------------------------------------------------------------------------------------------


def set_trust(file: str, *, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT) -> TrustResult:
    """Store the trust file FILE, signed by `act.keys` (a threshold of admins: of its own the first time, else of those
    in force); `act.actor` is not used: the keys are who acts."""
    from bundlectl.foundation.textfile import read_input
    from bundlectl.workflows.trust import set_trust

    data = read_input(Path(file))
    return set_trust(_storage(registry, refresh=True), data, file, _acting(act._replace(actor=None)), act.reason, dry_run=act.dry_run)


def show_trust(*, registry: Registry = DEFAULT_REGISTRY) -> TrustView:
    """The trust in force: roles, principals, key fingerprints; NotFound when the registry has none."""
    from bundlectl.workflows.trust import show_trust

    return show_trust(_storage(registry))


# --- what is live --------------------------------------------------------------------------------------


def gate(ref: str, env: str, *, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT) -> GateResult:
    """Every check of ENV's gate for REF, as if `act.actor` (or the holder of `act.keys`) promoted it now; changes nothing."""
    from bundlectl.workflows.promote import check_gate

    storage = _storage(registry)
    return check_gate(storage, _registered(ref, storage), env, _acting(act))


def approve(ref: str, env: str, *, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT) -> Approval:
    from bundlectl.workflows.promote import approve

    storage = _storage(registry, refresh=True)
    bundle = _registered(ref, storage)
    result = approve(storage, bundle, env, _acting(act), act.reason)
    return Approval(bundle, env, result.actor, result.seq, result.signed, result.not_counted)


def promote(ref: str, env: str, *, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT, notify: bool = False) -> MoveResult:
    """Move ENV to REF if the gate passes; raises GateRefused (carrying the gate) if not, after telling the webhooks
    subscribed to promotion.refused when `notify`."""
    from bundlectl.workflows.promote import promote

    storage = _storage(registry, refresh=True)
    bundle = _registered(ref, storage)
    return promote(storage, bundle, env, _acting(act), act.reason, dry_run=act.dry_run, notify=notify)


def rollback(
    name: str,
    env: str,
    *,
    to: str | None = None,
    components: list[str] | None = None,
    break_glass: bool = False,
    as_owner: bool = False,
    registry: Registry = DEFAULT_REGISTRY,
    act: Act = DEFAULT_ACT,
) -> RollbackReport | CanaryResult:
    """Point ENV back (or swap `components` back); a dry run also diffs the live bundle against the target.

    While a canary runs, a plain rollback ends it instead (a CanaryResult): what is live stays live. `as_owner`: by
    the bundle's owner on the authority of consecutive out-of-tolerance reviews (`bundlectl review`).
    """
    from bundlectl.workflows.rollback import rollback_or_end_canary

    storage = _storage(registry, refresh=True)
    target = _registered(to, storage) if to else None
    return rollback_or_end_canary(
        storage,
        name,
        env,
        _acting(act),
        act.reason,
        to=target,
        components=list(components or []),
        break_glass=break_glass,
        dry_run=act.dry_run,
        as_owner=as_owner,
    )


def build_rollback(
    name: str, env: str, components: list[str], *, to: str | None = None, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT
) -> BuiltRollback:
    """Register the bundle a component rollback of ENV would build, moving nothing (`rollback --register-only`)."""
    from bundlectl.workflows.rollback import register_rollback_bundle

    storage = _storage(registry, refresh=True)
    target = _registered(to, storage) if to else None
    return register_rollback_bundle(storage, name, env, _acting(act), act.reason, to=target, components=components, dry_run=act.dry_run)


def canary(
    ref: str,
    env: str,
    percent: int,
    *,
    steps: list[int] | None = None,
    step_time: str | None = None,
    registry: Registry = DEFAULT_REGISTRY,
    act: Act = DEFAULT_ACT,
) -> CanaryResult:
    """`promote REF --env ENV --canary PERCENT`: serve REF beside what is live to a sticky share of requests.

    REF passes ENV's gate like any promotion; `steps` (ending at 100) are the shares the guard moves it
    through, each lasting at least `step_time` (30m, 1h, 2d; default 1h). Raises GateRefused if the gate fails.
    """
    from bundlectl.workflows.canary import start_canary

    storage = _storage(registry, refresh=True)
    bundle = _registered(ref, storage)
    return start_canary(storage, bundle, env, percent, _acting(act), act.reason, steps=steps, step_time=step_time, dry_run=act.dry_run)


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
    registry: Registry = DEFAULT_REGISTRY,
    act: Act = DEFAULT_ACT,
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
    from bundlectl.workflows.guard import guard

    return guard(
        lambda fresh: _storage(registry, refresh=fresh),
        name,
        env,
        sources=sources,
        prometheus=prometheus,
        apply=apply,
        alpha=alpha,
        min_sample=min_sample,
        timeout=timeout,
        actor=act.actor,
        keys=_keys(act),
        reason=act.reason,
        now=now,
        margins=margins,
        beta=beta,
        max_sample=max_sample,
        notify=notify,
    )


def rehearse(
    name: str,
    env: str,
    *,
    to: str | None = None,
    components: list[str] | None = None,
    break_glass: bool = False,
    registry: Registry = DEFAULT_REGISTRY,
    act: Act = DEFAULT_ACT,
) -> Rehearsal:
    """Roll back and forward again in a non-production ENV, and record the rehearsal as evidence."""
    from bundlectl.workflows.rollback import rehearse

    storage = _storage(registry, refresh=True)
    target = _registered(to, storage) if to else None
    return rehearse(storage, name, env, _acting(act), act.reason, to=target, components=list(components or []), break_glass=break_glass)


def pause(name: str, env: str, *, as_owner: bool = False, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT) -> PauseResult:
    """The kill switch: serving runtimes refuse NAME's bundle in ENV (`Paused`) until `resume`; promotion is refused.
    A pause needs `act.reason`: serving code shows it. `as_owner`: by the bundle's owner on the authority of
    consecutive out-of-tolerance reviews (`bundlectl review`)."""
    from bundlectl.workflows.pause import pause

    return pause(_storage(registry, refresh=True), name, env, _acting(act), act.reason, dry_run=act.dry_run, as_owner=as_owner)


def resume(name: str, env: str, *, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT) -> PauseResult:
    """End a pause of NAME in ENV: runtimes serve its bundle again at their next poll."""
    from bundlectl.workflows.pause import set_paused

    return set_paused(_storage(registry, refresh=True), name, env, _acting(act), act.reason, paused=False, dry_run=act.dry_run)


def status(name: str | None = None, *, registry: Registry = DEFAULT_REGISTRY, now: datetime | None = None, refresh: bool = False) -> list[LiveStatus]:
    """What is live in each environment (of NAME, or of every bundle) and how its evidence stands now.

    `refresh` reads a shared registry as it is now, not as this machine fetched it a moment ago (`--check`).
    """
    return status_report(name, registry=registry, now=now, refresh=refresh).environments


def status_report(
    name: str | None = None, *, registry: Registry = DEFAULT_REGISTRY, now: datetime | None = None, refresh: bool = False
) -> StatusReport:
    """`status`, and whether the registry has trust set (else every identity shown is a claim)."""
    from bundlectl.foundation.clock import now_utc
    from bundlectl.workflows.status import status_report

    return status_report(_storage(registry, refresh=refresh), now or now_utc(), name, check_signatures=refresh)


def history(name: str, env: str, limit: int | None = None, *, registry: Registry = DEFAULT_REGISTRY) -> History:
    """Promotions, rollbacks, pauses, resumes, canaries, drift runs and reviews of NAME in ENV, newest first;
    `limit` None means all."""
    from bundlectl.registry.read import index_at_head
    from bundlectl.workflows.status import history

    return history(index_at_head(_storage(registry)), name, env, limit)


def audit_at(name: str, env: str, at: datetime, *, registry: Registry = DEFAULT_REGISTRY) -> LiveAt:
    """Which bundle of NAME was live in ENV at the instant `at`."""
    from bundlectl.registry.read import index_at_head
    from bundlectl.workflows.audit import live_at

    return live_at(index_at_head(_storage(registry)), name, env, at)


def audit_request(request_id: str, logs: list[Path], *, registry: Registry = DEFAULT_REGISTRY) -> RequestAudit:
    """The stamp of `request_id` in LOGS, checked against the log (see `RequestAudit.consistent`)."""
    from bundlectl.registry.read import index_at_head
    from bundlectl.workflows.audit import audit_request, find_stamp

    stamp = find_stamp(request_id, logs)
    return audit_request(index_at_head(_storage(registry)), stamp)


# --- opening things ------------------------------------------------------------------------------------


def _storage(registry: Registry, *, create: bool = False, refresh: bool = False) -> Storage:
    """--registry, else BUNDLECTL_REGISTRY, else the git repository around the current folder.

    `refresh` (writes, verify, `status --check`): a shared registry is read as it is now, not from a copy within its time to live.
    """
    import bundlectl.transitions  # noqa: F401  (every record read through this storage is judged before it is taken in)
    from bundlectl.storage.locate import open_storage, registry_url

    storage = open_storage(registry_url(registry.url), Path.cwd(), create=create, endpoint_url=registry.endpoint_url)
    if refresh:
        from bundlectl.webhooks.hook import install

        storage.refresh()
        install()  # a write tries its webhooks once it is stored (bounded by BUNDLECTL_WEBHOOK_DEADLINE)
    return storage


class _OpenOnce:
    """The storage, opened at the first call only: refs to folders never touch the registry."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._storage: Storage | None = None

    def __call__(self) -> Storage:
        if self._storage is None:
            self._storage = _storage(self._registry)
        return self._storage


def _source(ref: str, storage: _OpenOnce) -> BundleSource:
    from bundlectl.registry.refs import resolve

    return resolve(ref, Path.cwd(), storage)


def _registered(ref: str, storage: Storage) -> BundleRow:
    from bundlectl.registry.refs import resolve_registered

    row: BundleRow = resolve_registered(ref, Path.cwd(), storage)
    return row


def _keys(act: Act) -> Sequence[str]:
    return [act.keys] if isinstance(act.keys, str) else act.keys


def _acting(act: Act) -> Acting:
    """Who acts: the claim (--actor, BUNDLECTL_ACTOR, the CI, git) and the signing keys (--key, BUNDLECTL_SIGNING_KEY)."""
    from bundlectl.trust.identity import acting

    return acting(act.actor, _keys(act))


def serve(
    names: tuple[str, ...] | list[str],
    env: str,
    *,
    listen: str = "127.0.0.1:8080",
    registry: Registry = DEFAULT_REGISTRY,
    poll_interval: float = 15.0,
    cache_dir: Path | None = None,
    request_log: Path | None = None,
    tokens_file: Path | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    public_url: str = "",
) -> None:
    """Serve NAMES' live bundles in ENV (all of them when empty) over OFREP until interrupted (`bundlectl serve`)."""
    from bundlectl.serve.config import serve_settings
    from bundlectl.serve.server import Server

    Server(
        serve_settings(
            names,
            env,
            listen,
            registry=registry.url,
            endpoint_url=registry.endpoint_url,
            cwd=Path.cwd(),
            poll_interval=poll_interval,
            cache_dir=cache_dir,
            request_log=request_log,
            tokens_file=tokens_file,
            tls_cert=tls_cert,
            tls_key=tls_key,
            public_url=public_url,
        )
    ).run()


# --- webhooks ------------------------------------------------------------------------------------------


def set_webhooks(file: str, *, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT) -> WebhooksResult:
    """Store the webhook subscriptions in FILE as a logged, versioned event (a dry run only validates them)."""
    from bundlectl.foundation.textfile import read_input
    from bundlectl.webhooks.subscriptions import set_webhooks

    data = read_input(Path(file))
    return set_webhooks(_storage(registry, refresh=True), data, file, _acting(act), act.reason, dry_run=act.dry_run)


def show_webhooks(*, registry: Registry = DEFAULT_REGISTRY) -> Subscriptions:
    """The subscriptions in force (names of secrets only); NotFound when none were ever set."""
    from bundlectl.registry.signatures import checked_index
    from bundlectl.webhooks.subscriptions import show_webhooks

    return show_webhooks(checked_index(_storage(registry)))


def deliver_webhooks(
    *,
    follow: bool = False,
    interval: float = 1.0,
    timeout: float = 10.0,
    batch: int = 100,
    registry: Registry = DEFAULT_REGISTRY,
    on_pass: Callable[[DeliveryPass], None] | None = None,
) -> DeliveryPass:
    """Deliver every logged event not yet acknowledged, in log order per endpoint; with `follow`, keep at it."""
    from bundlectl.webhooks.deliver import deliver

    return deliver(lambda: _storage(registry), follow=follow, interval=interval, timeout=timeout, batch=batch, on_pass=on_pass)


def webhooks_log(endpoint: str | None = None, *, registry: Registry = DEFAULT_REGISTRY) -> list[EndpointLog]:
    """Each endpoint's delivery state: acknowledged up to, how far behind, latest attempts and failures."""
    from bundlectl.webhooks.deliver import delivery_log

    return delivery_log(_storage(registry), endpoint)


def enable_webhook(endpoint: str, *, registry: Registry = DEFAULT_REGISTRY) -> None:
    """Deliver to ENDPOINT again (after 410 Gone, or now rather than after its backoff)."""
    from bundlectl.webhooks.deliver import enable

    enable(_storage(registry), endpoint)


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
    registry: Registry = DEFAULT_REGISTRY,
    act: Act = DEFAULT_ACT,
    now: datetime | None = None,
) -> ReleaseReport:
    """REF against what is live in ENV: verdict, changes, gate and evidence, case by case, operations, rollback
    readiness, canary and timeline, as of `now` (default: the newest log record, so the same registry state gives
    the same report). With outcome `sources` or `prometheus`, the guard also judges the running canary now."""
    from bundlectl.report.collect import collect_report

    storage = _storage(registry)
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
            now=now,
            notify=False,
        )
    return collect_report(storage, bundle, env, _acting(act), judged, now)


def rollback_advice(gate: GateResult, components: list[str], to: str | None = None) -> list[str]:
    """What to do about each check that refused a component rollback (only the checks that failed)."""
    from bundlectl.workflows.rollback import refusal_advice

    return refusal_advice(gate, components, to)


def break_glass_standing(gate: GateResult | None) -> str:
    """What `status --check` will say of a bundle that went live by break-glass."""
    from bundlectl.workflows.rollback import break_glass_standing

    return break_glass_standing(gate)


def doctor(*, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT) -> DoctorReport:
    """What this machine has for bundlectl and what it lacks: git, identity, the registry, trust, clock, tools, cache."""
    from bundlectl.doctor.checks import diagnose
    from bundlectl.storage.locate import registry_url

    url = registry_url(registry.url)
    return diagnose(lambda: _storage(registry), url or f"the git repository around {Path.cwd()}", act.actor)


class CompletionWords(NamedTuple):
    refs: list[str]  # NAME@VERSION of every registered bundle, then NAME@ENV of every live one
    names: list[str]
    envs: list[str]  # the policy's environments, then any other something was live in


def completion_words(*, registry: Registry = DEFAULT_REGISTRY) -> CompletionWords:
    """What shell completion offers, from one read of the registry's index: no gate, no status, no policy parsing."""
    from bundlectl.registry.read import index_at_head

    index = index_at_head(_storage(registry))
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
    registry: Registry = DEFAULT_REGISTRY,
    act: Act = DEFAULT_ACT,
) -> DriftResult:
    """Re-run the live bundle's declared harness and compare it case by case with the run that admitted it; with
    `apply`, store the run and the finding, and on drift do what ENV's policy says (notify, pause, rollback).
    `report`: where the harness writes its report, when bundlectl cannot tell; `output`: receives its output."""
    from bundlectl.drift.check import check_drift

    return check_drift(_storage(registry, refresh=True), name, env, _acting(act), act.reason, apply=apply, output=output, report=report)


def review(
    name: str, env: str, value: float | None = None, *, from_guard: str | None = None, registry: Registry = DEFAULT_REGISTRY, act: Act = DEFAULT_ACT
) -> ReviewResult:
    """Record the owner's review of the live bundle's outcome metric in ENV: `value`, or its mean over the live
    outcomes in `from_guard` (a request log, read the way the guard reads it); `act.reason` is the owner's note."""
    from bundlectl.drift.reviews import review

    return review(lambda: _storage(registry, refresh=True), name, env, _acting(act), act.reason, value=value, from_guard=from_guard)
