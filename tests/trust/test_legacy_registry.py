"""A registry made before ids (issue 21): its records name none and stay valid; the first write under trust by
this version logs an id, and every record after it names it."""

from __future__ import annotations

import json

from bundlectl.digest.canonical import canonical_json
from tests.conftest import Workspace
from tests.trust.conftest import Keys, ok, set_trust, trust_yaml
from tests.trust.test_signed_tampering import EMPTY_TREE, records


def legacy_init(ws: Workspace) -> None:
    """The init record an older bundlectl wrote (no registry id), made with plain git."""
    payload = canonical_json(
        {
            "seq": 1,
            "prev": None,
            "time": "2026-11-01T09:00:00.000000Z",
            "actor": "ann@example.com",
            "action": "init",
            "reason": "bundlectl init",
            "data": {"format": 1},
        }
    ).decode()
    commit = ws.repo.git.commit_tree(EMPTY_TREE, "-m", f"init by ann@example.com\n\n{payload}\n")
    ws.repo.git.update_ref("refs/bundlectl/log", commit)


def test_the_first_write_under_trust_logs_the_id_and_the_legacy_records_stay_valid(workspace: Workspace, keys: Keys):
    ws = workspace
    legacy_init(ws)
    assert ws.json("verify")["registry"] is None
    set_trust(ws, keys, trust_yaml(keys), "alice", "bob")  # the trust record itself: still legacy
    ok(ws, "register", "bundles/support-triage-v1", "--key", keys.path("alice"))
    logged = [json.loads(payload) for _, payload, _ in records(ws)]
    assert [r["action"] for r in logged] == ["init", "trust", "registry", "register"]
    identity = logged[2]
    assert identity["actor"] == "bundlectl" and identity["data"] == {"registry": identity["registry"]}
    assert "registry" not in logged[0] and "registry" not in logged[1] and logged[3]["registry"] == identity["registry"]
    verified = ws.json("verify")
    assert verified["registry"] == identity["registry"] and verified["copy_of"] is None
    ok(ws, "register", "bundles/support-triage-v2", "--key", keys.path("alice"))  # logged once only
    assert [json.loads(p)["action"] for _, p, _ in records(ws)].count("registry") == 1
