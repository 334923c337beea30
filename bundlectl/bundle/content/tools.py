"""Tool manifests in OpenAI function-calling format or as an MCP tools/list result, read alike.

OpenAI: a list (or {"tools": [...]}) of {"type": "function", "function": {name, description, parameters}}.
MCP:    {"tools": [{name, description, inputSchema}]} (optionally inside a JSON-RPC "result").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bundlectl.errors import InvalidInput, Problem


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


def parse_tools(document: Any, source: str) -> dict[str, ToolSpec]:
    if isinstance(document, dict) and isinstance(document.get("result"), dict):
        document = document["result"]
    items = document.get("tools") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise InvalidInput([Problem(source, 'is not a tool manifest: expected a list of OpenAI tools or an MCP {"tools": [...]}')])
    tools: dict[str, ToolSpec] = {}
    for position, item in enumerate(items):
        spec = _one(item, source, position)
        if spec.name in tools:
            raise InvalidInput([Problem(source, f"tool {spec.name!r} is defined twice", field=f"[{position}]")])
        tools[spec.name] = spec
    return tools


def _one(item: Any, source: str, position: int) -> ToolSpec:
    where = f"[{position}]"
    if isinstance(item, dict) and isinstance(item.get("function"), dict):
        body, schema_key = item["function"], "parameters"
    elif isinstance(item, dict) and "inputSchema" in item:
        body, schema_key = item, "inputSchema"
    elif isinstance(item, dict) and "name" in item and "parameters" in item:
        body, schema_key = item, "parameters"
    else:
        raise InvalidInput([Problem(source, "is not an OpenAI function tool or an MCP tool", field=where)])
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInput([Problem(source, "tool has no name", field=f"{where}.name")])
    parameters = body.get(schema_key) or {}
    if not isinstance(parameters, dict):
        raise InvalidInput([Problem(source, f"{schema_key} must be a JSON Schema object", field=f"{where}.{schema_key}")])
    return ToolSpec(name, str(body.get("description") or ""), parameters)
