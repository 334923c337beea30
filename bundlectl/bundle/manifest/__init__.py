"""The bundle manifest: its pydantic models, the pinning and path rules, and loading a bundle folder."""

KINDS: tuple[str, ...] = ("model", "prompt", "schema", "retriever", "tools", "guardrails", "evals", "runbook")
TEXT_KINDS: frozenset[str] = frozenset({"prompt", "runbook"})  # their files are UTF-8 text, diffed line by line
