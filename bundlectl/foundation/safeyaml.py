"""Safe YAML for hostile input: no code execution, no duplicate keys, bounded alias expansion and nesting.

PyYAML shares aliased nodes while constructing, so an alias bomb is cheap to parse but explodes
when anything walks the result; we measure the expanded size on the node graph first and refuse
before constructing anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from bundlectl.errors import InvalidInput, Problem

MAX_NODES = 200_000
MAX_DEPTH = 64

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """SafeLoader that keeps dates as strings and refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise _Located(key_node.start_mark.line + 1, "mapping keys must be plain scalars")
            if key in seen:
                raise _Located(
                    key_node.start_mark.line + 1,
                    f"duplicate key {key!r} (first defined on line {seen[key]})",
                )
            seen[key] = key_node.start_mark.line + 1
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


# Dates stay strings: a version like 2026-11-22 must not become a datetime object.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Located(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class YamlDocument:
    """Loaded data plus where each path (tuple of keys/indexes) starts in the file."""

    data: Any
    source: str
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        """Line of the longest prefix of `path` we know, so errors point near the field."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def load_yaml(text: str, source: str, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH) -> YamlDocument:
    """Parse one YAML document from `text`, refusing anything unsafe with file and line."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            raise InvalidInput([Problem(source, f"is not valid YAML: {exc.problem or exc}", line)]) from None
        except yaml.YAMLError as exc:
            raise InvalidInput([Problem(source, f"is not valid YAML: {exc}")]) from None
        except RecursionError:
            raise InvalidInput([Problem(source, f"nests deeper than {max_depth} levels")]) from None
        if node is None:
            return YamlDocument(None, source)
        lines: dict[tuple[Any, ...], int] = {}
        try:
            _check_shape(node, max_nodes, max_depth)
            _record_lines(node, (), lines)
            data = loader.construct_document(node)
        except _Located as exc:
            raise InvalidInput([Problem(source, exc.message, exc.line)]) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            problem = exc.problem or str(exc)
            raise InvalidInput(
                [Problem(source, f"unsupported YAML: {problem}", line)],
                "only plain YAML is accepted (no language-specific tags)",
            ) from None
        return YamlDocument(data, source, lines)
    finally:
        loader.dispose()


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_shape(root: yaml.Node, max_nodes: int, max_depth: int) -> None:
    """Refuse alias bombs, recursive aliases and deep nesting, measuring the graph as it would expand."""
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    on_stack: set[int] = set()

    def visit(node: yaml.Node, depth: int) -> None:
        key = id(node)
        if key in sizes:
            return
        line = node.start_mark.line + 1
        if key in on_stack:
            raise _Located(line, "recursive alias (an anchor that contains itself)")
        if depth > max_depth:
            raise _Located(line, f"nests deeper than {max_depth} levels")
        on_stack.add(key)
        size, height = 1, 1
        for child in _children(node):
            visit(child, depth + 1)
            size += sizes[id(child)]
            height = max(height, heights[id(child)] + 1)
            if size > max_nodes:
                raise _Located(
                    line,
                    f"expands to more than {max_nodes} nodes through aliases (an alias bomb?)",
                )
            if depth + height > max_depth + 1:
                raise _Located(line, f"nests deeper than {max_depth} levels through aliases")
        on_stack.discard(key)
        sizes[key], heights[key] = size, height

    visit(root, 1)


def _record_lines(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                child = path + (key_node.value,)
                lines.setdefault(child, key_node.start_mark.line + 1)
                _record_lines(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, path + (index,), lines)
