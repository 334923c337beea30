from bundlectl.schema_export import generated_schemas
from tests.conftest import ROOT


def test_checked_in_schemas_are_current():
    for name, text in generated_schemas().items():
        path = ROOT / "schemas" / name
        assert path.exists(), f"schemas/{name} is missing: run `bundlectl schemas export`"
        assert path.read_text() == text, f"schemas/{name} is stale: run `bundlectl schemas export`"


def test_schema_describes_every_component_kind():
    import json

    schema = json.loads(generated_schemas()["bundle.schema.json"])
    components = schema["$defs"]["Components"]
    assert set(components["required"]) == {"model", "prompt", "schema", "retriever", "tools", "guardrails", "evals", "runbook"}
    assert components["additionalProperties"] is False
