"""`policy show` and `policy set`: a bad policy names file, line and field and changes nothing."""

import pytest

from tests.conftest import Workspace


def test_policy_show_and_bad_policy(registered: Workspace):
    shown = registered.json("policy", "show")
    assert set(shown["policy"]["environments"]) == {"staging", "production"}
    bad = registered.root / "bad.yaml"
    bad.write_text(
        "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  production:\n    after: staging\n    gates:\n      eval: {min_pass_rate: 1.5}\n"
    )
    head = registered.log_head()
    result = registered.run("policy", "set", str(bad))
    assert result.exit_code == 1
    assert "bad.yaml:7: environments.production.gates.eval.min_pass_rate" in result.stderr
    assert registered.log_head() == head
    typo = registered.root / "typo.yaml"
    typo.write_text("apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  prod: {after: stagin}\n")
    result = registered.run("policy", "set", str(typo))
    assert result.exit_code == 1 and "comes after 'stagin', which the policy does not define" in result.stderr
    assert registered.log_head() == head


def refused_policy(ws: Workspace, environments: str) -> str:
    path = ws.root / "policy.yaml"
    path.write_text("apiVersion: bundlectl/v1\nkind: Policy\n" + environments, encoding="utf-8")
    head = ws.log_head()
    for extra in ([], ["--dry-run"]):
        result = ws.run("policy", "set", str(path), *extra)
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and "internal error" not in result.output
    assert ws.log_head() == head  # nothing written
    return result.stderr


@pytest.mark.parametrize(
    "environments,expected",
    [
        (
            "environments:\n  staging: {after: production}\n  production: {after: staging}\n",
            "policy.yaml:3: environments: the `after` chain has a cycle: staging → production → staging",
        ),
        ("environments:\n  a: {after: c}\n  b: {after: a}\n  c: {after: b}\n", "cycle: a → c → b → a"),
        ("environments:\n  staging: {after: staging}\n", "cycle: staging → staging"),
        ("environments: {}\n", "policy.yaml:3: environments: defines no environment"),
        (
            "environments:\n  staging: {gates: {eval: {min_pass_rate: 0.8, max_age: ٧d}}}\n",
            "environments.staging.gates.eval.max_age: '٧d' is not a duration",
        ),
        ("environments:\n  staging: {gates: {eval: {min_pass_rate: 0.8, max_age: 7 days}}}\n", "'7 days' is not a duration"),
        ("environments:\n  staging: {gates: {rehearsal: {max_age: 99999999999d}}}\n", "'99999999999d' is not a duration"),
        ('environments:\n  staging: {gates: {eval: {min_pass_rate: 0.8, max_age: "7d\\n"}}}\n', "'7d\\n' is not a duration"),
        (
            "environments:\n  staging: {gates: {eval: {min_pass_rate: 0.8, max_agee: 7d}}}\n",
            "environments.staging.gates.eval.max_agee: unknown key; did you mean 'max_age'?",
        ),
        ("environments:\n  staging: {gate: {}}\n", "environments.staging.gate: unknown key; did you mean 'gates'?"),
        # infinity is no limit and JSON cannot store it: refused, not an internal error (exit 70) from the store
        (
            "environments:\n  staging: {gates: {latency: {max_p95_ms: .inf}}}\n",
            "environments.staging.gates.latency.max_p95_ms: Input should be a finite number",
        ),
        (
            "environments:\n  staging: {gates: {cost: {max_daily_usd: .inf, volume_multiplier: .inf}}}\n",
            "environments.staging.gates.cost.volume_multiplier: Input should be a finite number",
        ),
    ],
)
def test_policy_holes_are_closed(registered: Workspace, environments: str, expected: str):
    assert expected in refused_policy(registered, environments)
