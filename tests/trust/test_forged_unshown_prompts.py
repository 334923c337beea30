"""A report only proves the prompt texts it shows, and every reader judges that, not only `evidence add`.

A runner (or any trusted key) signs, by hand, an evidence record binding a real run that never rendered
`prompts/system.md` to a bundle whose only change is that file. Readers keep the record (its figures are what its
stored report gives), but it counts for no gate: `evidence list` says why and what to change in the suite, the
writer's gate refuses a promotion relying on it, and a promotion forged on it is refused by every reader. A record
bundlectl wrote before the rule existed still counts as it did, so an older log still verifies."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import V1, V2, Workspace
from tests.helpers import promptfoo_report, set_policy
from tests.trust.conftest import Keys, ok
from tests.trust.forge import Forger
from tests.trust.test_forged_transitions import forged_promotion, refused_by_integrity
from tests.trust.test_legacy_registry import legacy_init
from tests.trust.test_signed_tampering import verify_elsewhere

NEXT = "support-triage@2026.11.02-1"
UNSHOWN = "its prompt file prompts/system.md appears in no prompt the run rendered"
HINT = "add `file://../prompts/system.md` to the suite's prompts"


def register_next(ws: Workspace, keys: Keys | None) -> None:
    """V1 with only its system prompt changed, registered (no evidence yet)."""
    folder = ws.root / "bundles/support-triage-next"
    shutil.copytree(ws.root / "bundles/support-triage-v1", folder)
    (folder / "prompts/system.md").write_text("You are the triage assistant. Never escalate anything.\n")
    manifest = folder / "bundle.yaml"
    manifest.write_text(manifest.read_text().replace("version: 2026.11.01-1", "version: 2026.11.02-1"))
    ok(ws, "register", str(folder), *(("--key", keys.path("alice")) if keys else ()))


def hand_written_evidence(ws: Workspace, ref: str, report: str, marked: bool = True) -> tuple[dict[str, Any], bytes]:
    """The record a writer with the prompt check cut out would sign: everything else exactly as bundlectl derives it
    (so its figures agree with its stored report). Without `marked` it says nothing of the prompt rule."""
    from bundlectl.evidence.add import component_reader
    from bundlectl.evidence.binding import bind_report
    from bundlectl.evidence.importers import import_report
    from bundlectl.evidence.record import evidence_data
    from bundlectl.registry.read import index_at_head

    raw = Path(report).read_bytes()
    storage = ws.storage()
    name, version = ref.split("@")
    bundle = index_at_head(storage).bundle(name, version)
    assert bundle is not None
    record = bundle.record()
    parsed = import_report(raw, Path(report).name)
    binding = bind_report(parsed, record, component_reader(storage, record), Path(report).name)
    key = "reports/" + hashlib.sha256(raw).hexdigest()
    bound = {"name": name, "version": version, "digest": bundle.digest}
    data: dict[str, Any] = dict(evidence_data(bound, record, parsed, binding, key, report, None))
    if not marked:
        del data["prompt_rule"]
    return data, raw


def listed(ws: Workspace, ref: str) -> list[dict[str, Any]]:
    result = ws.run("evidence", "list", ref, "--env", "staging", "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)["evidence"]
    return rows


@pytest.mark.parametrize("marked", [True, False], ids=["says-it-followed-the-rule", "drops-the-marker"])
def test_a_hand_signed_run_that_never_showed_the_changed_prompt_file_counts_for_no_gate(
    trusted: Workspace, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marked: bool
):
    ws, forger = trusted, Forger(trusted, keys)
    register_next(ws, keys)
    report = promptfoo_report(ws, "v1-user-prompt-only")
    # the writer refuses it, storing nothing
    refused = ws.run("evidence", "add", NEXT, report, "--key", keys.path("ci"))
    assert refused.exit_code == 1 and UNSHOWN in refused.stderr, refused.output
    data, raw = hand_written_evidence(ws, NEXT, report, marked)
    seq = forger.append("evidence", data, "ci", report=raw, registry=True)
    # the record is kept (its figures are its report's), but it does not count, and the listing says why and what to do
    (row,) = [r for r in listed(ws, NEXT) if r["seq"] == seq]
    assert row["counts"] is False
    assert UNSHOWN in row["why"] and HINT in row["why"], row["why"]
    human = ws.run("evidence", "list", NEXT, "--env", "staging")
    assert human.exit_code == 0 and "prompts/system.md" in human.stdout, human.output
    # honest evidence still counts
    assert all(r["counts"] for r in listed(ws, V1) if r["kind"] == "eval")
    # the gate (a writer) refuses a promotion relying on it, naming why
    ok(ws, "approve", NEXT, "--env", "staging", "--key", keys.path("carol"))
    before = ws.bundlectl_refs()
    promote = ws.run("promote", NEXT, "--env", "staging", "--key", keys.path("pete"))
    assert promote.exit_code == 1, promote.output
    assert "prompts/system.md" in promote.output and ws.bundlectl_refs() == before
    # a promotion forged on it is refused by every reader
    moved = forged_promotion(forger, NEXT, "staging")
    failure = f"log record seq {moved} (promote"
    refused_by_integrity(ws, ("status", "--check"), failure, UNSHOWN)
    refused_by_integrity(ws, ("approve", V1, "--env", "staging", "--key", keys.path("bob")), failure)
    refused_by_integrity(ws, ("verify",), failure, UNSHOWN)
    elsewhere = verify_elsewhere(ws, tmp_path, monkeypatch)
    assert elsewhere.exit_code == 5 and failure in elsewhere.stderr, elsewhere.output


def test_a_run_an_older_bundlectl_bound_before_the_rule_still_counts_and_its_promotion_verifies(workspace: Workspace, keys: Keys):
    """Before the rule, bundlectl bound such runs and promoted on them (a registry of init format 1): that log still
    verifies and reads alike. The first record written under the rule starts it for every later record, so a later
    hand-written one without the marker counts for nothing."""
    ws = workspace
    legacy_init(ws)
    ok(ws, "register", "bundles/support-triage-v1")
    register_next(ws, None)
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    forger = Forger(ws, keys)
    data, raw = hand_written_evidence(ws, NEXT, promptfoo_report(ws, "v1-user-prompt-only"), marked=False)
    used = forger.append("evidence", data, None, report=raw, registry=False)
    assert listed(ws, NEXT)[0]["counts"] is True  # an older bundlectl's record, judged as that bundlectl did
    ok(ws, "promote", NEXT, "--env", "staging")
    assert ws.run("verify").exit_code == 0
    # from the first record under the rule on, a record that omits the marker is judged by it all the same
    ok(ws, "evidence", "add", V1, promptfoo_report(ws, "v1"))
    again, raw = hand_written_evidence(ws, NEXT, promptfoo_report(ws, "v1-user-prompt-only", name="again.json"), marked=False)
    later = forger.append("evidence", again, None, report=raw, registry=False)
    rows = {r["seq"]: r for r in listed(ws, NEXT)}
    assert rows[used]["counts"] is True and rows[later]["counts"] is False and UNSHOWN in rows[later]["why"]
    assert ws.run("verify").exit_code == 0  # kept, and not counted: nothing in the log is forged


def test_in_a_registry_made_under_the_rule_even_the_first_evidence_record_is_judged_by_it(git_registered: Workspace, keys: Keys):
    """`init` writes format 2: no record in such a log predates the rule, so dropping the marker from the very first
    evidence record does not make it an older bundlectl's."""
    ws = git_registered
    register_next(ws, None)
    data, raw = hand_written_evidence(ws, NEXT, promptfoo_report(ws, "v1-user-prompt-only"), marked=False)
    Forger(ws, keys).append("evidence", data, None, report=raw)
    (row,) = listed(ws, NEXT)
    assert row["counts"] is False and UNSHOWN in row["why"]


