"""The package's layers, named once: the layer test checks imports against them and docs/layout.md is generated from them.

Run `python tests/structure/layout.py --write` after adding a folder or module; the tests fail while docs/layout.md
and the tree disagree.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bundlectl"
LAYOUT_DOC = ROOT / "docs" / "layout.md"

# lower layers first: a module may import its own layer and the layers before it, never one after it
LAYERS: list[tuple[str, set[str]]] = [
    ("foundations", {"errors", "foundation", "safeio", "stats"}),
    ("digests", {"digest"}),
    ("bundles, storage and trust", {"bundle", "storage", "trust", "integrity"}),
    ("the registry", {"registry"}),
    ("domain rules", {"policy", "evidence", "gate", "guard", "diff", "driftcheck", "transitions"}),
    ("workflows", {"workflows", "webhooks", "report", "doctor", "drift"}),
    ("the library facade and the serving runtime", {"api", "runtime", "serve", "openfeature"}),
    ("the command line", {"cli", "__main__"}),
]

# modules the package root may hold: the rest lives in a layer folder
ROOT_MODULES = {"__init__", "__main__", "api", "errors", "openfeature"}  # openfeature: the public provider module


def unit_of(module: str) -> str:
    """The folder (or root module) under bundlectl that a dotted module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def docstring_line(path: Path) -> str:
    text = ast.get_docstring(ast.parse(path.read_text())) or ""
    return text.strip().split("\n\n")[0].replace("\n", " ").replace("|", "\\|")


def layout_markdown() -> str:
    lines = [
        "# Layout",
        "",
        "Generated from the tree by `python tests/structure/layout.py --write`; `tests/structure/test_layers.py` fails",
        "when this page and the tree disagree, when a module imports from a later layer, and on any import cycle.",
        "",
    ]
    for number, (title, units) in enumerate(LAYERS):
        lines += [f"## {number}. {title}", ""]
        for unit in sorted(units):
            folder = PACKAGE / unit
            if folder.is_dir():
                lines += [
                    f"### `{unit}/`",
                    "",
                    docstring_line(folder / "__init__.py") or "(no package docstring)",
                    "",
                    "| module | what it is for |",
                    "|---|---|",
                ]
                for path in sorted(folder.rglob("*.py")):
                    if path.name != "__init__.py" or path.parent != folder:
                        name = path.relative_to(folder).as_posix()
                        lines.append(f"| `{name}` | {docstring_line(path)} |")
                lines.append("")
            elif (PACKAGE / f"{unit}.py").exists():
                lines += [f"### `{unit}.py`", "", docstring_line(PACKAGE / f"{unit}.py"), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        LAYOUT_DOC.parent.mkdir(exist_ok=True)
        LAYOUT_DOC.write_text(layout_markdown())
    else:
        sys.stdout.write(layout_markdown())
