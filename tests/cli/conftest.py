"""Fixtures the command tests share."""

import pytest

from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promptfoo_report, set_policy


@pytest.fixture
def staged(registered: Workspace) -> Workspace:
    """Both example bundles registered, a staging eval gate, and fresh passing eval evidence for each."""
    set_policy(registered, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8, max_age: 7d}}}\n")
    add(registered, V1, promptfoo_report(registered, "v1"))
    add(registered, V2, promptfoo_report(registered, "v2"))
    return registered
