"""A drift record is a transition like any other: a runner who signs, with plain git (or S3 calls) and `ssh-keygen`,
a `stable` drift record over a run that shows drift is refused by every reader (`status --check`, the runtime,
writers, `verify` on a fresh clone), not only by `verify`; the honest record still passes everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Workspace
from tests.drift.conftest import NAME, REF
from tests.drift.test_reviews import key, make_owned, owned  # noqa: F401  (fixture)
from tests.trust.conftest import Keys, ok
from tests.trust.forge import Forger
from tests.trust.test_forged_transitions import refused_by_integrity
from tests.trust.test_signed_tampering import verify_elsewhere


@pytest.fixture
def owned_anywhere(registry: Workspace, keys: Keys, cases: None) -> Workspace:
    """The stand-in live in staging under trust (drift policy: notify at alpha 0.01), on each backend."""
    return make_owned(registry, keys)


def honest_stable_drift(ws: Workspace, keys: Keys) -> dict[str, Any]:
    """`bundlectl drift --apply` by the runner, with nothing changed: a stable record, which every reader takes."""
    result = ws.run("drift", NAME, "--env", "staging", "--report", "report.json", "--apply", "--json", *key(keys, "ci"))
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.stdout)
    assert found["decision"] == "stable" and found["seq"] is not None
    return found


def stored_run(forger: Forger) -> int:
    """An eval run of the live bundle, stored as evidence by the runner (as `drift --apply` stores its own run)."""
    ok(forger.ws, "eval", REF, "--report", "report.json", *key(forger.keys, "ci"))
    return int(next(r["seq"] for r in reversed(forger.records()) if r["action"] == "evidence"))


def forged_drift(forger: Forger, honest: dict[str, Any], **changed: Any) -> int:
    """A drift record as `bundlectl drift` writes one, signed by the runner ci, with some fields changed."""
    record = next(r["data"] for r in forger.records() if r["action"] == "drift" and r["seq"] == honest["seq"])
    return forger.append("drift", {**record, **changed}, "ci")


def test_a_stable_drift_record_over_a_run_that_shows_drift_is_refused_by_every_reader(
    owned_anywhere: Workspace, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtimes: Any
):
    ws, forger = owned_anywhere, Forger(owned_anywhere, keys)
    honest = honest_stable_drift(ws, keys)
    # the happy path's twin: the honest record passes every reader, here and on a fresh clone
    assert ws.run("status", "--check").exit_code == 0
    assert ws.run("verify").exit_code == 0
    assert verify_elsewhere(ws, tmp_path / "before", monkeypatch).exit_code == 0, "an honest drift record"
    monkeypatch.delenv("BUNDLECTL_CACHE_DIR")
    runtime = runtimes(ws, follow=False)
    served = runtime.current().version
    # the provider changed: 12 cases that passed fail now; the runner stores the run, then signs "stable" over it
    monkeypatch.setenv("DRIFT_FLIP", "12")
    run = stored_run(forger)
    seq = forged_drift(forger, honest, run=run)  # the honest record's figures, decision and action: what a stable run gives
    failure = f"log record seq {seq} (drift"
    why = f"says 'stable', but its runs {honest['baseline']} and {run} give 'drift'"
    # the check CI runs, and reads through the index
    refused_by_integrity(ws, ("status", "--check"), failure, why)
    refused_by_integrity(ws, ("status",), failure, why)
    refused_by_integrity(ws, ("history", NAME, "--env", "staging"), failure)
    # writers refuse before they plan: nothing is written
    refused_by_integrity(ws, ("review", NAME, "--env", "staging", "--value", "0.95", *key(keys, "owner")), failure, why)
    refused_by_integrity(ws, ("drift", NAME, "--env", "staging", "--report", "report.json", "--apply", *key(keys, "ci")), failure, why)
    # a running runtime reads the log only when its pointers move (a drift record moves none): it keeps serving what
    # it verified; a process starting now judges the log, and has nothing it may serve
    assert runtime.refresh() is False
    assert runtime.current().version == served
    from bundlectl.runtime import RegistryUnavailable

    with pytest.raises(RegistryUnavailable) as err:
        runtimes(ws)
    assert why in err.value.message
    refused_by_integrity(ws, ("verify",), failure, why)
    result = verify_elsewhere(ws, tmp_path / "after", monkeypatch)
    assert result.exit_code == 5 and failure in result.stderr and why in result.stderr, result.output


FORGERIES: dict[str, tuple[dict[str, Any], str]] = {
    # a forger who keeps the honest figures but judges at a lenient alpha, or against a baseline that drifted too
    "alpha": ({"alpha": 1e-9}, "judges at alpha 1e-09, but the drift policy of staging in force says 0.01"),
    "baseline": ({"baseline": "HONEST_RUN"}, "compares with run HONEST_RUN, but the run that admitted support-triage@2026.11.01-7 in staging is"),
    # a run from before the bundle went live (the admitting run itself), or one an earlier record already counted
    "before-live": ({"run": "BASELINE"}, "names run BASELINE, which is not an eval run of support-triage@2026.11.01-7 since it went live"),
    "counted": ({"run": "HONEST_RUN"}, "names run HONEST_RUN, which drift record HONEST_SEQ already counted"),
    # the decision and figures are right, the action is not what the policy does on it
    "action": ({"action": "notify"}, "says it found 'stable' and did 'notify', but the drift policy of staging does 'none'"),
    "decision": ({"decision": "drift"}, "says 'drift', but its runs BASELINE and RUN give 'stable'"),
    "figures": ({"figures": {"decision": "stable"}}, "says 'stable', but its runs BASELINE and RUN give 'stable' with other figures than it stores"),
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_drift_record_bundlectl_would_not_have_written_is_refused(owned: Workspace, keys: Keys, forgery: str):  # noqa: F811
    ws, forger = owned, Forger(owned, keys)
    honest = honest_stable_drift(ws, keys)
    run = stored_run(forger)  # nothing changed: a stable run no record counted yet
    names = {"HONEST_RUN": honest["run"], "HONEST_SEQ": honest["seq"], "BASELINE": honest["baseline"], "RUN": run}

    def named(value: Any) -> Any:
        return names.get(value, value) if isinstance(value, str) else value

    changed, message = FORGERIES[forgery]
    seq = forged_drift(forger, honest, **{"run": run, **{k: named(v) for k, v in changed.items()}})
    for placeholder, value in names.items():
        message = message.replace(placeholder, str(value))
    for args in (("status", "--check"), ("verify",)):
        refused_by_integrity(ws, args, f"log record seq {seq} (drift", message)
