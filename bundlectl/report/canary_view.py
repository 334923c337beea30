"""The canary of the report's bundle: its steps, every guard decision the log holds, and (when outcomes were
given) the guard's judgement now, each with its metrics' always-valid intervals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bundlectl.registry.index import Index
from bundlectl.registry.rows import BundleRow, CanaryRow
from bundlectl.report.model import CanaryView, GuardPoint
from bundlectl.workflows.canary import canary_in_force

if TYPE_CHECKING:
    from bundlectl.workflows.guard import GuardReport


def _latest_run(index: Index, name: str, env: str) -> list[CanaryRow]:
    """The newest canary's records, oldest first: from its start to its last step or end."""
    run: list[CanaryRow] = []
    for row in index.canaries(name, env):  # newest first
        run.append(row)
        if row.action == "canary":
            break
    return run[::-1]


def _point(label: str, time: str, percent: int, guard: dict[str, Any], logged: bool) -> GuardPoint:
    return GuardPoint(
        label,
        time,
        percent,
        str(guard.get("decision", "")),
        str(guard.get("reason", "")),
        [m for m in guard.get("metrics", []) if isinstance(m, dict)],
        logged,
    )


def canary_view(index: Index, bundle: BundleRow, env: str, guard: GuardReport | None) -> CanaryView | None:
    """The canary running in ENV, or the newest one whose candidate is `bundle`; None when neither exists."""
    run = _latest_run(index, bundle.name, env)
    running = canary_in_force(index, bundle.name, env)
    if not run or (running is None and run[-1].digest != bundle.digest):
        return None
    points = []
    for row in run:
        judged = row.data.get("guard")  # the figures a guard's --apply recorded with the step or end it wrote
        if isinstance(judged, dict):
            points.append(_point(f"{row.action} (log record {row.seq})", row.time, _judged_share(judged, row), judged, True))
    completed = index.move_after(bundle.name, env, run[-1].seq) if run[-1].percent else None
    if completed is not None and isinstance(completed.data.get("guard"), dict):
        points.append(_point(f"promote (log record {completed.seq})", completed.time, run[-1].percent, completed.data["guard"], True))
    if guard is not None and guard.canary is not None:
        judgement = guard.judgement.to_json()
        points.append(_point(f"judged for this report ({guard.source})", "", guard.canary.percent, judgement, False))
    events = [row.to_json() for row in run] + ([completed.to_json()] if completed else [])
    last = run[-1]
    return CanaryView(last.version, last.digest, running is not None, last.percent, last.steps, events, points)


def _judged_share(judged: dict[str, Any], row: CanaryRow) -> int:
    """The share the decision judged (a step records the share it moves to; the guard's figures, the one it judged)."""
    step = judged.get("step")
    return int(step["percent"]) if isinstance(step, dict) and isinstance(step.get("percent"), int) else row.percent
