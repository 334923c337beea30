"""The request log's appender in a folder others can write: a planted symlink is refused, never appended through."""

from __future__ import annotations

import errno

import pytest

from bundlectl.safeio.appender import LineAppender


def test_a_symlink_planted_at_the_log_path_is_refused_and_its_target_untouched(tmp_path):
    profile = tmp_path / "bashrc"  # a file of the serving user that a shell runs
    profile.write_text("export PATH=$PATH\n")
    log = tmp_path / "logs" / "requests.jsonl"
    log.parent.mkdir()
    log.symlink_to(profile)
    with pytest.raises(OSError) as err:
        LineAppender(log, lambda n: f"{n} dropped")
    assert err.value.errno == errno.ELOOP
    assert profile.read_text() == "export PATH=$PATH\n"


def test_a_regular_log_file_is_appended_to(tmp_path):
    log = tmp_path / "requests.jsonl"
    log.write_text('{"earlier": 1}\n')
    appender = LineAppender(log, lambda n: f"{n} dropped")
    assert appender.append('{"later": 2}')
    appender.close()
    assert log.read_text() == '{"earlier": 1}\n{"later": 2}\n'
