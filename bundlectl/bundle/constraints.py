"""Compatibility constraints between components (README: Rolling back one component), checked on the whole bundle.

A prompt may name the tools it calls and the schema version it is written for; a retriever may name
the embedding model its index was built with. A bundle that breaks one is refused at validation,
registration, promotion and rollback, and break-glass never overrides it.
"""

from __future__ import annotations

from collections.abc import Callable

from bundlectl.bundle.record import BundleRecord
from bundlectl.errors import Refused

Reader = Callable[[str], bytes]


def constraint_violations(record: BundleRecord, read_file: Reader) -> list[str]:
    problems: list[str] = []
    prompt = record.components["prompt"]
    requires = prompt.fields.get("requires") or {} if not prompt.absent else {}
    if requires.get("tools"):
        available = _tool_names(record, read_file)
        missing = [name for name in requires["tools"] if name not in available]
        if missing:
            problems.append(
                f"the prompt calls tool{'s' if len(missing) > 1 else ''} {', '.join(missing)}, which the tools component does not provide"
            )
    wanted = requires.get("schema_version")
    if wanted is not None:
        schema = record.components["schema"]
        have = None if schema.absent else schema.fields.get("version")
        if have != wanted:
            problems.append(
                f"the prompt is written for output schema version {wanted}, "
                f"but the schema component is version {have if have is not None else '(none)'}"
            )
    retriever = record.components["retriever"]
    built_with = retriever.fields.get("index_embedding_model") if not retriever.absent else None
    if built_with is not None and built_with != retriever.fields.get("embedding_model"):
        problems.append(f"the retriever queries with {retriever.fields.get('embedding_model')} but its index was built with {built_with}")
    return problems


def _tool_names(record: BundleRecord, read_file: Reader) -> set[str]:
    from bundlectl.bundle.content.documents import parse_document
    from bundlectl.bundle.content.tools import parse_tools

    tools = record.components["tools"]
    names: set[str] = set()
    if tools.absent:
        return names
    for path in sorted(tools.files):
        names.update(parse_tools(parse_document(read_file(path), path), path))
    return names


def require_compatible(record: BundleRecord, read_file: Reader, action: str) -> None:
    problems = constraint_violations(record, read_file)
    if problems:
        raise Refused(
            f"{action} refused: {record.ref} breaks {'a compatibility constraint' if len(problems) == 1 else 'compatibility constraints'}: "
            + "; ".join(problems)
            + "; nothing was changed",
            "constraints are declared in bundle.yaml (prompt.requires, retriever.index_embedding_model); --break-glass does not override them",
        )
