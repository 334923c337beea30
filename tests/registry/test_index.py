"""The read index: reads never write a current index, work where it cannot be written, and equal a rebuild."""

from __future__ import annotations

import gc
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bundlectl.registry.index import SCHEMA_VERSION, Index
from bundlectl.registry.packing import pack, unpack
from tests.conftest import V1, V2, Workspace
from tests.helpers import add, promote, promptfoo_report, set_policy

READS = [
    ("status",),
    ("list",),
    ("show", V2),
    ("history", "support-triage", "--env", "staging"),
    ("evidence", "list", V2),
    ("gate", V2, "--env", "staging"),
    ("policy", "show"),
]


def index_files(ws: Workspace) -> dict[str, tuple[int, int] | None]:
    """Each index file that exists, with its modification time and size, once every connection is closed.

    A CLI process closes its connection when it exits; in this test process an earlier command's index
    can linger until the garbage collector runs, and closing the last connection is what folds SQLite's
    -wal file into the index: collect first, so no read is blamed for an earlier write.
    """
    gc.collect()
    index = ws.storage().index_path()
    seen: dict[str, tuple[int, int] | None] = {}
    for suffix in ("", "-wal"):
        path = Path(str(index) + suffix)
        seen[path.name] = (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None
    return seen


def index_contents(ws: Workspace) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of the index, in a stable order."""
    db = sqlite3.connect(ws.storage().index_path())
    tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    contents = {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in tables}
    db.close()
    return contents


def forget_index(ws: Workspace) -> None:
    index = ws.storage().index_path()
    for path in index.parent.glob(index.name + "*"):
        path.unlink()


@pytest.fixture
def busy(registered: Workspace) -> Workspace:
    """Every kind of event: policy, evidence, approvals, promotions, a component rollback, new versions."""
    ws = registered
    set_policy(ws, "environments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n")
    add(ws, V1, promptfoo_report(ws, "v1"))
    add(ws, V2, promptfoo_report(ws, "v2"))
    assert ws.run("approve", V2, "--env", "staging", "--actor", "bob@example.com").exit_code == 0
    promote(ws, V1, "staging")
    promote(ws, V2, "staging")
    rolled = ws.run(
        "rollback", "support-triage", "--env", "staging", "--component", "guardrails", "--break-glass", "--reason", "abstention too aggressive"
    )
    assert rolled.exit_code == 0, rolled.output
    for i in range(3):  # later versions are packed against the first one's record
        folder = ws.root / "bundles" / f"support-triage-v{3 + i}"
        shutil.copytree(ws.root / "bundles/support-triage-v2", folder)
        manifest = folder / "bundle.yaml"
        manifest.write_text(manifest.read_text().replace("version: 2026.11.22-1", f"version: 2026.12.0{i}-1"))
        with (folder / "runbook.md").open("a") as runbook:
            runbook.write(f"\nRevision {i}.\n")
        assert ws.run("register", str(folder)).exit_code == 0
    return ws


def without_ages(document: dict) -> dict:
    """A read's answer without the ages it measures now (gate --json gives them in seconds, so they move)."""
    return (
        {**document, "checks": [{k: v for k, v in c.items() if c.get("unit") != "seconds" or k != "value"} for c in document["checks"]]}
        if "checks" in document
        else document
    )


def test_reads_leave_a_current_index_untouched(busy: Workspace):
    before = {read: without_ages(busy.json(*read)) for read in READS}  # the first read may catch up; nothing is behind after it
    files = index_files(busy)
    assert files["index.sqlite"] is not None
    for read in READS:
        assert without_ages(busy.json(*read)) == before[read]
        assert index_files(busy) == files, f"{' '.join(read)} wrote to the index"


def test_a_read_after_a_write_catches_up_once(busy: Workspace):
    busy.json("status")
    assert busy.run("approve", V1, "--env", "staging", "--actor", "carol@example.com").exit_code == 0
    busy.json("status")
    files = index_files(busy)
    busy.json("status")
    assert index_files(busy) == files


def test_incremental_index_equals_a_rebuild(busy: Workspace):
    incremental = index_contents(busy)
    assert len(incremental["bundles"]) == 6 and any(row[-1] is not None for row in incremental["bundles"])
    forget_index(busy)
    listed = busy.json("list")
    assert index_contents(busy) == incremental
    assert [b["version"] for b in listed["bundles"]] == [
        "2026.11.01-1",
        "2026.11.22-1",
        "2026.11.22-1+rb.guardrails",
        "2026.12.00-1",
        "2026.12.01-1",
        "2026.12.02-1",
    ]


def test_each_record_is_stored_once(busy: Workspace):
    """A record lives only in `bundles`; no event row repeats it, not even a component rollback's."""
    contents = index_contents(busy)
    moves = [row[-1] for row in contents["events"] if row[-1] is not None]
    assert moves and not any('"record":' in move for move in moves)
    assert all(row[-1] is None for row in contents["events"] if row[1] not in ("promote", "rollback"))
    shown = busy.json("show", "support-triage@staging")
    assert shown["version"] == "2026.11.22-1+rb.guardrails" and shown["lineage"]["swapped"] == ["guardrails"]


def test_an_index_of_an_older_schema_is_rebuilt(git_registered: Workspace):
    before = git_registered.json("list")
    forget_index(git_registered)
    path = git_registered.storage().index_path()
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema', '5');"
        "CREATE TABLE bundles (name TEXT, version TEXT, record_json TEXT);"
    )
    old.close()
    assert git_registered.json("list") == before
    assert Index(path).head().id == git_registered.log_head()
    assert sqlite3.connect(path).execute("SELECT value FROM meta WHERE key='schema'").fetchone() == (SCHEMA_VERSION,)


