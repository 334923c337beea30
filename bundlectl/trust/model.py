"""Pydantic models of the trust file (README: Trust); schemas/trust.schema.json is generated from them.

Reading it: safe YAML, the models, errors with file, line and field; the result is the normal form that
`trust set` stores (every key line as `PRINCIPAL KEYTYPE BASE64`, comments dropped).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from bundlectl.foundation.model_file import load_model_file
from bundlectl.foundation.names import is_env, schema_url
from bundlectl.trust.roles import Signer, ambiguous_pairs, check_roles, trust_roles

MAX_TRUST_BYTES = 256 * 1024
KEY_HELP = "PRINCIPAL KEYTYPE BASE64, as a line of git's allowed_signers file (e.g. alice@example.com ssh-ed25519 AAAA…)."


def _normal_line(line: str) -> str:
    return Signer.parse(line).line()


KeyLine = Annotated[str, AfterValidator(_normal_line), Field(description=KEY_HELP)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Admins(Strict):
    threshold: int = Field(
        1, ge=1, description="How many distinct admins (principals) must sign `trust set` and `policy set`; two keys of one principal count once."
    )
    keys: list[KeyLine] = Field(min_length=1)


class Keys(Strict):
    keys: list[KeyLine] = Field(default_factory=list)


class Roles(Strict):
    admins: Admins
    approvers: Keys = Field(default_factory=Keys, description="Whose approvals count.")
    runners: Keys = Field(default_factory=Keys, description="CI machines whose evidence counts where a policy says `eval: {signed_by: runners}`.")
    promoters: dict[str, list[KeyLine]] = Field(default_factory=dict, description="Per environment: who may promote, roll back and pause.")
    registrants: Keys | None = Field(None, description="Who may register; absent: anyone with a key in any role.")

    @field_validator("promoters")
    @classmethod
    def _environments(cls, promoters: dict[str, list[str]]) -> dict[str, list[str]]:
        for env in promoters:
            if not is_env(env):
                raise ValueError(f"environment name {env!r} must be lowercase letters, digits and dashes")
        return promoters

    @model_validator(mode="after")
    def _across_roles(self) -> Roles:
        trust = trust_roles(self.model_dump(mode="json"), None)
        spellings = [s.principal for role in trust.roles() for s in role.signers]
        for one, other in ambiguous_pairs(list(dict.fromkeys(spellings)))[:1]:
            raise ValueError(
                f"principals {one!r} and {other!r} differ only in letter case: one person or two cannot "
                "be told apart; spell each person the same way everywhere (and two people differently)"
            )
        check_roles(trust)
        return self


class TrustFile(Strict):
    """trust.yaml, apiVersion bundlectl/v1, kind Trust."""

    apiVersion: Literal["bundlectl/v1"]
    kind: Literal["Trust"]
    roles: Roles

    model_config = ConfigDict(extra="forbid", frozen=True, title="bundlectl trust file", json_schema_extra={"$id": schema_url("trust.schema.json")})


def parse_trust(data: bytes, source: str) -> dict[str, Any]:
    """The trust file in normal form; InvalidInput naming file, line and field for each problem."""
    parsed = load_model_file(
        data, source, TrustFile, MAX_TRUST_BYTES, "apiVersion, kind, roles", "trust.schema.json", "; keys are lines of git's allowed_signers file"
    )
    normal: dict[str, Any] = parsed.model_dump(mode="json")
    return normal
