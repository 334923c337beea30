"""bundlectl benchmarks: each figure is a ratio against a baseline measured in the same run.

    python benchmarks/run.py            # full: 1 GiB file
    python benchmarks/run.py --quick    # 256 MiB file
    python benchmarks/startup.py        # start-up alone (status --json), optionally against another checkout

Targets (issue 2): start-up ≤ 4×, hashing ≤ 1.1×, unchanged re-register ≤ 0.05×, diff ≤ 1.0×.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, bundlectl_cmd, median_interleaved, report, run, timed  # noqa: E402
from startup import startup_results  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="256 MiB instead of 1 GiB")
    args = parser.parse_args()
    size_mib = 256 if args.quick else 1024
    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-"))
    env = {
        **os.environ,
        "BUNDLECTL_CACHE_DIR": str(work / "cache"),
        "BUNDLECTL_ACTOR": "bench@example.com",
        "BUNDLECTL_REGISTRY": str(work / "registry.git"),
    }
    results: dict[str, dict[str, float]] = {}
    try:
        cli = bundlectl_cmd()
        run([*cli, "init"], work, env)
        shutil.copytree(ROOT / "bundles", work / "bundles")
        run([*cli, "register", "bundles/support-triage-v1"], work, env)
        run([*cli, "register", "bundles/support-triage-v2"], work, env)

        # 1. start-up: list --json vs a bare interpreter
        bare, listing = median_interleaved(
            lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), lambda: run([*cli, "list", "--json"], work, env), 21
        )
        results["startup: list --json / python -c pass"] = {"baseline_s": bare, "measured_s": listing, "ratio": listing / bare, "target": 4.0}
        results.update(startup_results(work, env))  # status --json, with and without a bytecode cache

        # 2. hashing a large file vs sha256sum
        from bundlectl.digest.filehash import sha256_file

        big = work / "bundles" / "big" / "index.bin"
        big.parent.mkdir(parents=True)
        block = os.urandom(1024 * 1024)
        with open(big, "wb") as handle:
            for _ in range(size_mib):
                handle.write(block)
        subprocess.run(["sha256sum", str(big)], check=True, stdout=subprocess.DEVNULL)  # warm the page cache
        coreutils, ours = median_interleaved(
            lambda: subprocess.run(["sha256sum", str(big)], check=True, stdout=subprocess.DEVNULL), lambda: sha256_file(big), 3
        )
        results[f"hash {size_mib} MiB: sha256_file / sha256sum"] = {
            "baseline_s": coreutils,
            "measured_s": ours,
            "ratio": ours / coreutils,
            "target": 1.1,
        }

        # 3. registering a bundle holding that file, then again unchanged
        run([*cli, "new", "big-index", "--dir", str(work / "bundles")], work, env)
        folder = work / "bundles" / "big-index"
        shutil.move(str(big), folder / "retriever" / "index.bin")
        manifest = folder / "bundle.yaml"
        manifest.write_text(manifest.read_text().replace("index: retriever/index.jsonl", "index: retriever/"))
        time.sleep(1.1)  # older than the hash cache's racy window, like any file not written this second
        first = timed(lambda: run([*cli, "register", str(folder)], work, env))
        again = statistics.median(timed(lambda: run([*cli, "register", str(folder)], work, env)) for _ in range(5))
        results[f"register {size_mib} MiB bundle: unchanged again / first"] = {
            "baseline_s": first,
            "measured_s": again,
            "ratio": again / first,
            "target": 0.05,
        }
        manifest.write_text(manifest.read_text().replace("version: 0.1.0", "version: 0.1.1"))
        bumped = timed(lambda: run([*cli, "register", str(folder)], work, env))
        results[f"register {size_mib} MiB bundle: new version, same files / first"] = {
            "baseline_s": first,
            "measured_s": bumped,
            "ratio": bumped / first,
            "target": 0.05,
        }

        # 4. diff of two bundles with 2,000-tool manifests vs a bare DeepDiff of the two documents
        from deepdiff import DeepDiff

        from bundlectl.diff.bundles import diff_bundles
        from bundlectl.registry.refs import resolve

        docs = tool_manifests(2000)
        for name, doc in zip(("tools-a", "tools-b"), docs, strict=True):
            target = work / "bundles" / name
            shutil.copytree(ROOT / "bundles" / "support-triage-v1", target)
            (target / "tools" / "manifest.json").write_text(json.dumps(doc))
        a = resolve(str(work / "bundles" / "tools-a"), work, lambda: None)
        b = resolve(str(work / "bundles" / "tools-b"), work, lambda: None)
        bare_diff, ours_diff = median_interleaved(lambda: DeepDiff(docs[0], docs[1]), lambda: diff_bundles(a, b), 3)
        results["diff 2,000 tools: diff_bundles / DeepDiff"] = {
            "baseline_s": bare_diff,
            "measured_s": ours_diff,
            "ratio": ours_diff / bare_diff,
            "target": 1.0,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    report(results)


def tool_manifests(count: int) -> tuple[list[dict], list[dict]]:
    """Two OpenAI tool manifests: 10 tools changed, 5 removed, 5 added."""

    def tool(i: int, variant: int = 0) -> dict:
        params = {f"p{j}": {"type": "string", "description": f"parameter {j} of tool {i}"} for j in range(6)}
        if variant:
            params["p3"] = {"type": "integer", "minimum": 0}
        return {
            "type": "function",
            "function": {
                "name": f"tool_{i:05d}",
                "description": f"Tool number {i}",
                "parameters": {"type": "object", "properties": params, "required": ["p0", "p1"], "additionalProperties": False},
            },
        }

    old = [tool(i) for i in range(count)]
    new = [tool(i, variant=1 if i % 200 == 7 else 0) for i in range(5, count)] + [tool(count + i) for i in range(5)]
    return old, new


if __name__ == "__main__":
    main()
