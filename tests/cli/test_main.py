"""The command group: every command listed without importing it, only the invoked command's module
loaded, and the one place where an error becomes an exit code."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from bundlectl import __version__
from bundlectl.cli.main import COMMANDS, cli
from tests.conftest import Workspace

CLI_PACKAGE = Path(__file__).resolve().parents[2] / "bundlectl" / "cli"

PROBE = """
import sys, json
from bundlectl.cli.main import cli
try:
    cli.main(args=sys.argv[1:], prog_name="bundlectl")
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("bundlectl.cli."))), file=sys.stderr)
"""


def cli_modules_loaded(cwd: Path, *args: str) -> tuple[str, list[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, check=False)
    return result.stdout, json.loads(result.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("width", [60, 80, 120])
def test_help_lists_each_command_with_its_own_whole_summary_by_workflow(width: int):
    from bundlectl.cli.main import WORKFLOW

    ctx = click.Context(cli)
    lazy = click.HelpFormatter(width=width)
    cli.format_commands(ctx, lazy)
    listed = lazy.getvalue()
    assert [line[:-1] for line in listed.splitlines() if line.endswith(":") and not line.startswith(" ")] == list(WORKFLOW)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.help is not None
        assert " ".join(command.help.split("\n\n")[0].split()) == COMMANDS[name].help, name  # the table is the docstring
    assert " ".join(listed.split()).count("…") == " ".join(COMMANDS[n].help for n in COMMANDS).count("…")  # nothing cut


def test_help_imports_no_command_module(tmp_path: Path):
    output, loaded = cli_modules_loaded(tmp_path, "--help")
    assert all(f"  {name} " in output for name in COMMANDS)
    assert loaded == ["bundlectl.cli.main"]


def test_a_command_loads_only_its_own_module(git_registered: Workspace):
    output, loaded = cli_modules_loaded(git_registered.root, "status", "--json")
    assert json.loads(output) == {"environments": [], "trust": {"set": False, "since": None}}
    assert loaded == ["bundlectl.cli.main", "bundlectl.cli.options", "bundlectl.cli.output", "bundlectl.cli.status"]


def test_command_modules_never_import_main():
    for path in CLI_PACKAGE.glob("*.py"):
        imported = {node.module for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)}
        assert "bundlectl.cli.main" not in imported or path.name == "__init__.py", path


def test_every_listed_command_exists():
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name


def test_unknown_command_is_a_usage_error(workspace: Workspace):
    result = workspace.run("nope")
    assert result.exit_code == 2 and "no such command 'nope'; see `bundlectl --help`" in result.stderr


def test_an_unexpected_exception_is_a_bug_in_one_line(git_registered: Workspace, monkeypatch: pytest.MonkeyPatch):
    from bundlectl import api

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "status_report", broken)
    result = git_registered.run("status")
    assert result.exit_code == 70
    first, hint = result.stderr.splitlines()
    assert first == "error: internal error (RuntimeError: boom); this is a bug in bundlectl"
    assert hint.startswith("hint: the crash report is ") and hint.endswith(
        ": please attach it to a bug report (BUNDLECTL_DEBUG=1 shows the traceback here instead)"
    )
    report = Path(hint.removeprefix("hint: the crash report is ").split(": please")[0])
    assert report.parent == Path(os.environ["BUNDLECTL_CACHE_DIR"]) / "crashes"
    text = report.read_text()
    assert text.startswith(f"bundlectl {__version__}\npython ") and "\nclick " in text and "\npydantic " in text
    assert "command: bundlectl" in text and 'raise RuntimeError("boom")' in text and "RuntimeError: boom" in text


def test_a_crash_report_goes_to_the_temp_folder_when_the_cache_cannot_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from bundlectl.cli.crash import write_crash_report

    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("BUNDLECTL_CACHE_DIR", str(blocked))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    try:
        raise ValueError("bad")
    except ValueError as exc:
        report = write_crash_report(exc, ["status", "--json"])
    assert report is not None and report.parent == tmp_path / "tmp"
    assert "command: bundlectl status --json" in report.read_text() and "ValueError: bad" in report.read_text()
    assert blocked.read_text() == "a file where the cache folder would be"


def test_ctrl_c_exits_130_without_a_traceback(git_registered: Workspace, monkeypatch: pytest.MonkeyPatch):
    from bundlectl import api

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "status_report", interrupted)
    result = git_registered.run("status")
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted; nothing half-written was kept" and "Traceback" not in result.output


def test_ctrl_c_in_a_real_process_exits_130(git_registered: Workspace):
    probe = (
        "import signal, os, sys\nfrom bundlectl import api\n"
        "def stop(*a, **k):\n    os.kill(os.getpid(), signal.SIGINT)\n"
        "api.status_report = stop\nfrom bundlectl.cli.main import main\nmain(['status'])\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=git_registered.root, capture_output=True, text=True, check=False)
    assert result.returncode == 130 and result.stderr.strip() == "interrupted; nothing half-written was kept"
