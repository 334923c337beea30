"""A drift record follows from the log before it and its two stored runs (issue 29), as `bundlectl drift` wrote it.

It names the live bundle, the run that admitted it and a run of it since it went live that no earlier drift record
counted; its alpha is the drift policy's in force; its figures and decision are derived again from the two stored
reports, and its action is what the policy does on that decision. Otherwise a runner's `stable` over runs that show
drift would keep `status --check` quiet.
"""

from __future__ import annotations

from bundlectl.driftcheck.baseline import admitting_run
from bundlectl.driftcheck.decision import drift_policy
from bundlectl.driftcheck.figures import rederived_figures
from bundlectl.driftcheck.standing import uncounted_run
from bundlectl.errors import BundlectlError
from bundlectl.registry.events import DriftData, Event
from bundlectl.registry.index import Index
from bundlectl.registry.rows import EvidenceRow, PointerRow
from bundlectl.storage.base import Storage
from bundlectl.transitions.failures import ForgedDrift


def check_drift(index: Index, storage: Storage, event: Event) -> None:
    data: DriftData = event.data  # type: ignore[assignment]
    name, env = str(data.get("name")), str(data.get("env"))
    pointer = index.pointer(name, env)
    if pointer is None or (pointer.digest, pointer.version) != (data.get("digest"), data.get("version")):
        raise ForgedDrift(event, f"is a drift run of {name}@{data.get('version')}, which is not live in {env}")
    bundle = index.bundle(pointer.name, pointer.version)
    assert bundle is not None  # a pointer names a registered bundle (move_rule)
    try:
        policy, baseline = drift_policy(index, env), admitting_run(index, pointer)
    except BundlectlError as exc:  # no policy for env, or no gated eval run: bundlectl drift refuses both
        raise ForgedDrift(event, f"cannot be judged from the log before it: {exc.message}") from None
    if data["baseline"] != baseline.seq:
        raise ForgedDrift(
            event, f"compares with run {data['baseline']}, but the run that admitted {name}@{pointer.version} in {env} is {baseline.seq}"
        )
    run = _new_run(index, event, pointer)
    uncounted = uncounted_run(index, env, run)
    if uncounted is not None:  # a promoter's hand-made run where only runners' count, or a run of an unpinned tool
        raise ForgedDrift(event, f"names run {run.seq}, which the eval gate of {env} would not count: {uncounted}")
    if data["alpha"] != policy.alpha:
        raise ForgedDrift(event, f"judges at alpha {data['alpha']}, but the drift policy of {env} in force says {policy.alpha}")
    try:
        derived = rederived_figures(storage, bundle.record(), baseline, run, policy.alpha)
    except BundlectlError as exc:
        raise ForgedDrift(event, f"its runs {baseline.seq} and {run.seq} do not compare ({exc.message.splitlines()[0]})") from None
    if derived["decision"] != data["decision"] or derived != data["figures"]:
        raise ForgedDrift(
            event,
            f"says {data['decision']!r}, but its runs {baseline.seq} and {run.seq} give {derived['decision']!r}"
            + ("" if derived["decision"] != data["decision"] else " with other figures than it stores"),
        )
    action = policy.action if data["decision"] == "drift" else "none"
    if data["action"] != action:
        raise ForgedDrift(event, f"says it found {data['decision']!r} and did {data['action']!r}, but the drift policy of {env} does {action!r}")


def _new_run(index: Index, event: Event, pointer: PointerRow) -> EvidenceRow:
    """The eval run the record names: of the live bundle, run by bundlectl with the harness the bundle declares (as
    `bundlectl drift` runs it) since it went live, from a report no earlier evidence record holds, and counted by no
    drift record before (in any environment), so each record stands for a run of its own and a stable one cannot be
    reused: not the admitting run's report signed again, not an attached file."""
    seq = event.data["run"]
    found = index.evidence_by_seq([seq])
    run = found[0] if found else None
    if run is None or run.kind != "eval" or run.digest != pointer.digest or run.seq <= pointer.seq:
        raise ForgedDrift(
            event,
            f"names run {seq}, which is not an eval run of {pointer.name}@{pointer.version} since it went live in {pointer.env} (seq {pointer.seq})",
        )
    provenance = run.binding.get("provenance", {})
    if provenance.get("mode") != "run" or provenance.get("harness") is not True:
        raise ForgedDrift(
            event,
            f"names run {seq}, which is not a run of the harness {pointer.name}@{pointer.version} declares, measured by bundlectl "
            "(a drift run is `bundlectl drift` re-running it, not an attached report)",
        )
    copied = [e.seq for e in index.evidence_bound_as(run.report_key, provenance.get("run_id")) if e.seq < run.seq]
    if copied:
        raise ForgedDrift(event, f"names run {seq}, whose report (or run id) evidence {copied[0]} already holds: a drift run is a new run")
    # when it ran is not judged here: a promote dated ahead by a skewed clock is capped only after the catch-up that
    # judges this record, so "ran before it went live" would refuse honest records on some machines and not others;
    # the schedule counts from the run's own time instead (drift/schedule.py), so an old run keeps nothing fresh
    for env in sorted({p.env for p in index.pointers(pointer.name)}):
        counted = next((w.seq for w in index.watches(pointer.name, env, "drift") if w.data.get("run") == seq), None)
        if counted is not None:
            raise ForgedDrift(event, f"names run {seq}, which drift record {counted} already counted: each drift record is a run of its own")
    return run
