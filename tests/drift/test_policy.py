"""The policy's `drift` and `review` settings: defaults filled in, bad values refused with nothing stored."""

from __future__ import annotations

import pytest

from tests.conftest import Workspace

HEAD = "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging:\n"


def test_defaults_are_stored(git_registry: Workspace):
    (git_registry.root / "p.yaml").write_text(HEAD + "    drift: {every: 7d}\n    review: {every: 30d}\n")
    assert git_registry.run("policy", "set", "p.yaml").exit_code == 0
    stored = git_registry.json("policy", "show")["policy"]["environments"]["staging"]
    assert stored["drift"] == {"every": "7d", "alpha": 0.01, "action": "notify"} and stored["review"] == {"every": "30d"}


@pytest.mark.parametrize(
    "body, message",
    [
        ("    drift: {every: 7d, action: explode}\n", "notify"),
        ("    drift: {every: 7d, alpha: 1.5}\n", "alpha"),
        ("    drift: {every: 7x}\n", "is not a duration"),
        ("    drift: {alpha: 0.01}\n", "every"),
        ("    review: {every: 30d, by: me}\n", "by"),
    ],
)
def test_bad_settings_are_refused_and_nothing_is_stored(git_registry: Workspace, body: str, message: str):
    (git_registry.root / "p.yaml").write_text(HEAD + body)
    head = git_registry.log_head()
    result = git_registry.run("policy", "set", "p.yaml")
    assert result.exit_code == 1 and message in result.stderr and "Traceback" not in result.output, result.output
    assert git_registry.log_head() == head
