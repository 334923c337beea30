"""The layers of the package, as the folder names promise: arrows point one way, and no module imports itself back.

Imports are read from the source with `ast`, everywhere in a module (a function-local import is still a
dependency); only imports under `if TYPE_CHECKING:` are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.structure.layout import LAYERS, LAYOUT_DOC, PACKAGE, ROOT_MODULES, layout_markdown, unit_of


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """The bundlectl modules a module imports at run time (`from bundlectl.x import y` counts y when y is a module)."""
    tree = ast.parse(path.read_text())
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(n) for child in node.body for n in ast.walk(child)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bundlectl"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("bundlectl")}
    return found


GRAPH = {module: _imports(path) for module, path in MODULES.items()}


def _layer(unit: str) -> int:
    for number, (_, members) in enumerate(LAYERS):
        if unit in members:
            return number
    raise AssertionError(f"bundlectl.{unit} is in no layer: put it in a layer folder, or add the folder to LAYERS in tests/structure/layout.py")


def test_the_package_root_holds_only_a_handful_of_modules() -> None:
    assert sorted(path.stem for path in PACKAGE.glob("*.py")) == sorted(ROOT_MODULES)


def test_every_folder_is_in_a_layer() -> None:
    for path in PACKAGE.iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            _layer(path.name)


def test_every_import_points_down_or_sideways() -> None:
    upward = []
    for module, imported in sorted(GRAPH.items()):
        unit = unit_of(module)
        if unit == "__init__":
            continue
        for target in sorted(imported):
            if unit_of(target) != "__init__" and _layer(unit_of(target)) > _layer(unit):
                upward.append(f"{module} imports {target}")
    assert upward == []


def test_nothing_imports_the_cli() -> None:
    users = sorted(m for m, imported in GRAPH.items() if any(t.startswith("bundlectl.cli") for t in imported) and not m.startswith("bundlectl.cli"))
    assert users in ([], ["bundlectl.__main__"])


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_no_import_cycles_not_even_through_function_local_imports() -> None:
    # a package's __init__ re-exporting its own modules is not a cycle worth naming: drop module -> own package edges
    graph = {m: {t for t in imported if not m.startswith(t + ".")} for m, imported in GRAPH.items()}
    assert _cycles(graph) == []


def test_the_cycle_check_sees_a_cycle_through_a_local_import() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_layout_page_is_generated_from_the_tree() -> None:
    assert LAYOUT_DOC.read_text() == layout_markdown(), "run `python tests/structure/layout.py --write`"


def test_the_facade_says_what_is_public() -> None:
    """`__all__` of bundlectl.api lists every public function and type it defines (a new facade function is added to it)."""
    tree = ast.parse((PACKAGE / "api.py").read_text())
    public = [node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_")]
    import bundlectl.api

    assert sorted(bundlectl.api.__all__) == sorted(public)
