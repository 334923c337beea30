"""The guard against a broken or hostile Prometheus endpoint: it never crashes and never decides on garbage.

A small HTTP server on 127.0.0.1 answers the guard's four queries the way a misbehaving server would:
nesting deeper than the JSON parser goes, a body trickled a byte at a time, sums no real values have.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bundlectl.guard.moments import Moments
from bundlectl.guard.prometheus import SourceUnavailable, tally_prometheus
from tests.conftest import Workspace

Answer = Callable[[str], Any]  # the query → the bytes (or a JSON document) to answer with


def vector(*series: tuple[dict[str, str], float]) -> dict[str, Any]:
    return {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": labels, "value": [0, str(value)]} for labels, value in series]},
    }


@pytest.fixture
def fake_prometheus() -> Iterator[Any]:
    """`server.answer = fn(query)`; `server.seen` lists the (query, time) parameters received."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            params = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            server.seen.append((params["query"][0], params.get("time", [None])[0]))
            answer = server.answer(params["query"][0])
            if callable(answer):
                answer(self)
                return
            body = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.seen = []
    server.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_nesting_deeper_than_the_parser_goes_is_an_unusable_answer_not_a_crash(fake_prometheus):
    fake_prometheus.answer = lambda query: b"[" * 200_000
    with pytest.raises(SourceUnavailable) as err:
        tally_prometheus(fake_prometheus.url, "support-triage", "staging", canary=7, timeout=5)
    assert "answered" in err.value.message and "with something unexpected" in err.value.message


def test_a_body_trickled_a_byte_at_a_time_runs_into_the_timeout(fake_prometheus):
    def trickle(handler: Any) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        try:
            for _ in range(100_000):
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(0.05)  # each byte well within a socket timeout; the whole never arrives
        except OSError:
            pass

    fake_prometheus.answer = lambda query: trickle
    with pytest.raises(SourceUnavailable) as err:
        tally_prometheus(fake_prometheus.url, "support-triage", "staging", canary=7, timeout=0.5)
    assert "the answer took more than 0.5 s" in err.value.message


def test_the_four_queries_are_evaluated_at_one_instant(fake_prometheus):
    """A scrape landing between two queries must not pair one scrape's counts with the next one's sums."""
    fake_prometheus.answer = lambda query: vector()
    tally_prometheus(fake_prometheus.url, "support-triage", "staging", canary=7, timeout=5)
    assert len(fake_prometheus.seen) == 4
    instants = {at for _, at in fake_prometheus.seen}
    assert len(instants) == 1 and None not in instants


def test_requests_of_one_arm_over_several_digests_are_summed_and_their_digests_kept(fake_prometheus):
    def answer(query: str) -> Any:
        if query.startswith("sum by (bundle_arm, bundle_digest) (bundlectl_requests_total"):
            return vector(({"bundle_arm": "live", "bundle_digest": "sha256:a"}, 60), ({"bundle_arm": "live", "bundle_digest": "sha256:b"}, 40))
        return vector()

    fake_prometheus.answer = answer
    tally = tally_prometheus(fake_prometheus.url, "support-triage", "staging", canary=7, timeout=5)
    assert tally.samples() == {"live": 100} and tally.digests == {"live": {"sha256:a", "sha256:b"}}


@pytest.mark.parametrize(
    ("moments", "rate", "possible"),
    [
        (Moments(100, 8.0, 8.0), True, True),
        (Moments(100, 120.0, 120.0), True, False),  # more escalations than requests
        (Moments(100, 8.0, 0.0), True, False),  # a 0/1 value's square is itself
        (Moments(100, 70_000.0, 0.0), False, False),  # squares below sum²/n: a variance of 0 from nothing
        (Moments(100, 70_000.0, 49_000_000.0), False, True),  # every value 700: possible
        (Moments(0, 5.0, 25.0), False, False),
        (Moments(-3, 0.0, 0.0), False, False),
    ],
)
def test_sums_no_real_values_have_are_impossible(moments, rate, possible):
    assert moments.possible(rate) is possible


def test_the_guard_refuses_impossible_figures_from_prometheus_and_writes_nothing(v1_live: Workspace, fake_prometheus):
    """A torn or forged answer: the live bundle 'escalated' more requests than it served. No rollback on that."""
    digest = v1_live.json("show", "support-triage@2026.11.01-1")["digest"]

    def answer(query: str) -> Any:
        live = {"bundle_arm": "live", "metric": "escalated"}
        if "bundlectl_requests_total" in query:
            return vector(({"bundle_arm": "live", "bundle_digest": digest}, 5000))
        if "bundlectl_outcome_count_total" in query:
            return vector((live, 5000))
        return vector((live, 9000))  # sum and squares: 9,000 escalations of 5,000 requests

    fake_prometheus.answer = answer
    refs = v1_live.bundlectl_refs()
    result = v1_live.run(
        "guard",
        "support-triage",
        "--env",
        "staging",
        "--prometheus",
        fake_prometheus.url,
        "--apply",
        "--actor",
        "guard@example.com",
        "--min-sample",
        "100",
    )
    assert result.exit_code == 1, result.output
    assert "the live arm's escalated sums (count 5000, sum 9000, squares 9000) are impossible" in result.stderr
    assert "no decision was made" in result.stderr and "Traceback" not in result.output
    assert v1_live.bundlectl_refs() == refs
