"""Hostile review of issue 29: reviews from an earlier time the same bundle was live do not count once it comes back."""

from __future__ import annotations

from tests.conftest import V2, Workspace
from tests.drift.conftest import NAME
from tests.drift.test_attack29 import _forge, _refused_by_every_reader
from tests.drift.test_reviews import OWNER, key, make_owned, refused, review
from tests.helpers import promptfoo_report
from tests.trust.conftest import Keys, ok

PAUSE = ["pause", NAME, "--env", "staging", "--reason", "stale reviews", "--as-owner"]


def _back_after_two_bad_reviews(ws: Workspace, keys: Keys) -> list[int]:
    """Two reviews out of tolerance, then v2 went live, then a promoter rolled back to the reviewed bundle."""
    stale = [review(ws, keys, "0.80")["seq"], review(ws, keys, "0.85")["seq"]][::-1]
    ok(ws, "register", "bundles/support-triage-v2", *key(keys, "alice"))
    ok(ws, "evidence", "add", V2, promptfoo_report(ws, "v2"), *key(keys, "ci"))
    ok(ws, "promote", V2, "--env", "staging", *key(keys, "pete"))
    ok(ws, "rollback", NAME, "--env", "staging", "--reason", "v2 was worse", *key(keys, "pete"))
    return stale


def test_reviews_before_another_bundle_went_live_do_not_give_the_owner_authority(git_registry: Workspace, keys: Keys, cases: None):
    owned = make_owned(git_registry, keys, provenance="any")  # so the promptfoo report of v2 passes its gate
    _back_after_two_bad_reviews(owned, keys)
    assert owned.json("status")["environments"][0]["owner_authority"] is None
    refused(owned, [*PAUSE, *key(keys, "owner")], "holds no authority")
    review(owned, keys, "0.85")
    assert review(owned, keys, "0.80")["owner_authority"] is True  # two new ones, since it came back
    ok(owned, *PAUSE, *key(keys, "owner"))
    assert owned.run("verify").exit_code == 0


def test_a_pause_claiming_reviews_from_before_is_refused_by_every_reader(git_registry: Workspace, keys: Keys, cases: None):
    owned = make_owned(git_registry, keys, provenance="any")
    stale = _back_after_two_bad_reviews(owned, keys)
    _forge(owned, keys, "pause", {"owner": OWNER, "reviews": stale}, who="owner")
    _refused_by_every_reader(owned, f"claims the owner's authority on reviews {stale}")
