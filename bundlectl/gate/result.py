"""What the gate says: each check with its measured value, threshold, verdict and reason."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from bundlectl.errors import Refused

if TYPE_CHECKING:
    from bundlectl.registry.rows import EvidenceRow


class Check(NamedTuple):
    name: str
    passed: bool
    value: Any  # a number, a bool, a mapping, or a timedelta for ages (JSON: seconds, with "unit")
    threshold: Any
    detail: str

    def to_json(self) -> dict[str, Any]:
        document = {
            "name": self.name,
            "passed": self.passed,
            "value": _seconds(self.value),
            "threshold": _seconds(self.threshold),
            "detail": self.detail,
        }
        if isinstance(self.value, timedelta) or isinstance(self.threshold, timedelta):
            document["unit"] = "seconds"
        return document


def _seconds(value: Any) -> Any:
    return int(value.total_seconds()) if isinstance(value, timedelta) else value


class GateResult(NamedTuple):
    name: str
    version: str
    digest: str
    env: str
    checks: list[Check]
    evidence: list[int]  # seqs of the evidence the checks used (what a move records)
    evidence_rows: tuple[EvidenceRow, ...] = ()  # the same evidence, for people and --json

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "env": self.env,
            "checks": [c.to_json() for c in self.checks],
            "evidence": [
                {
                    "seq": e.seq,
                    "kind": e.kind,
                    "version": e.version,
                    "digest": e.digest,
                    "source": e.source,
                    "run_at": e.run_at,
                    "provenance": e.provenance,
                }
                for e in self.evidence_rows
            ],
        }


class GateRefused(Refused):
    """A refusal that carries the gate's result, so the CLI can print each check before the error."""

    def __init__(self, result: GateResult) -> None:
        failed = ", ".join(c.name for c in result.failures())
        super().__init__(
            f"{result.name}@{result.version} may not go live in {result.env}: failed {failed}; nothing was changed",
            f"see `bundlectl gate {result.name}@{result.version} --env {result.env}` for each check",
        )
        self.result = result

    def details(self) -> dict[str, Any]:
        return {"gate": self.result.to_json()}
