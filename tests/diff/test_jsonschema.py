from bundlectl.diff.jsonschema import classify

BASE = {
    "type": "object",
    "required": ["a"],
    "properties": {"a": {"type": "string"}, "b": {"type": ["string", "null"]}, "n": {"type": "integer", "maximum": 10}, "e": {"enum": ["x", "y"]}},
}


def changed(**override):
    schema = {**BASE, **override}
    return {(c.path, c.change): c.breaking for c in classify(BASE, schema)}


def props(**changes):
    return {**BASE["properties"], **changes}


def test_field_removed_is_breaking():
    properties = dict(BASE["properties"])
    del properties["b"]
    assert changed(properties=properties) == {("$.b", "field removed"): True}


def test_new_required_field_is_breaking_optional_is_compatible():
    assert changed(properties=props(c={"type": "string"}), required=["a", "c"]) == {("$.c", "new required field"): True}
    assert changed(properties=props(c={"type": "string"})) == {("$.c", "optional field added"): False}


def test_existing_field_made_required_and_back():
    assert changed(required=["a", "b"]) == {("$.b", "now required"): True}
    assert changed(required=[]) == {("$.a", "no longer required"): False}


def test_type_narrowed_and_widened():
    assert changed(properties=props(b={"type": "string"})) == {("$.b", "type narrowed"): True}
    assert changed(properties=props(a={"type": ["string", "null"]})) == {("$.a", "type widened"): False}
    assert changed(properties=props(a={"type": "integer"})) == {("$.a", "type changed"): True}


def test_enum_and_bounds():
    assert changed(properties=props(e={"enum": ["x"]})) == {("$.e", "enum values removed"): True}
    assert changed(properties=props(e={"enum": ["x", "y", "z"]})) == {("$.e", "enum values added"): False}
    assert changed(properties=props(n={"type": "integer", "maximum": 5})) == {("$.n", "maximum tightened"): True}
    assert changed(properties=props(n={"type": "integer", "maximum": 50})) == {("$.n", "maximum loosened"): False}


def test_annotations_are_compatible_unknown_keywords_are_not():
    assert changed(description="new words") == {("$.description", "description changed"): False}
    assert changed(properties=props(a={"type": "string", "pattern": "^x"})) == {("$.a.pattern", "pattern changed"): True}


def test_additional_properties_forbidden_is_breaking():
    assert changed(additionalProperties=False) == {("$", "additional properties forbidden"): True}
