"""The library's front door: one function per thing a user does, plain values in, typed results out.

Each call opens what it needs (the storage for `registry`, then the read index) and keeps nothing
afterwards. Library modules are imported inside the functions, so importing this module is cheap and a
read never pays for git, S3, pydantic or YAML it does not use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime, timedelta

    from bundlectl.audit import LiveAt, RequestAudit
    from bundlectl.canary import CanaryResult
    from bundlectl.content.case_list import DeclaredCase
    from bundlectl.diff.bundles import BundleDiff
    from bundlectl.drift.check import DriftResult
    from bundlectl.drift.reviews import ReviewResult
    from bundlectl.evidence.listing import EvidenceListing
    from bundlectl.evidence.run import EvalRun
    from bundlectl.evidence.store import EvidenceAdded
    from bundlectl.gate.result import GateResult
    from bundlectl.guarding import GuardReport
    from bundlectl.identity import Acting
    from bundlectl.initialise import InitResult
    from bundlectl.moves import MoveResult
    from bundlectl.pausing import PauseResult
    from bundlectl.progress import ProgressSink
    from bundlectl.promotion import PolicyResult
    from bundlectl.record import BundleRecord
    from bundlectl.refs import BundleSource
    from bundlectl.registry.bundles import RegisterResult
    from bundlectl.registry.rows import BundleRow, CanaryRow, MoveRow, PauseRow, WatchRow
    from bundlectl.registry_copy import CopyResult
    from bundlectl.rollback import BuiltRollback, RollbackResult
    from bundlectl.status import LiveStatus, StatusReport
    from bundlectl.storage.base import Storage
    from bundlectl.trust_log import TrustResult, TrustView

    Keys = str | Sequence[str] | None  # --key: one path, or several (a threshold of admins)
    from bundlectl.validation import ValidationResult
    from bundlectl.verify import VerifyReport


# The facade's own results are NamedTuples: immutable and typed like frozen dataclasses, but about a
# fifth of their cost to define, and this module is imported by every command.


class Exported(NamedTuple):
    record: BundleRecord
    folder: Path


class RegistryCopied(NamedTuple):
    source_url: str
    target_url: str
    result: CopyResult


class Approval(NamedTuple):
    bundle: BundleRow
    env: str
    actor: str  # the approving key's principal once trust is set, else the claimed identity
    seq: int | None  # None: this actor had already approved it
    signed: bool = False


class PolicyInForce(NamedTuple):
    policy: dict[str, Any]
    seq: int


class RollbackReport(NamedTuple):
    result: RollbackResult
    diff: BundleDiff | None  # dry runs only: the live bundle against the one ENV would point at


class Rehearsal(NamedTuple):
    back: RollbackResult
    forward: RollbackResult
    evidence: EvidenceAdded


# --- bundles -------------------------------------------------------------------------------------------


def new_bundle(name: str, parent: Path = Path("bundles")) -> Path:
    """Scaffold PARENT/NAME with all eight components; returns the new folder."""
    from bundlectl.scaffold import scaffold_bundle

    return scaffold_bundle(name, parent)


def validate(paths: list[Path], progress: ProgressSink | None = None, changed: bool = False, *,
             allow_hard_links: bool = False) -> list[ValidationResult]:
    """Validate the bundles PATHS name: bundle folders, files inside bundles, folders of bundles. With
    `changed`, PATHS are changed files (pre-commit's) and a file in no bundle is skipped."""
    from bundlectl.validation import validate_folders

    return validate_folders(paths, progress, changed, allow_hard_links=allow_hard_links)


def register(path: Path, *, registry: str | None = None, endpoint_url: str | None = None, actor: str | None = None,
             key: Keys = None, reason: str | None = None, dry_run: bool = False,
             progress: ProgressSink | None = None, allow_hard_links: bool = False) -> RegisterResult:
    """Freeze a bundle folder into the registry (the folder is read first, so its problems come first); a component
    file with more than one hard link is refused unless `allow_hard_links`."""
    from bundlectl.bundle_folder import read_bundle_folder
    from bundlectl.registry.bundles import register_bundle

    folder = read_bundle_folder(path, progress=progress, allow_hard_links=allow_hard_links)
    storage = _storage(registry, endpoint_url, fresh=True)
    return register_bundle(storage, folder, _acting(actor, key), reason, dry_run, progress)


def list_bundles(name: str | None = None, *, registry: str | None = None,
                 endpoint_url: str | None = None) -> list[BundleRow]:
    from bundlectl.registry.bundles import list_bundles as registered

    return registered(_storage(registry, endpoint_url), name)


def show(ref: str, *, registry: str | None = None, endpoint_url: str | None = None) -> BundleRecord:
    """The bundle REF names: registered, a folder, or git:REV:PATH (the registry is opened only if needed)."""
    return _source(ref, _OpenOnce(registry, endpoint_url)).record


def export(ref: str, folder: Path, *, registry: str | None = None, endpoint_url: str | None = None) -> Exported:
    """Write the bundle REF out as a folder that re-validates to the same digest."""
    from bundlectl.export import export_bundle

    source = _source(ref, _OpenOnce(registry, endpoint_url))
    return Exported(source.record, export_bundle(source.record, source.copy_file, folder))


def diff(ref_a: str, ref_b: str, components: list[str] | None = None, *, registry: str | None = None,
         endpoint_url: str | None = None) -> BundleDiff:
    """The component-aware diff of two bundles; `components` limits it to those kinds."""
    from bundlectl.diff.bundles import diff_bundles

    storage = _OpenOnce(registry, endpoint_url)
    return diff_bundles(_source(ref_a, storage), _source(ref_b, storage), components or None)


def export_schemas(folder: Path) -> list[Path]:
    from bundlectl.schema_export import export_schemas as write

    return write(folder)


# --- the registry itself -------------------------------------------------------------------------------


def init(*, registry: str | None = None, endpoint_url: str | None = None, actor: str | None = None) -> InitResult:
    """Create the registry (idempotent) with its first event and the starter gate policy."""
    from bundlectl.initialise import init_registry

    return init_registry(_storage(registry, endpoint_url, create=True, fresh=True), _acting(actor, None))


def copy_registry(source: str, target: str, *, endpoint_url: str | None = None) -> RegistryCopied:
    """Copy every event, object and pointer from SOURCE to TARGET (a git target is created if missing)."""
    from bundlectl.registry_copy import copy_registry as copy
    from bundlectl.storage.locate import open_storage

    src = open_storage(source, Path.cwd(), endpoint_url=endpoint_url)
    dst = open_storage(target, Path.cwd(), create=not target.startswith("s3://"), endpoint_url=endpoint_url)
    src.refresh()
    dst.refresh()
    return RegistryCopied(src.url, dst.url, copy(src, dst))


def verify(*, registry: str | None = None, endpoint_url: str | None = None, trust_root: str | None = None) -> VerifyReport:
    """Re-check every digest, the log chain, the pointers and every signature; raises IntegrityFailure on tampering.

    `trust_root`, the digest of the first trust file (`trust show`), pins it: a log whose trust began elsewhere fails.
    """
    from bundlectl.verify import verify_registry

    return verify_registry(_storage(registry, endpoint_url, fresh=True), trust_root)


# --- evidence and policy -------------------------------------------------------------------------------


def evidence_add(ref: str, file: str, kind: str | None = None, fmt: str = "auto", *, registry: str | None = None,
                 endpoint_url: str | None = None, actor: str | None = None, key: Keys = None,
                 reason: str | None = None) -> EvidenceAdded:
    """Bind the report FILE to the registered bundle REF; `file` is also the label its problems carry."""
    from bundlectl.evidence.importers import read_report
    from bundlectl.evidence.store import add_evidence

    storage = _storage(registry, endpoint_url, fresh=True)
    bundle = _registered(ref, storage)
    data = read_report(Path(file))
    return add_evidence(storage, bundle, data, file, kind, fmt, _acting(actor, key), reason)


def evidence_list(ref: str, env: str | None = None, *, registry: str | None = None, endpoint_url: str | None = None,
                  now: datetime | None = None) -> EvidenceListing:
    """The evidence bound to REF, each report judged fresh or stale by the gate of ENV that reads its kind."""
    from bundlectl.clock import now_utc
    from bundlectl.evidence.listing import list_evidence
    from bundlectl.registry.fresh import fresh_index

    storage = _storage(registry, endpoint_url)
    bundle = _registered(ref, storage)
    return list_evidence(fresh_index(storage), bundle, env, now or now_utc())


def eval_run(ref: str, command: list[str], report: str | None = None, fmt: str = "auto", *, keep: bool = False,
             output: Callable[[bytes], None] | None = None, registry: str | None = None, endpoint_url: str | None = None,
             actor: str | None = None, key: Keys = None, reason: str | None = None) -> EvalRun:
    """Run COMMAND (empty: the harness REF declares) on REF's exact files, exported to a fresh folder, and bind the
    report it writes as a measured run."""
    from bundlectl.evidence.run import run_eval

    storage = _storage(registry, endpoint_url, fresh=True)
    bundle = _registered(ref, storage)
    return run_eval(storage, bundle, list(command), report, fmt, _acting(actor, key), reason, keep, output)


def evals_cases(file: str, fmt: str = "auto") -> list[DeclaredCase]:
    """The case list a report implies: what `evals: {cases: …}` declares for a suite that is not promptfoo."""
    from bundlectl.evidence.cases import report_case_list
    from bundlectl.evidence.importers import import_report, read_report

    return report_case_list(import_report(read_report(Path(file)), file, fmt), file)


def set_policy(file: str, *, registry: str | None = None, endpoint_url: str | None = None, actor: str | None = None,
               key: Keys = None, reason: str | None = None, dry_run: bool = False) -> PolicyResult:
    """Store the policy in FILE as a logged, versioned event (a dry run only validates it)."""
    from bundlectl.promotion import set_policy as store_policy
    from bundlectl.textfile import read_input

    data = read_input(Path(file))
    return store_policy(_storage(registry, endpoint_url, fresh=True), data, file, _acting(actor, key), reason, dry_run)


def show_policy(*, registry: str | None = None, endpoint_url: str | None = None) -> PolicyInForce:
    """The policy in force and the event that stored it; NotFound when there is none."""
    from bundlectl.errors import NotFound
    from bundlectl.registry.fresh import fresh_index

    document, seq = fresh_index(_storage(registry, endpoint_url)).policy()
    if document is None or seq is None:
        raise NotFound("no gate policy is in force", "store one with `bundlectl policy set FILE`")
    return PolicyInForce(document, seq)


# --- trust ---------------------------------------------------------------------------------------------


def set_trust(file: str, *, registry: str | None = None, endpoint_url: str | None = None, key: Keys = None,
              reason: str | None = None, dry_run: bool = False) -> TrustResult:
    """Store the trust file FILE, signed by `key` (a threshold of admins: of its own the first time, else of those in force)."""
    from bundlectl.textfile import read_input
    from bundlectl.trust_log import set_trust as store_trust

    data = read_input(Path(file))
    return store_trust(_storage(registry, endpoint_url, fresh=True), data, file, _acting(None, key), reason, dry_run)


def show_trust(*, registry: str | None = None, endpoint_url: str | None = None) -> TrustView:
    """The trust in force: roles, principals, key fingerprints; NotFound when the registry has none."""
    from bundlectl.trust_log import show_trust as trust_view

    return trust_view(_storage(registry, endpoint_url))


# --- what is live --------------------------------------------------------------------------------------


def gate(ref: str, env: str, *, registry: str | None = None, endpoint_url: str | None = None,
         actor: str | None = None, key: Keys = None) -> GateResult:
    """Every check of ENV's gate for REF, as if `actor` (or the holder of `key`) promoted it now; changes nothing."""
    from bundlectl.promotion import check_gate

    storage = _storage(registry, endpoint_url)
    return check_gate(storage, _registered(ref, storage), env, _acting(actor, key))


def approve(ref: str, env: str, *, registry: str | None = None, endpoint_url: str | None = None,
            actor: str | None = None, key: Keys = None, reason: str | None = None) -> Approval:
    from bundlectl.promotion import approve as record_approval

    storage = _storage(registry, endpoint_url, fresh=True)
    bundle = _registered(ref, storage)
    result = record_approval(storage, bundle, env, _acting(actor, key), reason)
    return Approval(bundle, env, result.actor, result.seq, result.signed)


def promote(ref: str, env: str, *, registry: str | None = None, endpoint_url: str | None = None,
            actor: str | None = None, key: Keys = None, reason: str | None = None, dry_run: bool = False) -> MoveResult:
    """Move ENV to REF if the gate passes; raises GateRefused (carrying the gate) if not."""
    from bundlectl.promotion import promote as move

    storage = _storage(registry, endpoint_url, fresh=True)
    bundle = _registered(ref, storage)
    return move(storage, bundle, env, _acting(actor, key), reason, dry_run)


def rollback(name: str, env: str, *, to: str | None = None, components: list[str] | None = None,
             break_glass: bool = False, registry: str | None = None, endpoint_url: str | None = None,
             actor: str | None = None, key: Keys = None, reason: str | None = None,
             dry_run: bool = False, as_owner: bool = False) -> RollbackReport | CanaryResult:
    """Point ENV back (or swap `components` back); a dry run also diffs the live bundle against the target.

    While a canary runs, a plain rollback ends it instead (a CanaryResult): what is live stays live. `as_owner`: by
    the bundle's owner on the authority of consecutive out-of-tolerance reviews (`bundlectl review`).
    """
    from bundlectl.rollback import rollback as roll_back

    storage = _storage(registry, endpoint_url, fresh=True)
    if not to and not components:
        ended = _end_running_canary(storage, name, env, _acting(actor, key), reason, dry_run)
        if ended is not None:
            return ended
    target = _registered(to, storage) if to else None
    authority = None
    if as_owner:
        from bundlectl.drift.reviews import owner_authority_claim

        authority = owner_authority_claim
    result = roll_back(storage, name, env, _acting(actor, key), reason, target, list(components or []), break_glass, dry_run,
                       authority=authority)
    return RollbackReport(result, _rollback_diff(result, storage) if dry_run else None)


def build_rollback(name: str, env: str, components: list[str], *, to: str | None = None, registry: str | None = None,
                   endpoint_url: str | None = None, actor: str | None = None, key: Keys = None, reason: str | None = None,
                   dry_run: bool = False) -> BuiltRollback:
    """Register the bundle a component rollback of ENV would build, moving nothing (`rollback --register-only`)."""
    from bundlectl.rollback import register_rollback_bundle

    storage = _storage(registry, endpoint_url, fresh=True)
    target = _registered(to, storage) if to else None
    return register_rollback_bundle(storage, name, env, _acting(actor, key), reason, target, components, dry_run)


def _end_running_canary(storage: Storage, name: str, env: str, actor: Acting, reason: str | None,
                        dry_run: bool) -> CanaryResult | None:
    from bundlectl.canary import canary_in_force, end_canary
    from bundlectl.registry.fresh import fresh_index

    running = canary_in_force(fresh_index(storage), name, env)
    if running is None:
        return None
    return end_canary(storage, name, env, actor, reason, dry_run, step_seq=running.seq)


def canary(ref: str, env: str, percent: int, *, steps: list[int] | None = None, step_time: str | None = None,
           registry: str | None = None, endpoint_url: str | None = None, actor: str | None = None, key: Keys = None,
           reason: str | None = None, dry_run: bool = False) -> CanaryResult:
    """`promote REF --env ENV --canary PERCENT`: serve REF beside what is live to a sticky share of requests.

    REF passes ENV's gate like any promotion; `steps` (ending at 100) are the shares the guard moves it
    through, each lasting at least `step_time` (30m, 1h, 2d; default 1h). Raises GateRefused if the gate fails.
    """
    from bundlectl.canary import start_canary

    storage = _storage(registry, endpoint_url, fresh=True)
    bundle = _registered(ref, storage)
    return start_canary(storage, bundle, env, percent, steps, _duration(step_time, "--step-time"), _acting(actor, key),
                        reason, dry_run)


def _duration(text: str | None, option: str) -> timedelta | None:
    from bundlectl.durations import parse_duration
    from bundlectl.errors import UsageProblem

    if text is None:
        return None
    if text.strip() in ("0", "0s"):
        return parse_duration("0m")
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise UsageProblem(f"{option} {text}: {exc}") from None


def guard(name: str, env: str, *, sources: list[str] | None = None, prometheus: str | None = None, apply: bool = False,
          alpha: float = 0.05, min_sample: int = 1000, timeout: float = 10.0, registry: str | None = None,
          endpoint_url: str | None = None, actor: str | None = None, key: Keys = None, reason: str | None = None,
          now: datetime | None = None) -> GuardReport:
    """Judge NAME in ENV (its canary against the live bundle, or the live bundle against its owner's outcome target)
    from request logs (`sources`) or a Prometheus server; `apply` carries the decision out as a logged event."""
    from bundlectl.errors import UsageProblem
    from bundlectl.guard.decision import Settings
    from bundlectl.guarding import run_guard

    if bool(sources) == bool(prometheus):  # none given, both given, or an empty one
        raise UsageProblem("give the outcomes either as --source FILE… or as --prometheus URL (request logs, or a Prometheus server)")
    if not 0 < alpha < 1 or min_sample < 1:
        raise UsageProblem(f"--alpha {alpha} must be between 0 and 1 and --min-sample {min_sample} at least 1")
    if not 0 < timeout <= 3600:  # NaN fails this too; a larger one overflows the socket's clock
        raise UsageProblem(f"--timeout {timeout} must be a number of seconds above 0 and at most 3600")
    storage = _storage(registry, endpoint_url, fresh=apply)
    return run_guard(storage, name, env, _outcome_source(sources, prometheus, timeout), Settings(alpha, min_sample),
                     apply=apply, actor=_acting(actor, key) if apply else None, reason=reason, now=now)


def _outcome_source(sources: list[str] | None, prometheus: str | None, timeout: float) -> Any:
    if prometheus is not None:
        from bundlectl.guard.prometheus import tally_prometheus

        return lambda name, env, canary, digest: tally_prometheus(prometheus, name, env, canary=canary, digest=digest,
                                                                  timeout=timeout)
    from bundlectl.guard.request_log import tally_request_logs

    paths = [Path(p) for p in sources or []]
    return lambda name, env, canary, digest: tally_request_logs(paths, name, env, canary=canary, digest=digest)


def rehearse(name: str, env: str, *, to: str | None = None, components: list[str] | None = None,
             break_glass: bool = False, registry: str | None = None, endpoint_url: str | None = None,
             actor: str | None = None, key: Keys = None, reason: str | None = None) -> Rehearsal:
    """Roll back and forward again in a non-production ENV, and record the rehearsal as evidence."""
    from bundlectl.rollback import rehearse as rehearse_rollback

    storage = _storage(registry, endpoint_url, fresh=True)
    target = _registered(to, storage) if to else None
    back, forward, evidence = rehearse_rollback(storage, name, env, _acting(actor, key), reason, target,
                                                list(components or []), break_glass)
    return Rehearsal(back, forward, evidence)


def pause(name: str, env: str, *, reason: str | None, registry: str | None = None, endpoint_url: str | None = None,
          actor: str | None = None, key: Keys = None, dry_run: bool = False, as_owner: bool = False) -> PauseResult:
    """The kill switch: serving runtimes refuse NAME's bundle in ENV (`Paused`) until `resume`; promotion is refused.

    `as_owner`: by the bundle's owner on the authority of consecutive out-of-tolerance reviews (`bundlectl review`)."""
    from bundlectl.pausing import set_paused

    if as_owner:
        from bundlectl.drift.reviews import owner_authority_claim

        return set_paused(_storage(registry, endpoint_url, fresh=True), name, env, True, _acting(actor, key), reason,
                          dry_run, owner_authority_claim)
    return set_paused(_storage(registry, endpoint_url, fresh=True), name, env, True, _acting(actor, key), reason, dry_run)


def resume(name: str, env: str, *, registry: str | None = None, endpoint_url: str | None = None,
           actor: str | None = None, key: Keys = None, reason: str | None = None, dry_run: bool = False) -> PauseResult:
    """End a pause of NAME in ENV: runtimes serve its bundle again at their next poll."""
    from bundlectl.pausing import set_paused

    return set_paused(_storage(registry, endpoint_url, fresh=True), name, env, False, _acting(actor, key), reason, dry_run)


def status(name: str | None = None, *, registry: str | None = None, endpoint_url: str | None = None,
           now: datetime | None = None, fresh: bool = False) -> list[LiveStatus]:
    """What is live in each environment (of NAME, or of every bundle) and how its evidence stands now.

    `fresh` reads a shared registry as it is now, not as this machine fetched it a moment ago (`--check`).
    """
    return status_report(name, registry=registry, endpoint_url=endpoint_url, now=now, fresh=fresh).environments


def status_report(name: str | None = None, *, registry: str | None = None, endpoint_url: str | None = None,
                  now: datetime | None = None, fresh: bool = False) -> StatusReport:
    """`status`, and whether the registry has trust set (else every identity shown is a claim)."""
    from bundlectl.clock import now_utc
    from bundlectl.registry.fresh import fresh_index
    from bundlectl.status import status_report as report

    return report(fresh_index(_storage(registry, endpoint_url, fresh=fresh)), now or now_utc(), name)


def history(name: str, env: str, limit: int | None = None, *, registry: str | None = None,
            endpoint_url: str | None = None) -> list[MoveRow | PauseRow | CanaryRow | WatchRow]:
    """Promotions, rollbacks, pauses, resumes, canaries, drift runs and reviews of NAME in ENV, newest first;
    `limit` None means all."""
    from bundlectl.registry.fresh import fresh_index
    from bundlectl.status import pointer_history

    return pointer_history(fresh_index(_storage(registry, endpoint_url)), name, env, limit)


def audit_at(name: str, env: str, at: datetime, *, registry: str | None = None,
             endpoint_url: str | None = None) -> LiveAt:
    """Which bundle of NAME was live in ENV at the instant `at`."""
    from bundlectl.audit import live_at
    from bundlectl.registry.fresh import fresh_index

    return live_at(fresh_index(_storage(registry, endpoint_url)), name, env, at)


def audit_request(request_id: str, logs: list[Path], *, registry: str | None = None,
                  endpoint_url: str | None = None) -> RequestAudit:
    """The stamp of `request_id` in LOGS, checked against the log (see `RequestAudit.consistent`)."""
    from bundlectl.audit import audit_request as check_stamp
    from bundlectl.audit import find_stamp
    from bundlectl.registry.fresh import fresh_index

    stamp = find_stamp(request_id, logs)
    return check_stamp(fresh_index(_storage(registry, endpoint_url)), stamp)


# --- opening things ------------------------------------------------------------------------------------


def _storage(registry: str | None, endpoint_url: str | None, create: bool = False, fresh: bool = False) -> Storage:
    """--registry, else BUNDLECTL_REGISTRY, else the git repository around the current folder.

    `fresh` (writes, verify): a shared registry is read as it is now, not from a copy within its time to live.
    """
    from bundlectl.storage.locate import open_storage, registry_url

    storage = open_storage(registry_url(registry), Path.cwd(), create=create, endpoint_url=endpoint_url)
    if fresh:
        storage.refresh()
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
    from bundlectl.refs import resolve

    return resolve(ref, Path.cwd(), storage)


def _registered(ref: str, storage: Storage) -> BundleRow:
    from bundlectl.refs import resolve_registered

    row: BundleRow = resolve_registered(ref, Path.cwd(), storage)
    return row


def _acting(explicit: str | None, key: Keys) -> Acting:
    """Who acts: the claim (--actor, BUNDLECTL_ACTOR, the CI, git) and the signing keys (--key, BUNDLECTL_SIGNING_KEY)."""
    from bundlectl.identity import acting

    return acting(explicit, [key] if isinstance(key, str) else key)


def _rollback_diff(result: RollbackResult, storage: Storage) -> BundleDiff:
    from bundlectl.diff.bundles import diff_bundles
    from bundlectl.refs import registry_source

    plan = result.plan
    live = registry_source(plan.live.record(), storage, f"{plan.live.name}@{plan.live.version}")
    target = registry_source(plan.target.record(), storage, f"{plan.target.name}@{plan.target.version}")
    return diff_bundles(live, target)


def serve(names: tuple[str, ...] | list[str], env: str, *, listen: str = "127.0.0.1:8080", registry: str | None = None,
          endpoint_url: str | None = None, poll_interval: float = 15.0, cache_dir: Path | None = None,
          request_log: Path | None = None, tokens_file: Path | None = None, tls_cert: Path | None = None,
          tls_key: Path | None = None, public_url: str = "") -> None:
    """Serve NAMES' live bundles in ENV (all of them when empty) over OFREP until interrupted (`bundlectl serve`)."""
    from bundlectl.errors import UsageProblem
    from bundlectl.names import is_env, is_name
    from bundlectl.serve.config import ServeSettings, parse_listen
    from bundlectl.serve.server import Server

    bad = [name for name in names if not is_name(name)] + ([] if is_env(env) else [env])
    if bad:
        raise UsageProblem(f"{bad[0]!r} is not a bundle name or environment", "names are lowercase letters, digits and dashes")
    host, port = parse_listen(listen)
    Server(ServeSettings(env, tuple(names), host, port, registry, endpoint_url, Path.cwd(), poll_interval,
                         cache_dir=cache_dir, request_log=request_log, tokens_file=tokens_file, tls_cert=tls_cert,
                         tls_key=tls_key, public_url=public_url)).run()


# --- drift and reviews (issue 29) ----------------------------------------------------------------------


def drift(name: str, env: str, *, apply: bool = False, report: str | None = None,
          output: Callable[[bytes], None] | None = None, registry: str | None = None, endpoint_url: str | None = None,
          actor: str | None = None, key: Keys = None, reason: str | None = None) -> DriftResult:
    """Re-run the live bundle's declared harness and compare it case by case with the run that admitted it; with
    `apply`, store the run and the finding, and on drift do what ENV's policy says (notify, pause, rollback)."""
    from bundlectl.drift.check import check_drift

    storage = _storage(registry, endpoint_url, fresh=True)
    return check_drift(storage, name, env, _acting(actor, key), apply, reason, output, report)


def review(name: str, env: str, value: float | None = None, *, from_guard: str | None = None, note: str | None = None,
           registry: str | None = None, endpoint_url: str | None = None, actor: str | None = None,
           key: Keys = None) -> ReviewResult:
    """Record the owner's review of the live bundle's outcome metric in ENV: `value`, or its mean over the live
    outcomes in `from_guard` (a request log, read the way the guard reads it)."""
    import math

    from bundlectl.drift.reviews import record_review
    from bundlectl.errors import UsageProblem

    if (value is None) == (from_guard is None):
        raise UsageProblem("give the reviewed value: either --value X or --from-guard SOURCE", "nothing was recorded")
    if value is not None and not math.isfinite(value):
        raise UsageProblem(f"--value {value} must be a finite number", "nothing was recorded")
    storage = _storage(registry, endpoint_url, fresh=True)
    if from_guard is not None:
        from bundlectl.drift.outcomes import live_outcome_mean

        value = live_outcome_mean(storage, name, env, from_guard)
    assert value is not None
    return record_review(storage, name, env, value, _acting(actor, key), note)
