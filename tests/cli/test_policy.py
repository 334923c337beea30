"""`policy show` and `policy set`: a bad policy names file, line and field and changes nothing."""

from tests.conftest import Workspace


def test_policy_show_and_bad_policy(registered: Workspace):
    shown = registered.json("policy", "show")
    assert set(shown["policy"]["environments"]) == {"staging", "production"}
    bad = registered.root / "bad.yaml"
    bad.write_text("apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  production:\n    after: staging\n"
                   "    gates:\n      eval: {min_pass_rate: 1.5}\n")
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
