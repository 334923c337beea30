"""The error family: each integrity check has its own error type, and every one of them exits 5."""

from __future__ import annotations

import subprocess

import pytest

from bundlectl import errors
from bundlectl.errors import EXIT_MEANINGS, ExitCode, IntegrityFailure
from tests.conftest import Workspace

INTEGRITY_ERRORS = [
    errors.DamagedStorage,
    errors.DigestMismatch,
    errors.BrokenChain,
    errors.MalformedRecord,
    errors.PointerMismatch,
    errors.IndexMismatch,
    errors.TamperedRecord,
]


@pytest.mark.parametrize("kind", INTEGRITY_ERRORS)
def test_each_integrity_failure_is_named_and_exits_5(kind: type[IntegrityFailure]):
    assert issubclass(kind, IntegrityFailure) and kind("x").exit_code == ExitCode.INTEGRITY == 5
    assert kind.__doc__ and kind.__name__ != "IntegrityFailure"


def test_every_exit_code_has_its_meaning_written_once():
    assert set(EXIT_MEANINGS) == set(ExitCode)


def test_a_pointer_value_that_is_not_one_is_a_malformed_record():
    from bundlectl.registry.pointers import PointerValue

    with pytest.raises(errors.MalformedRecord, match="does not hold a bundlectl pointer value"):
        PointerValue.decode(b"not a pointer", "refs/bundlectl/pointers/x/dev")


def test_a_log_ref_pointing_at_a_blob_is_damaged_storage_exit_5(git_registered: Workspace):
    """The attacker's test: the log ref replaced by something that is not a commit."""
    from bundlectl.storage.git import LOG_REF

    root = git_registered.root
    blob = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"], cwd=root, input="not a log", capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "update-ref", LOG_REF, blob], cwd=root, check=True)
    result = git_registered.run("status", "--json")
    assert result.exit_code == 5, result.output
    assert "integrity" in result.stdout
