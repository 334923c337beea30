"""Hostile review of issue 29: a review names its own owner and a pause its own authority, and the signature is checked
against those; every reader (not only `verify`) must tie them to the live bundle's owner and its newest reviews."""

from __future__ import annotations

from bundlectl.registry.log import Planned, append
from bundlectl.trust.identity import acting
from bundlectl.workflows.pause import set_paused
from tests.conftest import Workspace
from tests.drift.conftest import NAME
from tests.drift.test_reviews import OWNER, owned, review  # noqa: F401  (fixture)
from tests.trust.conftest import Keys

BOB = "bob@example.com"  # an approver: neither the owner nor a promoter of staging


def _forge(ws: Workspace, keys: Keys, action: str, extra: dict, who: str = "bob") -> None:
    """Appends a signed record the way bundlectl would, skipping only its rules (a pause sets its pointer too)."""
    if action == "pause":
        signer = acting(None, [keys.path(who)])  # type: ignore[arg-type]
        set_paused(ws.storage(), NAME, "staging", signer, "forged", paused=True, authority=lambda index, live: extra)
        return
    live = ws.json("status")["environments"][0]
    data = {"name": NAME, "env": "staging", "digest": live["digest"], "version": live["version"], **extra}
    append(ws.storage(), lambda index: Planned(action, data), acting(None, [keys.path(who)]), "forged")  # type: ignore[arg-type]


def _refused_by_every_reader(ws: Workspace, message: str) -> None:
    """Every reader on another machine (this one's read index dropped: it took in the record its own writer wrote)."""
    ws.storage().index_path().unlink()
    for args in (["status", "--check"], ["history", NAME, "--env", "staging"], ["verify"]):
        result = ws.run(*args)
        assert result.exit_code == 5, (args, result.output)
        assert message in result.stderr, (args, result.stderr)


def test_a_key_holder_naming_themself_owner_cannot_pause(owned: Workspace, keys: Keys):  # noqa: F811
    _forge(owned, keys, "pause", {"owner": BOB, "reviews": []})
    _refused_by_every_reader(owned, f"claims the authority of {BOB!r}, who does not own what")


def test_the_owner_cannot_pause_on_reviews_within_tolerance_for_readers_either(owned: Workspace, keys: Keys):  # noqa: F811
    first, second = review(owned, keys, "0.95"), review(owned, keys, "0.85")
    _forge(owned, keys, "pause", {"owner": OWNER, "reviews": [second["seq"], first["seq"]]}, who="owner")
    _refused_by_every_reader(owned, "claims the owner's authority on reviews")


def test_a_review_signed_by_someone_naming_themself_owner_is_refused(owned: Workspace, keys: Keys):  # noqa: F811
    _forge(owned, keys, "review", {"owner": BOB, "metric": "correct_route_rate", "value": 0.5, "in_tolerance": False})
    _refused_by_every_reader(owned, "its owner disagree with")


def test_a_review_whose_in_tolerance_was_edited_is_refused(owned: Workspace, keys: Keys):  # noqa: F811
    _forge(owned, keys, "review", {"owner": OWNER, "metric": "correct_route_rate", "value": 0.95, "in_tolerance": False}, who="owner")
    _refused_by_every_reader(owned, "its in_tolerance disagree with")
