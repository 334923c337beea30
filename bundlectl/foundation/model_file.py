"""A YAML file read into a pydantic model: safe YAML, a size limit, and every problem with file, line and field."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from bundlectl.errors import InvalidInput, Problem
from bundlectl.foundation.safeyaml import load_yaml
from bundlectl.foundation.textfile import decode_text
from bundlectl.foundation.validation_problems import validation_problems

if TYPE_CHECKING:
    from pydantic import BaseModel

Model = TypeVar("Model", bound="BaseModel")


def load_model_file(data: bytes, source: str, model: type[Model], limit: int, keys: str, format_file: str, more_hint: str = "") -> Model:
    """DATA, the file `source`, as `model`; `keys` names the top-level keys a mapping must have, `format_file` its schema's file name."""
    from pydantic import ValidationError

    if len(data) > limit:
        raise InvalidInput([Problem(source, f"is over the {limit}-byte limit for this file")])
    document = load_yaml(decode_text(data, source), source)
    if not isinstance(document.data, dict):
        raise InvalidInput([Problem(source, f"must be a YAML mapping with {keys}", 1)])
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        from bundlectl.foundation.names import schema_hint, schema_url

        problems = validation_problems(exc.errors(), model, source, document, schema_url(format_file))
        raise InvalidInput(problems, f"the format is {schema_hint(format_file)}{more_hint}") from None
