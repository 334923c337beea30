"""The model's sampling parameters: the well-known ones typed and bounded, every other one free.

A value is checked, never converted: `temperature: 1` stays the integer 1, so the component digest of
a bundle that was valid before is unchanged. The JSON Schema of each well-known parameter is made from
the same bounds as its check, so editors and CI refuse what `validate` refuses.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, PlainValidator, WithJsonSchema


def _number(low: float | None, high: float | None, integer: bool = False) -> Any:
    """A number (or an integer) within [low, high], refused otherwise with the bounds in the message."""
    kind = "an integer" if integer else "a number"
    bounds = f" from {low:g} to {high:g}" if low is not None and high is not None else f" of at least {low:g}" if low is not None else ""

    def check(value: Any) -> Any:
        numeric = isinstance(value, int) if integer else isinstance(value, (int, float))
        if isinstance(value, bool) or not numeric or not math.isfinite(value):
            shown = "null (leave the key out for the provider's default)" if value is None else repr(value)
            raise ValueError(f"must be {kind}{bounds}; got {shown}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"must be {kind}{bounds}; got {value!r}")
        return value

    schema: dict[str, Any] = {"type": "integer" if integer else "number"}
    schema.update({"minimum": low} if low is not None else {})
    schema.update({"maximum": high} if high is not None else {})
    # typed Any, not float: pydantic would serialise an int as 400.0 and so move the component digest
    return Annotated[Any, PlainValidator(check), WithJsonSchema(schema)]


def _stop(value: Any) -> Any:
    if isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        return value
    raise ValueError(f"must be a string or a non-empty list of strings; got {value!r}")


def _flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    raise ValueError(f"must be true or false; got {value!r}")


Stop = Annotated[
    Any, PlainValidator(_stop), WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]})
]
Flag = Annotated[Any, PlainValidator(_flag), WithJsonSchema({"type": "boolean"})]


class ModelParams(BaseModel):
    """Sampling parameters. The well-known ones (OpenAI, Anthropic, Gemini, vLLM names) are typed and
    bounded; any other key is accepted as written."""

    model_config = ConfigDict(extra="allow", frozen=True)
    __pydantic_extra__: dict[str, JsonValue] = Field(init=False)

    temperature: _number(0, 2) = None  # type: ignore[valid-type]
    top_p: _number(0, 1) = None  # type: ignore[valid-type]
    top_k: _number(1, None, integer=True) = None  # type: ignore[valid-type]
    min_p: _number(0, 1) = None  # type: ignore[valid-type]
    max_tokens: _number(1, None, integer=True) = None  # type: ignore[valid-type]
    max_output_tokens: _number(1, None, integer=True) = None  # type: ignore[valid-type]
    max_completion_tokens: _number(1, None, integer=True) = None  # type: ignore[valid-type]
    seed: _number(None, None, integer=True) = None  # type: ignore[valid-type]
    n: _number(1, None, integer=True) = None  # type: ignore[valid-type]
    frequency_penalty: _number(-2, 2) = None  # type: ignore[valid-type]
    presence_penalty: _number(-2, 2) = None  # type: ignore[valid-type]
    repetition_penalty: _number(0, None) = None  # type: ignore[valid-type]
    top_logprobs: _number(0, 20, integer=True) = None  # type: ignore[valid-type]
    logprobs: Flag = None
    stop: Stop = None
