"""The command group: every command listed without importing it, only the invoked command's module
loaded, and the one place where an error becomes an exit code."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

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
    assert result.stderr == ("error: internal error (RuntimeError: boom); this is a bug in bundlectl\n"
                             "hint: rerun with BUNDLECTL_DEBUG=1 for the traceback and report it\n")
