"""Pydantic models of bundle.yaml (README: The manifest); the JSON Schema in schemas/ is generated from them.

Every model forbids unknown keys, and every component slot is either the component or an explicit
`{absent: "why"}`: a component is never silently missing.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bundlectl.bundle.manifest.params import ModelParams
from bundlectl.bundle.manifest.pins import FLOATING_PATTERN, PINNED_PATTERN, is_pinned_snapshot
from bundlectl.foundation.names import DIGEST_PATTERN, NAME_PATTERN, VERSION_PATTERN, schema_url

_URI = re.compile(r"^[a-z][a-z0-9+.-]*://")


def is_external_uri(value: str) -> bool:
    return bool(_URI.match(value))


def _relative_path(value: str) -> str:
    """A path inside the bundle folder, written with forward slashes; normalised so ./a and a agree."""
    if not value or "\x00" in value:
        raise ValueError("path is empty or contains a NUL byte")
    if "\\" in value:
        raise ValueError(f"path {value!r} uses backslashes; write it with forward slashes")
    if value.startswith("/") or re.match(r"^[A-Za-z]:", value) or value.startswith("~"):
        raise ValueError(f"path {value!r} is absolute; paths are relative to the bundle folder")
    parts = [p for p in value.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"path {value!r} leaves the bundle folder ('..' is not allowed)")
    if not parts:
        raise ValueError(f"path {value!r} names the bundle folder itself")
    return "/".join(parts)


def _external_uri(value: str) -> str:
    if not is_external_uri(value):
        raise ValueError(f"{value!r} is not a URI (expected s3://… or https://…)")
    if not value.startswith(("s3://", "https://", "gs://", "az://", "hf://")):
        raise ValueError(f"URI scheme of {value!r} is not supported (use s3://, https://, gs://, az:// or hf://)")
    return value


# The same rules as patterns, for the JSON Schema only (pydantic's regex engine has no lookahead; the
# functions above give the better message): relative, forward slashes, no `..`, not the folder itself.
RELATIVE_PATH_PATTERN = r"^(?![/~])(?![A-Za-z]:)(?!.*\\)(?!(.*/)?\.\.(/|$))(?!(\.?/)*\.?$)[^\x00]+$"
EXTERNAL_URI_PATTERN = r"^(s3|https|gs|az|hf)://"
RelPath = Annotated[str, AfterValidator(_relative_path), Field(json_schema_extra={"pattern": RELATIVE_PATH_PATTERN})]
ExternalUri = Annotated[str, AfterValidator(_external_uri), Field(json_schema_extra={"pattern": EXTERNAL_URI_PATTERN})]
Digest = Annotated[str, Field(pattern=DIGEST_PATTERN, description="sha256:<64 lowercase hex>")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Absent(Strict):
    """A component this feature does not use, said out loud."""

    absent: str = Field(min_length=1, description="Why the feature does not use this component.")


def _component_schema(schema: dict[str, Any], cls: type[Any]) -> None:
    """What the validators below enforce, said in the JSON Schema: a URI needs its digest (and, except
    for a retriever, whose digest pins its index, a digest needs a URI); content needs a file or a URI."""
    schema["dependentRequired"] = {"uri": ["digest"]} if cls is RetrieverComponent else {"uri": ["digest"], "digest": ["uri"]}
    if cls.needs_content is ComponentBase.needs_content:
        keys = [k for k in ("file", "files", "uri", "suite", "cases") if k in cls.model_fields]
        # if/then rather than anyOf, so a validator says "'file' is a required property", not "not valid under any"
        schema["if"] = {"not": {"anyOf": [{"required": [k], **({"properties": {k: {"minItems": 1}}} if k == "files" else {})} for k in keys]}}
        schema["then"] = {"required": [keys[0]]}


class ComponentBase(Strict):
    """Fields every component may carry: local files (relative to the bundle folder) or an external URI."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_component_schema)

    description: str | None = None
    file: RelPath | None = Field(None, description="One file or folder, relative to the bundle folder.")
    files: list[RelPath] = Field(default_factory=list, description="Files or folders, relative to the bundle folder.")
    uri: ExternalUri | None = Field(None, description="External content; requires `digest`.")
    digest: Digest | None = Field(None, description="Content digest of the external URI.")

    def path_fields(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Each local path with the manifest field it came from, so errors can point at it."""
        own: list[tuple[tuple[str | int, ...], str]] = [(("file",), self.file)] if self.file else []
        return own + [(("files", i), p) for i, p in enumerate(self.files)]

    def local_paths(self) -> list[str]:
        return [path for _, path in self.path_fields()]

    def external_uris(self) -> list[str]:
        return [self.uri] if self.uri else []

    def needs_content(self) -> bool:
        return True

    @model_validator(mode="after")
    def _digest_rule(self) -> ComponentBase:
        external = self.external_uris()
        if external and not self.digest:
            raise ValueError(f"external URI {external[0]!r} needs a `digest: sha256:…` pinning its content")
        if self.digest and not external:
            raise ValueError("`digest` is only for external URIs; local files are hashed for you")
        if len(set(self.local_paths())) != len(self.local_paths()):
            raise ValueError("the same path is listed twice")
        if self.needs_content() and not self.local_paths() and not external:
            raise ValueError("needs `file`, `files` or `uri`")
        return self


def _model_schema(schema: dict[str, Any], cls: type[Any]) -> None:
    _component_schema(schema, cls)
    schema["if"] = {"not": {"anyOf": [{"required": ["allow_floating"], "properties": {"allow_floating": {"const": True}}}, {"required": ["digest"]}]}}
    schema["then"] = {"properties": {"snapshot": {"pattern": PINNED_PATTERN, "not": {"pattern": FLOATING_PATTERN}}}}


class ModelComponent(ComponentBase):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_model_schema)

    provider: str = Field(min_length=1, description="openai, anthropic, google, bedrock, self-hosted, …")
    # declared before `snapshot` so the pinning rule can read it, and its error points at `snapshot:`
    allow_floating: bool = Field(False, description="Accept a floating alias (gpt-4o, *-latest) knowingly.")
    snapshot: str = Field(min_length=1, description="A pinned, dated model snapshot such as gpt-4o-2024-08-06.")
    params: ModelParams = Field(default_factory=ModelParams, description="Sampling parameters.")

    def needs_content(self) -> bool:
        return False

    @field_validator("snapshot")
    @classmethod
    def _pinned(cls, snapshot: str, info: ValidationInfo) -> str:
        if not info.data.get("allow_floating") and not info.data.get("digest") and not is_pinned_snapshot(snapshot):
            raise ValueError(f"snapshot {snapshot!r} is a floating alias; pin a dated snapshot (e.g. gpt-4o-2024-08-06) or set allow_floating: true")
        return snapshot


class PromptRequires(Strict):
    """What the prompt needs of the other components; checked whenever the bundle changes."""

    tools: list[str] = Field(default_factory=list, description="Tool names the prompt calls; each must be in the tools manifest.")
    schema_version: str | None = Field(None, description="The output schema version the prompt is written for.")


class PromptComponent(ComponentBase):
    version: str | None = None
    requires: PromptRequires | None = Field(None, description="Compatibility constraints on other components.")


class SchemaComponent(ComponentBase):
    version: str | None = Field(None, description="Version of the output schema; quote numbers.")


def _retriever_schema(schema: dict[str, Any], cls: type[Any]) -> None:
    _component_schema(schema, cls)
    schema["properties"]["index"]["anyOf"] = [{"pattern": EXTERNAL_URI_PATTERN}, {"pattern": RELATIVE_PATH_PATTERN}]
    schema["if"] = {"required": ["index"], "properties": {"index": {"pattern": "^[a-z][a-z0-9+.-]*://"}}}
    schema["then"] = {"required": ["digest"]}


class RetrieverComponent(ComponentBase):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_retriever_schema)

    index: str = Field(min_length=1, description="Index location: a folder in the bundle, or an external URI.")
    embedding_model: str = Field(min_length=1, description="The embedding model the index was built with.")
    settings: dict[str, JsonValue] = Field(default_factory=dict, description="top_k, filters, reranker, …")
    index_embedding_model: str | None = Field(None, description="The embedding model the index was built with; must equal embedding_model.")

    def path_fields(self) -> list[tuple[tuple[str | int, ...], str]]:
        own: list[tuple[tuple[str | int, ...], str]] = [] if is_external_uri(self.index) else [(("index",), _relative_path(self.index))]
        return own + super().path_fields()

    def external_uris(self) -> list[str]:
        own = [_external_uri(self.index)] if is_external_uri(self.index) else []
        return own + super().external_uris()

    def needs_content(self) -> bool:
        return False


class ToolsComponent(ComponentBase):
    format: Literal["auto", "openai", "mcp"] = Field("auto", description="OpenAI function tools or MCP tools/list.")


class GuardrailsComponent(ComponentBase):
    pass


class EvalsComponent(ComponentBase):
    suite: RelPath | None = Field(None, description="The eval suite; a promptfoo config is understood natively.")
    cases: RelPath | None = Field(
        None,
        description="The suite's case list (YAML: a list of {id, slice}); reports of harnesses other than "
        "promptfoo must report exactly these cases. Write it with `bundlectl evals cases REPORT`.",
    )
    harness: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None,
        min_length=1,
        description="The command that runs the suite, one argument per item, run in the exported bundle folder by "
        "`bundlectl eval REF` (e.g. [promptfoo, eval, -c, evals/promptfooconfig.yaml, -o, results.json]). "
        "Under an eval gate with `provenance: run`, only runs of exactly this command count.",
    )

    def path_fields(self) -> list[tuple[tuple[str | int, ...], str]]:
        own: list[tuple[tuple[str | int, ...], str]] = [(("suite",), self.suite)] if self.suite else []
        own += [(("cases",), self.cases)] if self.cases else []
        return own + super().path_fields()


class RunbookComponent(ComponentBase):
    pass


def _slot_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return "absent" if "absent" in value else "present"
    if isinstance(value, BaseModel):
        return "absent" if isinstance(value, Absent) else "present"
    return None


class _SlotSchema:
    """A slot's JSON Schema as if/then/else on `absent`: a validator then reports the component's own
    errors, where oneOf says only "is not valid under any of the given schemas"."""

    @staticmethod
    def __get_pydantic_json_schema__(core_schema: Any, handler: Any) -> dict[str, Any]:
        absent, present = handler(core_schema)["oneOf"]
        return {"if": {"type": "object", "required": ["absent"]}, "then": absent, "else": present}


def _slot(model: type[ComponentBase]) -> Any:
    return Annotated[
        Annotated[Absent, Tag("absent")] | Annotated[model, Tag("present")],
        Discriminator(_slot_tag, custom_error_type="component", custom_error_message="must be a mapping"),
        _SlotSchema,
    ]


class Components(Strict):
    model: _slot(ModelComponent)  # type: ignore[valid-type]
    prompt: _slot(PromptComponent)  # type: ignore[valid-type]
    schema_: _slot(SchemaComponent) = Field(alias="schema")  # type: ignore[valid-type]
    retriever: _slot(RetrieverComponent)  # type: ignore[valid-type]
    tools: _slot(ToolsComponent)  # type: ignore[valid-type]
    guardrails: _slot(GuardrailsComponent)  # type: ignore[valid-type]
    evals: _slot(EvalsComponent)  # type: ignore[valid-type]
    runbook: _slot(RunbookComponent)  # type: ignore[valid-type]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def by_kind(self) -> dict[str, ComponentBase | Absent]:
        return {
            "model": self.model,
            "prompt": self.prompt,
            "schema": self.schema_,
            "retriever": self.retriever,
            "tools": self.tools,
            "guardrails": self.guardrails,
            "evals": self.evals,
            "runbook": self.runbook,
        }


class Outcome(Strict):
    """The owner's measure of the feature in production; `bundlectl guard` judges the live bundle by it."""

    metric: str = Field(min_length=1, description="The per-request metric serving code records under this name (`Runtime.record`).")
    target: float = Field(ge=0)
    tolerance: float = Field(0.0, ge=0)
    better: Literal["higher", "lower"] = Field(
        "higher", description="Which way is good: higher (the default) makes target − tolerance a floor, lower makes target + tolerance a ceiling."
    )
    margin: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="During a canary, the largest regression of this metric a step may pass with (non-inferiority), in "
        "its own unit; default 2 points for a rate, 10% of live's mean otherwise.",
    )
    margins: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict,
        description="The same margin for other metrics the guard judges (ok, escalated, schema_valid, latency_ms, "
        "cost_usd, latency_ms:p95), by name.",
    )


class Metadata(Strict):
    name: str = Field(pattern=NAME_PATTERN, description="Lowercase letters, digits and dashes.")
    version: str = Field(pattern=VERSION_PATTERN, description="Your release version; quote numbers.")
    owner: str = Field(min_length=1)
    outcome: Outcome | None = None
    description: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)


class Manifest(Strict):
    """bundle.yaml, apiVersion bundlectl/v1."""

    apiVersion: Literal["bundlectl/v1"]
    kind: Literal["Bundle"]
    metadata: Metadata
    components: Components

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="bundlectl Bundle manifest",
        json_schema_extra={"$id": schema_url("bundle.schema.json")},
    )
