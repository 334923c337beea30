"""What the gate says: each check with its measured value, threshold, verdict and reason."""

from __future__ import annotations

from typing import Any, NamedTuple

from bundlectl.errors import Refused


class Check(NamedTuple):
    name: str
    passed: bool
    value: Any
    threshold: Any
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "value": self.value, "threshold": self.threshold, "detail": self.detail}


class GateResult(NamedTuple):
    name: str
    version: str
    digest: str
    env: str
    checks: list[Check]
    evidence: list[int]  # seqs of the evidence the checks used

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "name": self.name, "version": self.version, "digest": self.digest,
                "env": self.env, "checks": [c.to_json() for c in self.checks], "evidence": self.evidence}


class GateRefused(Refused):
    """A refusal that carries the gate's result, so the CLI can print each check before the error."""

    def __init__(self, result: GateResult) -> None:
        failed = ", ".join(c.name for c in result.failures())
        super().__init__(f"{result.name}@{result.version} may not go live in {result.env}: failed {failed}; nothing was changed",
                         f"see `bundlectl gate {result.name}@{result.version} --env {result.env}` for each check")
        self.result = result
