"""Webhook benchmarks (issue 27), each a ratio against a baseline in the same run.

- delivery throughput: `webhooks deliver` working through a backlog of 300 logged events to a local receiver,
  vs the same number of bare signed POSTs (standardwebhooks + http.client, one connection each) to it
- the latency a subscription adds to `promote` (CLI, end to end, git backend): one endpoint that answers, and one
  that answers beside one that hangs, vs no subscription (the default deadline: 1 s)
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bundlectl_cmd, report, run, timed  # noqa: E402
from synthetic import V1, V2, append_synthetic, build_registry  # noqa: E402

SECRET = "whsec_" + "YmVuY2htYXJrLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm"
BACKLOG = 300
ROUNDS = 9


class Receiver:
    def __init__(self, hang: float = 0.0) -> None:
        self.count = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length", "0")))
                if hang:
                    time.sleep(hang)
                    return
                receiver.count += 1
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def subscribe(cli: list[str], folder: Path, env: dict[str, str], urls: list[str]) -> None:
    endpoints = "".join(f"  e{i}: {{url: '{url}', secret: {{env: BENCH_SECRET}}, events: ['*']}}\n" for i, url in enumerate(urls))
    (folder / "webhooks.yaml").write_text(f"apiVersion: bundlectl/v1\nkind: Webhooks\nendpoints:\n{endpoints}")
    run([*cli, "webhooks", "set", "webhooks.yaml"], folder, env)


def bare_posts(url: str, bodies: list[bytes]) -> None:
    from datetime import UTC, datetime

    from standardwebhooks.webhooks import Webhook

    webhook = Webhook(SECRET)
    host, port = url.split("//")[1].split("/")[0].split(":")
    for i, body in enumerate(bodies):
        when = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": f"msg-{i}",
            "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": webhook.sign(f"msg-{i}", when, body.decode()),
        }
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        connection.request("POST", "/hook", body=body, headers=headers)
        connection.getresponse().read()
        connection.close()


def deliver_in_process(folder: Path, env: dict[str, str]) -> None:
    from bundlectl import api

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        api.deliver_webhooks(batch=1000, registry=api.Registry(env["BUNDLECTL_REGISTRY"]))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def throughput(work: Path, cli: list[str], results: dict[str, dict[str, float]]) -> None:
    folder = work / "throughput"
    folder.mkdir()
    env = {**build_registry(folder, 6), "BENCH_SECRET": SECRET, "BUNDLECTL_WEBHOOK_DEADLINE": "0"}
    receiver = Receiver()
    try:
        subscribe(cli, folder, env, [receiver.url])
        append_synthetic(folder / "registry.git", BACKLOG + 8)  # the backlog: real, chained records after the subscription (seq 8)
        run([*cli, "status", "--json"], folder, env)  # the index catches up outside the measurement
        delivered = timed(lambda: run([*cli, "webhooks", "deliver", "--batch", "1000"], folder, env))
        events = receiver.count
        assert events == BACKLOG, events
        # again in this process (no interpreter start, imports warm, index caught up): the delivery state removed, so
        # all of it is due again
        deliver_in_process(folder, env)
        subprocess.run(["git", "-C", str(folder / "registry.git"), "update-ref", "-d", "refs/bundlectl/state/webhooks/e0"], check=True)
        in_process = timed(lambda: deliver_in_process(folder, env))
        assert receiver.count == 2 * events, receiver.count
        body = json.dumps({"type": "bundle.promoted", "timestamp": "2026-12-06T00:00:00Z", "data": {"seq": 1, "pad": "x" * 600}})
        bare = timed(lambda: bare_posts(receiver.url, [body.encode()] * events))
    finally:
        receiver.stop()
    results[f"webhooks deliver: {events} events (events/s {events / delivered:.0f}) / bare signed POSTs"] = {
        "baseline_s": bare,
        "measured_s": delivered,
        "ratio": delivered / bare,
    }
    results[f"deliver in process (api.deliver_webhooks): {events} events ({events / in_process:.0f}/s) / bare"] = {
        "baseline_s": bare,
        "measured_s": in_process,
        "ratio": in_process / bare,
    }


def promote_latency(work: Path, cli: list[str], results: dict[str, dict[str, float]]) -> None:
    answering, hanging = Receiver(), Receiver(hang=60)
    setups = {"none": [], "answering": [answering.url], "answering+hanging": [answering.url, hanging.url]}
    folders: dict[str, tuple[Path, dict[str, str]]] = {}
    try:
        for name, urls in setups.items():
            folder = work / name
            folder.mkdir()
            env = {**build_registry(folder, 6), "BENCH_SECRET": SECRET}
            if urls:
                subscribe(cli, folder, env, urls)
            folders[name] = (folder, env)
        flips = {name: iter(range(1000)) for name in setups}
        times: dict[str, list[float]] = {name: [] for name in setups}
        for _ in range(ROUNDS):  # interleaved, so noise hits every setup alike
            for name, (folder, env) in folders.items():
                target = (V1, V2)[next(flips[name]) % 2]
                times[name].append(
                    timed(lambda folder=folder, env=env, target=target: run([*cli, "promote", target, "--env", "staging"], folder, env))
                )
    finally:
        answering.stop()
        hanging.stop()
    base = statistics.median(times["none"])
    for name in ("answering", "answering+hanging"):
        measured = statistics.median(times[name])
        results[f"promote with {name} / no subscription (median of {ROUNDS})"] = {
            "baseline_s": base,
            "measured_s": measured,
            "ratio": measured / base,
        }
    worst = max(times["answering+hanging"])
    results["promote with answering+hanging, slowest / no subscription median (deadline 1 s)"] = {
        "baseline_s": base,
        "measured_s": worst,
        "ratio": worst / base,
    }


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-webhooks-"))
    results: dict[str, dict[str, float]] = {}
    try:
        cli = bundlectl_cmd()
        os.environ.pop("BUNDLECTL_WEBHOOK_DEADLINE", None)
        throughput(work, cli, results)
        promote_latency(work, cli, results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
