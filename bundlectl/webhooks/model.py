"""Pydantic models of the webhooks file (`bundlectl webhooks set FILE`): endpoints, the events they want, where their secrets live.

Only the *names* of secrets (an environment variable, a file) are in the file and so in the log: a value that
looks like a secret, or a URL with credentials, is refused, and no message repeats it.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bundlectl.foundation.names import ENV_PATTERN, is_env
from bundlectl.webhooks.types import LINK_FIELDS, is_event_pattern

ENV_VAR = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(Strict):
    """Where a value is read at delivery time: an environment variable, or a file (its content, stripped)."""

    env: str | None = Field(None, pattern=ENV_VAR)
    file: str | None = Field(None, min_length=1, max_length=4096)

    @model_validator(mode="after")
    def _one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("name exactly one of env (a variable name) or file (a path); never the secret itself")
        return self


class Endpoint(Strict):
    url: str | SecretRef = Field(description="http(s) URL; a Slack incoming-webhook URL is a secret: give it as {env: NAME}.")
    events: list[str] = Field(
        default_factory=lambda: ["*"], min_length=1, description="Event types (bundle.promoted), families (canary.*) or * for all."
    )
    format: Literal["standard", "cloudevents", "slack"] = "standard"
    secret: SecretRef | None = Field(None, description="The whsec_… signing secret's variable or file (not for slack).")
    link: str | None = Field(None, max_length=2048, description="A link template for the payload: {name} {version} {digest} {env} {seq} {type}.")

    @field_validator("url", mode="before")
    @classmethod
    def _url(cls, value: object) -> object:
        if isinstance(value, str):
            if not re.fullmatch(r"https?://[^\s/?#@]+(/[^\s]*)?", value):
                raise ValueError(
                    "must be an http:// or https:// URL without credentials in it (user:password@); "
                    "a URL that is itself a secret is given as {env: NAME} or {file: PATH}"
                )
            try:
                port = urlsplit(value).port
            except ValueError:
                port = 0
            if port == 0:
                raise ValueError("its port must be a number from 1 to 65535")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, events: list[str]) -> list[str]:
        for pattern in events:
            if not is_event_pattern(pattern):
                raise ValueError(f"{pattern!r} is not an event type bundlectl sends (see `bundlectl webhooks show --types`)")
        return events

    @field_validator("link")
    @classmethod
    def _link(cls, link: str | None) -> str | None:
        for field in re.findall(r"\{([^{}]*)\}", link or ""):
            if field not in LINK_FIELDS:
                raise ValueError(f"the link names {{{field}}}; it may name {', '.join('{' + f + '}' for f in LINK_FIELDS)}")
        return link

    @model_validator(mode="after")
    def _signed(self) -> Endpoint:
        if self.format != "slack" and self.secret is None:
            raise ValueError(f"a {self.format} endpoint is signed: name its secret as secret: {{env: NAME}} or {{file: PATH}}")
        return self


class Webhooks(Strict):
    """webhooks.yaml, apiVersion bundlectl/v1, kind Webhooks."""

    apiVersion: Literal["bundlectl/v1"]
    kind: Literal["Webhooks"]
    endpoints: dict[str, Endpoint] = Field(
        description="By name (lowercase letters, digits, dashes); none: no deliveries.", json_schema_extra={"propertyNames": {"pattern": ENV_PATTERN}}
    )

    model_config = ConfigDict(extra="forbid", frozen=True, title="bundlectl webhooks")

    @field_validator("endpoints")
    @classmethod
    def _names(cls, endpoints: dict[str, Endpoint]) -> dict[str, Endpoint]:
        for name in endpoints:
            if not is_env(name):
                raise ValueError(f"endpoint name {name!r} must be lowercase letters, digits and dashes (at most 32)")
        return endpoints
