"""What a manifest holds never acts on the terminal: hyperlinks (OSC 8), cursor moves (CSI), right-to-left overrides
and NULs are shown as visible escapes in every human-readable output; --json carries the value exactly."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_bundles_hostile_input import edit, make_bundle
from tests.conftest import Workspace

pytestmark = pytest.mark.parametrize("registry", ["git"], indirect=True)

HOSTILE = (
    "Routes \\e]8;;https://evil.example\\e\\\\tickets\\e]8;;\\e\\\\ \\u202Etxt.exe\\u202C \\0 \\e[2J\\e[8mhidden"
    "\\e[0m \\x9b31m \\u2066x\\u2069"
)  # YAML double-quoted escapes


def test_show_escapes_what_a_manifest_would_make_the_terminal_do(registry: Workspace):
    folder = make_bundle(registry, "escapes")
    edit(
        folder / "bundle.yaml",
        "description: Routes inbound support tickets to the right queue with a priority and a cited reason.",
        f'description: "{HOSTILE}"',
    )
    shown = registry.run("show", str(folder))
    assert shown.exit_code == 0, shown.output
    line = next(line for line in shown.stdout.splitlines() if "description" in line)
    assert line == (
        "  description: Routes \\x1b]8;;https://evil.example\\x1b\\tickets\\x1b]8;;\\x1b\\ \\u202etxt.exe\\u202c "
        "\\x00 hidden \\x9b31m \\u2066x\\u2069"
    )  # CSI: click strips it off a terminal
    raw = json.loads(registry.run("show", str(folder), "--json").stdout)["metadata"]["description"]
    assert "\x1b]8;;https://evil.example" in raw and "\u202e" in raw and "\x00" in raw  # JSON: the value itself

    registered = registry.run("register", str(folder))  # the success line quotes nothing raw either
    assert registered.exit_code == 0 and "\x1b" not in registered.output
