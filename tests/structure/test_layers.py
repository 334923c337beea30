"""The layers of the package, as the folder names promise: arrows point one way.

Imports are read from the source with `ast` (imports under `if TYPE_CHECKING:` are annotations, not
dependencies, and are left out), so a new import that breaks a layer fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "bundlectl"

# lower layers first; a module may import its own layer and the layers before it
LAYERS: list[set[str]] = [
    {"errors", "clock", "durations", "textfile", "safeyaml", "progress", "faults", "stamp", "outcomes", "digest", "names",
     "safeio", "stats"},
    {"manifest", "record", "content", "storage", "constraints", "freshness", "trust", "model_file"},
    {"registry", "bundle_folder", "validation", "scaffold", "export", "identity"},
    {"policy", "evidence", "gate", "guard", "diff", "refs", "record_view"},
    {"moves", "promotion", "pausing", "canary", "guarding", "rollback", "verify", "registry_copy", "initialise", "status", "audit",
     "schema_export", "trust_log", "drift"},
    {"api", "runtime"},
    {"cli", "__main__"},
]


def _unit(module: str) -> str:
    """The top-level name under bundlectl that a dotted module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(n) for child in node.body for n in ast.walk(child)}
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bundlectl"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("bundlectl")}
    return found


def _layer(unit: str) -> int:
    for number, members in enumerate(LAYERS):
        if unit in members:
            return number
    raise AssertionError(f"bundlectl.{unit} is in no layer: add it to LAYERS")


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        graph[module] = _imports(path)
    return graph


def test_every_import_points_down_or_sideways() -> None:
    upward = []
    for module, imported in sorted(_graph().items()):
        unit = _unit(module)
        if unit == "__init__":
            continue
        for target in sorted(imported):
            if _unit(target) != "__init__" and _layer(_unit(target)) > _layer(unit):
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_nothing_below_the_workflow_imports_promotion_and_nothing_imports_the_cli() -> None:
    graph = _graph()
    promotion_users = sorted(m for m, imported in graph.items() if "bundlectl.promotion" in imported)
    assert all(_layer(_unit(m)) >= _layer("promotion") for m in promotion_users), promotion_users
    cli_users = sorted(m for m, imported in graph.items()
                       if any(t.startswith("bundlectl.cli") for t in imported) and not m.startswith("bundlectl.cli"))
    assert cli_users in ([], ["bundlectl.__main__"])
