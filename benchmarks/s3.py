"""S3 backend benchmarks against a local moto server (issue 5), each against a baseline in the same run.

- HTTP requests per promote (counted at botocore's send hook, retries included)
- promote latency on S3 vs on the git backend (CLI, end to end)
- upload throughput of a 256 MiB component vs a bare boto3 upload_file of the same file (target ≥ 0.9)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, bundlectl_cmd, median_interleaved, report, run, timed  # noqa: E402
from synthetic import fresh_report  # noqa: E402

V1, V2 = "support-triage@2026.11.01-1", "support-triage@2026.11.22-1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(work: Path, registry: str, env: dict[str, str]) -> None:
    cli = bundlectl_cmd()
    shutil.copytree(ROOT / "bundles", work / "bundles", dirs_exist_ok=True)
    (work / "policy.yaml").write_text(
        "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n"
    )
    for example in ("v1", "v2"):
        fresh_report(example, work / f"{example}.json")
    for args in (
        ["init"],
        ["policy", "set", "policy.yaml"],
        ["register", "bundles/support-triage-v1"],
        ["register", "bundles/support-triage-v2"],
        ["evidence", "add", V1, "v1.json"],
        ["evidence", "add", V2, "v2.json"],
    ):
        run([*cli, *args, "--registry", registry], work, env)


def moto_workspace(prefix: str) -> tuple[Any, str, Path, dict[str, str]]:
    """A moto S3 server on a free loopback port, a scratch folder, and the environment pointing boto3 and
    bundlectl at them (applied to this process too): (server, endpoint, folder, environment)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix=prefix))
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "BUNDLECTL_CACHE_DIR": str(work / "cache"),
        "BUNDLECTL_ACTOR": "bench@example.com",
    }
    names = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "BUNDLECTL_CACHE_DIR")
    os.environ.update({k: env[k] for k in names})
    return server, endpoint, work, env


def main() -> None:
    import boto3
    from boto3.s3.transfer import TransferConfig

    server, _, work, env = moto_workspace("bundlectl-bench-s3-")
    results: dict[str, dict[str, float]] = {}
    try:
        client = boto3.client("s3")
        client.create_bucket(Bucket="bench")
        s3_registry, git_registry = "s3://bench/registry", str(work / "registry.git")
        (work / "s3").mkdir()
        (work / "git").mkdir()
        prepare(work / "s3", s3_registry, env)
        prepare(work / "git", git_registry, env)
        cli = bundlectl_cmd()

        # requests per promote, in process, counted where botocore sends them
        from bundlectl.registry.refs import resolve_registered
        from bundlectl.storage.base import FileToStore
        from bundlectl.storage.s3 import S3Storage
        from bundlectl.trust.identity import claimed
        from bundlectl.workflows.promote import promote

        storage = S3Storage(s3_registry)
        sent: list[str] = []
        storage.client.meta.events.register("before-send.s3.*", lambda request, **_: sent.append(request.method))
        targets = [resolve_registered(V1, work, storage), resolve_registered(V2, work, storage)]
        counts = []
        for i in range(6):
            sent.clear()
            promote(storage, targets[i % 2], "staging", claimed("bench@example.com"))
            counts.append(len(sent))
        per_promote = sorted(counts)[len(counts) // 2]
        results["S3 requests per promote (warm index; GET/HEAD/PUT)"] = {
            "baseline_s": 1.0,
            "measured_s": float(per_promote),
            "ratio": float(per_promote),
        }

        flips = iter(range(10_000))

        def promote_cli(registry: str, folder: Path) -> None:
            run([*cli, "promote", (V1, V2)[next(flips) % 2], "--env", "staging", "--registry", registry], folder, env)

        git_time, s3_time = median_interleaved(lambda: promote_cli(git_registry, work / "git"), lambda: promote_cli(s3_registry, work / "s3"), 9)
        results["promote latency: S3 (moto) / git"] = {"baseline_s": git_time, "measured_s": s3_time, "ratio": s3_time / git_time}

        # upload throughput: our multipart vs boto3's upload_file, same file, same endpoint
        big = work / "component.bin"
        block = os.urandom(1024 * 1024)
        with open(big, "wb") as handle:
            for _ in range(256):
                handle.write(block)
        key = "blobs/" + hashlib.sha256(big.read_bytes()).hexdigest()
        transfer = TransferConfig(multipart_threshold=16 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024, max_concurrency=10)
        bare_times, ours_times = [], []
        for attempt in range(3):
            client.delete_object(Bucket="bench", Key=f"bare/{attempt}")
            bare_times.append(timed(lambda key=f"bare/{attempt}": client.upload_file(str(big), "bench", key, Config=transfer)))
            fresh = S3Storage(f"s3://bench/upload-{attempt}")
            ours_times.append(timed(lambda fresh=fresh: fresh.put_files({key: FileToStore(big, key.split("/")[1])})))
        bare, ours = sorted(bare_times)[1], sorted(ours_times)[1]
        results["upload 256 MiB: throughput ours / boto3 upload_file"] = {
            "baseline_s": bare,
            "measured_s": ours,
            "ratio": bare / ours,
            "at_least": 0.9,
        }
        warm = S3Storage("s3://bench/upload-0")
        warm.has_object(key)  # client created and connected, as in any command that got this far
        skip = timed(lambda: warm.put_files({key: FileToStore(big, key.split("/")[1])}))
        results["upload 256 MiB again (registry holds the digest) / first upload"] = {"baseline_s": ours, "measured_s": skip, "ratio": skip / ours}
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
