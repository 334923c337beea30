"""`bundlectl serve` benchmarks (issue 26), each against a baseline measured in the same run.

Each load figure is the median of interleaved wrk runs (--rounds, --seconds each), so noise from other
processes on the machine hits the server and its floor alike.

- single-flag evaluation (POST /ofrep/v1/evaluate/flags/NAME with a targetingKey, during a 50% canary) under wrk
  on loopback, against the floor: the same stack (uvicorn, httptools, uvloop) answering the same bytes from a
  constant ASGI endpoint. Targets: ≥ 0.5× the floor's throughput, p99 ≤ 5 ms (at 8 connections).
- reference: the same constant endpoint on aiohttp (the other stack considered), when aiohttp is installed.
- promote → an OFREP client (the Python provider) sees the new variant, poll 1 s: target ≤ poll + 1 s.
- the server's resident memory, against the floor's.

    apt-get install -y wrk    # the load generator
    python benchmarks/serve.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, bundlectl_cmd, report, run  # noqa: E402

V1, V2 = "support-triage@2026.11.01-1", "support-triage@2026.11.22-1"
POLL = 1.0
NAME, ENV = "support-triage", "staging"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def floor_app(body: bytes):  # type: ignore[no-untyped-def]
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def run_floor(stack: str, port: int, body_file: str) -> None:
    """The floor server (a child process): the constant body on uvicorn as bundlectl serve runs it, or on aiohttp."""
    body = Path(body_file).read_bytes()
    if stack == "uvicorn":
        import uvicorn

        uvicorn.run(floor_app(body), host="127.0.0.1", port=port, access_log=False, log_level="warning", lifespan="off", server_header=False)
    else:
        from aiohttp import web

        async def flag(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(body=body, content_type="application/json")

        app = web.Application()
        app.router.add_post("/ofrep/v1/evaluate/flags/{key}", flag)
        web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def wait_ready(url: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never became ready")


def evaluate(url: str, key: str = "user-1") -> bytes:
    request = urllib.request.Request(
        f"{url}/ofrep/v1/evaluate/flags/{NAME}",
        method="POST",
        data=json.dumps({"context": {"targetingKey": key}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return bytes(response.read())


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def wrk(url: str, script: Path, connections: int, seconds: float) -> dict[str, float]:
    """Throughput (requests/s) and p50/p99 latency (s) of wrk POSTing evaluations with a new targetingKey each time."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), f"{url}/ofrep/v1/evaluate/flags/{NAME}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * _UNITS[unit]

    if re.search(r"Non-2xx or 3xx responses", out):
        raise RuntimeError(f"errors under load:\n{out}")
    return {"rate": rate, "p50": percentile("50"), "p99": percentile("99")}


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"context":{"targetingKey":"user-' .. counter .. '"}}')
end
"""


def rss(pid: int) -> float:
    """Resident memory of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return float(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def promote_seen(url: str, work: Path, env: dict[str, str], rounds: int) -> list[float]:
    """Seconds from `bundlectl promote` returning until the OFREP client (Python provider) resolves the new version."""
    from openfeature import api
    from openfeature.contrib.provider.ofrep import OFREPProvider
    from openfeature.evaluation_context import EvaluationContext

    api.set_provider(OFREPProvider(url))
    client = api.get_client()
    times = []
    for i in range(rounds):
        target = (V2, V1)[i % 2]
        run([*bundlectl_cmd(), "promote", target, "--env", ENV], work, env)
        acted = time.monotonic()
        while client.get_object_details(NAME, {}, EvaluationContext(targeting_key="user-1")).variant != target.split("@")[1]:
            if time.monotonic() - acted > 10 * POLL:
                raise RuntimeError("the client never saw the promote")
            time.sleep(0.005)
        times.append(time.monotonic() - acted)
        time.sleep(0.37 * POLL)  # the next round at another phase of the poll
    api.shutdown()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="wrk runs per side, interleaved (the median is reported)")
    parser.add_argument("--floor", nargs=3, metavar=("STACK", "PORT", "BODY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        run_floor(args.floor[0], int(args.floor[1]), args.floor[2])
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-serve-"))
    env = {
        **os.environ,
        "BUNDLECTL_CACHE_DIR": str(work / "cache"),
        "BUNDLECTL_ACTOR": "bench@example.com",
        "BUNDLECTL_REGISTRY": str(work / "registry.git"),
    }
    cli = bundlectl_cmd()
    shutil.copytree(ROOT / "bundles", work / "bundles")
    (work / "policy.yaml").write_text("apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {}\n")
    for command in (
        ["init"],
        ["policy", "set", "policy.yaml"],
        ["register", "bundles/support-triage-v1"],
        ["register", "bundles/support-triage-v2"],
        ["promote", V1, "--env", ENV],
        ["promote", V2, "--env", ENV, "--canary", "50", "--step-time", "0m"],
    ):
        run([*cli, *command], work, env)
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT)
    children: list[subprocess.Popen[bytes]] = []
    results: dict[str, dict[str, float]] = {}
    try:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        serve = subprocess.Popen(
            [*cli, "serve", NAME, "--env", ENV, "--listen", f"127.0.0.1:{port}", "--poll-interval", str(POLL)],
            cwd=work,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        children.append(serve)
        wait_ready(f"{url}/readyz")
        body = work / "body.json"
        body.write_bytes(evaluate(url))  # the floor answers exactly these bytes
        floors: dict[str, str] = {}
        stacks = ["uvicorn"] + (["aiohttp"] if _has("aiohttp") else [])
        for stack in stacks:
            floor_port = free_port()
            children.append(
                subprocess.Popen(
                    [sys.executable, __file__, "--floor", stack, str(floor_port), str(body)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
            floors[stack] = f"http://127.0.0.1:{floor_port}"
            _wait_port(floor_port)

        for connections, label in ((32, "saturated, 32 connections"), (8, "8 connections")):
            sides = stacks if connections == 32 else ["uvicorn"]
            runs: dict[str, list[dict[str, float]]] = {"serve": [], **{stack: [] for stack in sides}}
            for _ in range(args.rounds):  # interleaved: noise from the other tenants of the machine hits every side
                runs["serve"].append(wrk(url, script, connections, args.seconds))
                for stack in sides:
                    runs[stack].append(wrk(floors[stack], script, connections, args.seconds))
            served, floor = _median(runs["serve"]), _median(runs["uvicorn"])
            results[f"evaluations/s, {label}: serve / floor (same stack)"] = {
                "baseline_s": 1 / floor["rate"],
                "measured_s": 1 / served["rate"],
                "ratio": served["rate"] / floor["rate"],
                "at_least": 0.5,
            }
            results[f"p50 latency, {label}: serve / floor, reference"] = {
                "baseline_s": floor["p50"],
                "measured_s": served["p50"],
                "ratio": served["p50"] / floor["p50"],
            }
            results[f"p99 latency, {label}: serve / 5 ms" + ("" if connections == 8 else ", reference")] = {
                "baseline_s": 0.005,
                "measured_s": served["p99"],
                "ratio": served["p99"] / 0.005,
                **({"target": 1.0} if connections == 8 else {}),
            }
            results[f"p99 latency, {label}: floor / 5 ms, reference"] = {
                "baseline_s": 0.005,
                "measured_s": floor["p99"],
                "ratio": floor["p99"] / 0.005,
            }
            if "aiohttp" in runs:
                other = _median(runs["aiohttp"])
                results[f"evaluations/s, {label}: aiohttp floor / uvicorn floor, reference"] = {
                    "baseline_s": 1 / floor["rate"],
                    "measured_s": 1 / other["rate"],
                    "ratio": other["rate"] / floor["rate"],
                }
            print(
                f"{label}: serve {served['rate']:.0f}/s, uvicorn floor {floor['rate']:.0f}/s"
                + (f", aiohttp floor {_median(runs['aiohttp'])['rate']:.0f}/s" if "aiohttp" in runs else ""),
                file=sys.stderr,
            )

        results["server RSS after the load / floor's RSS, reference"] = {
            "baseline_s": rss(children[1].pid),
            "measured_s": rss(serve.pid),
            "ratio": rss(serve.pid) / rss(children[1].pid),
        }
        run([*cli, "rollback", NAME, "--env", ENV], work, env)  # end the canary: promotions below are whole
        wait_ready(f"{url}/readyz")
        times = promote_seen(url, work, env, rounds=4)
        bound = POLL + 1.0
        results[f"promote → OFREP client sees it (worst of {len(times)}) / (poll {POLL:g} s + 1 s)"] = {
            "baseline_s": bound,
            "measured_s": max(times),
            "ratio": max(times) / bound,
            "target": 1.0,
        }
        results[f"promote → OFREP client sees it (median of {len(times)}), reference"] = {
            "baseline_s": bound,
            "measured_s": statistics.median(times),
            "ratio": statistics.median(times) / bound,
        }
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(work, ignore_errors=True)
    report(results)
    print("RSS figures are bytes (shown with the time units of the table: read 's' as bytes)", file=sys.stderr)


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _wait_port(port: int, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


if __name__ == "__main__":
    main()