def test_a_hand_written_native_run_of_a_suite_that_never_renders_the_prompt_file_counts_for_nothing(git_registered: Workspace, keys: Keys):
    """Converted to native, the run still ran what its promptfoo suite renders: readers judge it by the suite."""
    from tests.evidence.test_unshown_prompts import register_suite_without_system_prompt
    from tests.helpers import native_report, suite_cases

    ws = git_registered
    ref = register_suite_without_system_prompt(ws)
    cases = [{"id": i, "slice": s, "passed": True} for i, s in suite_cases("v1")]
    report = native_report(ws, "eval", "native.json", cases=cases, bundle_digest=ws.json("show", ref)["digest"])
    data, raw = hand_written_evidence(ws, ref, report)
    Forger(ws, keys).append("evidence", data, None, report=raw)
    (row,) = listed(ws, ref)
    assert row["counts"] is False and UNSHOWN in row["why"] and HINT in row["why"]
    assert ws.run("verify").exit_code == 0


def test_a_break_glass_bundle_is_not_verified_by_a_run_that_never_showed_a_prompt_file(registered: Workspace, keys: Keys):
    """A bundle that went live by break-glass is verified once fresh eval evidence for it exists; where the eval gate
    was since removed, any eval row did. A hand-written run that never rendered `prompts/system.md` counts for no
    gate, so it verifies nothing either."""
    ws, forger = registered, Forger(registered, keys)
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    for ref, example in ((V1, "v1"), (V2, "v2")):
        ok(ws, "evidence", "add", ref, promptfoo_report(ws, example))
        ok(ws, "promote", ref, "--env", "staging")
    ok(ws, "rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--break-glass", "--reason", "incident")
    set_policy(ws, "environments:\n  staging: {gates: {}}\n")  # the eval gate is gone; the bundle is still unverified
    live = "support-triage@" + ws.json("status")["environments"][0]["version"]
    assert ws.json("status")["environments"][0]["verified"] is False

    results = json.loads(Path(promptfoo_report(ws, "v2", name="full.json")).read_text())["results"]
    system = next(i for i, p in enumerate(results["prompts"]) if p["label"].startswith("prompts/system.md"))
    results["prompts"] = [p for i, p in enumerate(results["prompts"]) if i != system]
    results["results"] = [dict(r, promptIdx=0) for r in results["results"] if r["promptIdx"] != system]
    document = json.loads(Path(promptfoo_report(ws, "v2", name="user-prompt-only.json")).read_text())
    document["results"] = results
    path = ws.root / "user-prompt-only.json"
    path.write_text(json.dumps(document))
    refused = ws.run("evidence", "add", live, str(path))
    assert refused.exit_code == 1 and UNSHOWN in refused.stderr, refused.output
    data, raw = hand_written_evidence(ws, live, str(path))
    forger.append("evidence", data, None, report=raw, registry=True)

    check = ws.run("status", "--check")
    assert check.exit_code == 1 and "unverified: went live by break-glass" in check.stderr, check.output
    assert ws.json("status")["environments"][0]["verified"] is False
    ok(ws, "evidence", "add", live, promptfoo_report(ws, "v2", name="rerun.json"))  # an honest run of the same suite
    assert ws.run("status", "--check").exit_code == 0
    assert ws.json("status")["environments"][0]["verified"] is True
