"""OFREP's shapes: bulk evaluation with ETag and 304, configuration, errors; files by digest; bearer tokens and scopes."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.helpers import promote
from tests.serve.conftest import ENV, NAME, V1, V2, wait_until


def test_bulk_evaluation_answers_every_flag_with_an_etag_and_304_while_unchanged(served):
    ws, running = served
    first = running.call("POST", "/ofrep/v1/evaluate/flags", {"context": {"targetingKey": "user-1"}})
    assert first.status == 200 and [f["key"] for f in first.json()["flags"]] == [NAME]
    etag = first.headers["etag"]
    again = running.call("POST", "/ofrep/v1/evaluate/flags", {"context": {"targetingKey": "user-1"}}, headers={"If-None-Match": etag})
    assert (again.status, again.body, again.headers["etag"]) == (304, b"", etag)
    promote(ws, V2, ENV)
    wait_until(lambda: running.call("POST", "/ofrep/v1/evaluate/flags", {"context": {}}, headers={"If-None-Match": etag}).status == 200, 1.5)
    changed = running.call("POST", "/ofrep/v1/evaluate/flags", {"context": {}}, headers={"If-None-Match": etag})
    assert changed.headers["etag"] != etag and changed.json()["flags"][0]["variant"] == "2026.11.22-1"


def test_the_configuration_says_object_flags_and_the_polling_interval(served):
    ws, running = served
    answer = running.call("GET", "/ofrep/v1/configuration")
    assert answer.json() == {
        "name": "bundlectl",
        "capabilities": {
            "cacheInvalidation": {"polling": {"enabled": True, "minPollingIntervalMs": 500}},
            "flagEvaluation": {"supportedTypes": ["object"]},
        },
    }


@pytest.mark.parametrize(
    ("path", "body", "status", "expected"),
    [
        ("/ofrep/v1/evaluate/flags/nope", b'{"context": {}}', 404, {"key": "nope", "errorCode": "FLAG_NOT_FOUND"}),
        (f"/ofrep/v1/evaluate/flags/{NAME}", b'{"context": ', 400, {"key": NAME, "errorCode": "PARSE_ERROR"}),
        (f"/ofrep/v1/evaluate/flags/{NAME}", b"[1, 2]", 400, {"key": NAME, "errorCode": "PARSE_ERROR"}),
        (f"/ofrep/v1/evaluate/flags/{NAME}", b'{"context": 5}', 400, {"key": NAME, "errorCode": "INVALID_CONTEXT"}),
        (f"/ofrep/v1/evaluate/flags/{NAME}", b'{"context": {"targetingKey": 42}}', 400, {"key": NAME, "errorCode": "INVALID_CONTEXT"}),
        ("/ofrep/v1/evaluate/flags", b"\xff\xfe", 400, {"errorCode": "PARSE_ERROR"}),
        (
            "/ofrep/v1/evaluate/flags",
            json.dumps({"context": {f"k{i}": i for i in range(10_000)}}).encode(),
            413,
            {"errorCode": "PARSE_ERROR"},
        ),  # 10,000 context keys: refused by size before it is parsed
        (
            "/ofrep/v1/evaluate/flags",
            json.dumps({"context": {f"k{i}": i for i in range(1_000)}}).encode(),
            400,
            {"errorCode": "INVALID_CONTEXT"},
        ),  # 1,000 context keys: within the size, beyond any targeting
        ("/ofrep/v1/evaluate/flags/" + "k" * 10_000, b'{"context": {}}', 404, {"errorCode": "FLAG_NOT_FOUND"}),
        ("/ofrep/v1/evaluate/flags", b"[" * 50_000, 400, {"errorCode": "PARSE_ERROR"}),  # nesting deeper than the parser goes
    ],
)
def test_bad_requests_get_ofreps_error_shape(served, path, body, status, expected):
    ws, running = served
    answer = running.call("POST", path, data=body)
    assert answer.status == status
    document = answer.json()
    assert {k: document.get(k) for k in expected} == expected
    assert isinstance(document["errorDetails"], str) and document["errorDetails"]


def test_files_by_digest_are_immutable_with_a_strong_etag_and_ranges(served):
    ws, running = served
    digest = ws.json("show", V1)["digest"]
    url = f"/v1/bundles/{digest}/files/prompts/system.md"
    whole = running.call("GET", url)
    expected = (ws.root / "bundles/support-triage-v1/prompts/system.md").read_bytes()
    assert whole.body == expected and whole.headers["etag"] == f'"{hashlib.sha256(expected).hexdigest()}"'
    assert whole.headers["cache-control"] == "public, max-age=31536000, immutable" and whole.headers["accept-ranges"] == "bytes"
    part = running.call("GET", url, headers={"Range": "bytes=10-19"})
    assert (part.status, part.body, part.headers["content-range"]) == (206, expected[10:20], f"bytes 10-19/{len(expected)}")
    tail = running.call("GET", url, headers={"Range": "bytes=-5"})
    assert (tail.status, tail.body) == (206, expected[-5:])
    outside = running.call("GET", url, headers={"Range": f"bytes={len(expected)}-"})
    assert outside.status == 416 and outside.headers["content-range"] == f"bytes */{len(expected)}"
    cached = running.call("GET", url, headers={"If-None-Match": whole.headers["etag"]})
    assert (cached.status, cached.body) == (304, b"")


@pytest.mark.parametrize("path", ["prompts/../bundle.yaml", "../../../../etc/passwd", "/etc/passwd", "prompts/%2e%2e/x", "bundle.yaml", "prompts"])
def test_a_path_outside_the_bundles_files_is_not_found(served, path):
    ws, running = served
    digest = ws.json("show", V1)["digest"]
    answer = running.call("GET", f"/v1/bundles/{digest}/files/{path}")
    assert answer.status == 404 and "errorDetails" in answer.json()


def test_only_bundles_the_server_holds_are_served(served):
    ws, running = served
    v1, v2 = ws.json("show", V1)["digest"], ws.json("show", V2)["digest"]
    answer = running.call("GET", f"/v1/bundles/{v2}/files/prompts/system.md")  # registered, not promoted: not verified here
    assert answer.status == 404 and f"no file 'prompts/system.md' in a bundle '{v2}' served here" in answer.json()["errorDetails"]
    assert running.evaluate().json()["value"]["digest"] == v1  # a client evaluates V1 ...
    assert ws.run("promote", V2, "--env", ENV, "--canary", "50", "--step-time", "0m").exit_code == 0
    wait_until(lambda: running.call("GET", f"/v1/bundles/{v2}/files/prompts/system.md").status == 200, 1.5)  # the candidate's
    assert ws.run("promote", V2, "--env", ENV).exit_code == 0  # the canary completes: V2 alone is live
    wait_until(lambda: running.evaluate().json()["value"]["digest"] == v2, 1.5)
    assert running.call("GET", f"/v1/bundles/{v1}/files/prompts/system.md").status == 200  # ... and still gets its files


@pytest.fixture
def with_tokens(live, servers, tmp_path):
    tokens = tmp_path / "tokens.yaml"
    entries = [("reader", "r-secret", "[read]"), ("recorder", "w-secret", "[read, record]")]
    tokens.write_text(
        "tokens:\n"
        + "".join(
            f"  - {{name: {name}, sha256: {hashlib.sha256(secret.encode()).hexdigest()}, scopes: {scopes}}}\n" for name, secret, scopes in entries
        )
    )
    return live, servers(live, tokens_file=tokens, request_log=tmp_path / "requests.jsonl")


def test_bearer_tokens_and_their_scopes(with_tokens):
    ws, running = with_tokens
    assert running.evaluate().status == 401 and running.evaluate(Authorization="Bearer nope").status == 401
    assert running.evaluate(Authorization="Bearer r-secret").status == 200
    value = running.evaluate(Authorization="Bearer r-secret").json()["value"]
    outcome = {"outcomes": [{"key": NAME, "digest": value["digest"], "outcome": {"ok": True}}]}
    refused = running.call("POST", "/v1/outcomes", outcome, headers={"Authorization": "Bearer r-secret"})
    assert refused.status == 403 and "token 'reader' may not record" in refused.json()["errorDetails"]
    assert running.server.settings.request_log.read_text() == ""  # nothing recorded
    assert running.call("POST", "/v1/outcomes", outcome, headers={"Authorization": "Bearer w-secret"}).status == 202
    assert running.call("GET", "/healthz").status == 200  # probes need no token


def test_a_token_file_that_is_wrong_is_refused_with_its_entry(live, tmp_path):
    from bundlectl.errors import InvalidInput
    from bundlectl.serve.auth import load_tokens

    tokens = tmp_path / "tokens.yaml"
    tokens.write_text("tokens:\n  - {name: a, sha256: plaintext-token, scopes: [read]}\n")
    with pytest.raises(InvalidInput) as err:
        load_tokens(tokens)
    assert "tokens[0].sha256 must be the 64 hex digits of the token's sha256" in err.value.message


def test_too_many_requests_at_once_are_429_with_retry_after(live, servers):
    running = servers(live)
    running.server.app.max_in_flight = 0  # every request is one too many
    answer = running.evaluate()
    assert answer.status == 429 and answer.headers["retry-after"] == "1" and "errorDetails" in answer.json()
