"""The policy in force: typed gates built from the stored document, and freshness per evidence kind."""


def test_freshness_is_the_max_age_of_the_gate_that_reads_each_kind_or_the_strictest():
    from bundlectl.policy.in_force import GatePolicy
    from bundlectl.policy.load import parse_policy

    text = (
        "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n"
        "  staging: {gates: {eval: {min_pass_rate: 0.8, max_age: 7d}, rehearsal: {max_age: 30d}}}\n"
        "  production: {gates: {eval: {min_pass_rate: 0.9, max_age: 48h}, latency: {max_p95_ms: 900, max_age: 12h}}}\n"
        "  dev: {}\n"
    )
    policy = GatePolicy.from_document(parse_policy(text.encode(), "policy.yaml").model_dump(mode="json"), 1)
    assert policy.max_age_for("eval", "staging") == "7d"
    assert policy.max_age_for("eval") == "48h"
    assert policy.max_age_for("rehearsal") == "30d" and policy.max_age_for("rehearsal", "production") is None
    assert policy.max_age_for("load") == "12h" and policy.max_age_for("cost") is None
    assert policy.max_age_for("eval", "dev") is None
