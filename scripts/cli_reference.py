"""Write docs/reference/cli.md from the commands' own --help (`--check`: exit 1 when the page is stale).

The page is generated so it cannot drift from the CLI; tests/docs/test_cli_reference.py runs the check.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

PAGE = Path(__file__).resolve().parent.parent / "docs" / "reference" / "cli.md"
WIDTH = 100


def _help(command: click.Command, path: list[str], parent: click.Context | None) -> str:
    context = click.Context(command, info_name=path[-1], parent=parent, terminal_width=WIDTH, max_content_width=WIDTH, color=False)
    return command.get_help(context)


def reference() -> str:
    from bundlectl.cli.main import WORKFLOW, cli

    root = click.Context(cli, info_name="bundlectl", terminal_width=WIDTH, max_content_width=WIDTH, color=False)
    parts = [
        "# CLI reference",
        "",
        "Generated from each command's `--help` by `python scripts/cli_reference.py`; a test fails when it is stale.",
        "`bundlectl COMMAND --help` prints the same text.",
        "",
        "```text",
        cli.get_help(root),
        "```",
        "",
    ]
    for section, names in WORKFLOW.items():
        parts += [f"## {section}", ""]
        for name in names:
            command = cli.get_command(root, name)
            assert command is not None, name
            parts += [f"### bundlectl {name}", "", "```text", _help(command, ["bundlectl", name], root), "```", ""]
            if isinstance(command, click.Group):
                group = click.Context(command, info_name=name, parent=root)
                for sub in command.list_commands(group):
                    subcommand = command.get_command(group, sub)
                    assert subcommand is not None, sub
                    parts += [f"#### bundlectl {name} {sub}", "", "```text", _help(subcommand, ["bundlectl", name, sub], group), "```", ""]
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    text = reference()
    if "--check" in argv:
        if not PAGE.exists() or PAGE.read_text() != text:
            print(f"{PAGE} is stale: run `python scripts/cli_reference.py`", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