def _without_write_override() -> None:
    """In the child: drop root's right to write where the permissions say no (CAP_DAC_OVERRIDE)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override = 24, 1
    if libc.prctl(pr_capbset_drop, cap_dac_override, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_read_only(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    """A command in a process that cannot write where permissions forbid it, even as root."""
    drop = _without_write_override if os.geteuid() == 0 else None
    try:
        return subprocess.run([sys.executable, *args], cwd=ws.root, capture_output=True, text=True, preexec_fn=drop, timeout=120)
    except subprocess.SubprocessError as exc:
        pytest.skip(f"cannot start a process without CAP_DAC_OVERRIDE here: {exc}")


@pytest.fixture
def read_only_index(git_registered: Workspace):
    """The folder of the index, made read-only once the test calls the returned function."""
    folder = git_registered.storage().index_path().parent

    def make_read_only() -> None:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        tried = run_read_only(git_registered, "-c", f"open({str(folder / 'probe')!r}, 'w')")
        if tried.returncode == 0:
            folder.chmod(stat.S_IRWXU)
            pytest.skip("this machine lets the test process write to a read-only folder")

    yield make_read_only
    folder.chmod(stat.S_IRWXU)


def test_reads_work_when_the_index_folder_is_read_only(git_registered: Workspace, read_only_index):
    expected = {read: git_registered.json(*read) for read in (("list",), ("show", V1), ("status",))}
    read_only_index()
    for read, document in expected.items():
        result = run_read_only(git_registered, "-m", "bundlectl", *read, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == document


def test_a_stale_index_in_a_read_only_folder_is_caught_up_in_memory(git_registered: Workspace, read_only_index, tmp_path):
    git_registered.json("list")
    index = git_registered.storage().index_path()
    saved = tmp_path / "saved-index"
    saved.mkdir()
    for path in index.parent.glob(index.name + "*"):
        shutil.copy2(path, saved / path.name)
    set_policy(git_registered, "environments:\n  qa: {gates: {}}\n")
    forget_index(git_registered)
    for path in saved.iterdir():  # the index as it was: one event behind the log
        shutil.copy2(path, index.parent / path.name)
    read_only_index()
    result = run_read_only(git_registered, "-m", "bundlectl", "policy", "show", "--json")
    assert result.returncode == 0, result.stderr
    assert list(json.loads(result.stdout)["policy"]["environments"]) == ["qa"]


def test_a_record_far_from_its_keyframe_becomes_a_keyframe():
    first = b'{"name": "a", "files": {"x": "' + b"0123456789abcdef" * 40 + b'"}}'
    similar = first.replace(b'"a"', b'"b"')
    unrelated = bytes(range(256)) * 4
    packed, against = pack(similar, first)
    assert against and len(packed) < 100 and unpack(packed, first) == similar
    packed, against = pack(unrelated, first)
    assert not against and unpack(packed, None) == unrelated
    assert pack(first, None) == (pack(first, None)[0], False)


def test_first_reads_racing_to_build_the_index_all_succeed(busy: Workspace):
    expected = busy.json("status")
    forget_index(busy)
    readers = [
        subprocess.Popen(
            [sys.executable, "-m", "bundlectl", "status", "--json"], cwd=busy.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    outcomes = [(*reader.communicate(timeout=120), reader.returncode) for reader in readers]
    assert all(code == 0 for _, _, code in outcomes), outcomes
    assert all(json.loads(out) == expected for out, _, _ in outcomes)
    assert Index(busy.storage().index_path()).head().id == busy.log_head()
