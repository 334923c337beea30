"""Hostile review of issue 29: a drift or review record dated ahead keeps no schedule quiet while it is the newest."""

from __future__ import annotations

import pytest

from tests.conftest import Workspace
from tests.drift.conftest import NAME
from tests.drift.test_reviews import key, owned  # noqa: F401  (fixture)
from tests.trust.conftest import Keys, ok


def test_a_review_dated_ahead_is_named_and_does_not_hold_the_schedule(owned: Workspace, keys: Keys, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    import bundlectl.integrity.clock_bound as clock_bound

    with monkeypatch.context() as m:  # the owner's machine (or the owner) dates the review a year ahead
        m.setattr(clock_bound, "event_time", lambda moment=None: "2027-12-01T00:00:00.000000Z")
        ok(owned, "review", NAME, "--env", "staging", "--value", "0.95", *key(keys, "owner"))
    assert owned.json("history", NAME, "--env", "staging")["events"][0]["time"] == "2027-12-01T00:00:00.000000Z"
    check = owned.run("status", "--check")
    assert check.exit_code == 1, check.output
    assert "review: seq 8 is dated 2027-12-01T00:00:00.000000Z, ahead of this machine" in check.output
    ok(owned, "review", NAME, "--env", "staging", "--value", "0.95", *key(keys, "owner"))  # a record follows: counted
    assert owned.run("status", "--check").exit_code == 0
