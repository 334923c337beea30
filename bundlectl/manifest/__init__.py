"""The bundle manifest: its pydantic models, the pinning and path rules, and loading a bundle folder."""

KINDS: tuple[str, ...] = ("model", "prompt", "schema", "retriever", "tools", "guardrails", "evals", "runbook")
