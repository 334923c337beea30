"""`bundlectl serve` refuses a wrong setup before it listens, with the error the CLI gives everywhere."""

from __future__ import annotations

import pytest

from tests.serve.conftest import ENV, NAME


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--listen", "8080"], "--listen '8080' is not HOST:PORT"),
        (["--listen", "127.0.0.1:99999"], "--listen '127.0.0.1:99999' is not HOST:PORT"),
        (["Not_A_Name"], "'Not_A_Name' is not a bundle name or environment"),
    ],
)
def test_a_wrong_setup_is_a_usage_error(live, args, words):
    result = live.run("serve", NAME, "--env", ENV, *args) if args[0].startswith("--") else live.run("serve", *args, "--env", ENV)
    assert result.exit_code == 2 and words in result.output, result.output


def test_tls_needs_both_files(live, tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("not used")
    result = live.run("serve", NAME, "--env", ENV, "--tls-cert", str(cert))
    assert result.exit_code == 2 and "--tls-cert and --tls-key go together" in result.output


def test_without_names_and_nothing_promoted_it_says_so(git_registered):
    result = git_registered.run("serve", "--env", "production")
    assert result.exit_code == 2 and "nothing is promoted to production" in result.output
