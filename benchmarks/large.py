"""Large components and processes per write (issue 10): every figure against its baseline, in one run.

    python benchmarks/large.py                          # one new 1 GiB file
    python benchmarks/large.py --size-mib 256           # a smaller file
    python benchmarks/large.py --before /tmp/main       # also the code checked out there ("before"), interleaved
    python benchmarks/large.py --gc --s3                # also after `git gc` packed the file, and on S3 (moto)

Rows, for each checkout measured:
- `register` of a bundle holding one new file of random bytes (model weights, vector indexes) vs
  `sha256sum` of the same file: medians of interleaved rounds, each on a fresh registry and a fresh
  hash cache, the disk synced before each timed command (target ≤ 1.5×)
- peak RSS of that `register`, and of `verify` and `export` on the registry holding the file: each
  command in a fresh process, measured by its parent with getrusage(RUSAGE_CHILDREN), so every git
  process it starts counts too (target ≤ 64 MiB for register and verify); `verify` is also timed
  against `sha256sum`
- processes started by one CLI `promote` on git: every subprocess.Popen in the CLI process, on a
  fresh registry and again after `git gc` packed everything (target ≤ 2), with BUNDLECTL_ACTOR set
  (without it, the actor is read with one more process, `git config user.email`)
- in-process `promote()` vs MLflow's `set_registered_model_alias` on SQLite, as benchmarks/index.py
  measures it (needs `pip install mlflow-skinny sqlalchemy alembic`; skipped without it)
- with --s3: register, verify and export on an S3 registry (a moto server on loopback, in this
  process, so its memory is not the command's): peak RSS
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
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT  # noqa: E402

V1, V2 = "support-triage@2026.11.01-1", "support-triage@2026.11.22-1"
BIG_REF = "big-index@0.1.0"

# Runs a command and reports its wall time and the peak RSS of its whole process tree (ru_maxrss is KiB).
PEAK = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - started
print(json.dumps({"code": done.returncode, "seconds": elapsed, "stderr": done.stderr.decode(errors="replace")[-2000:],
                  "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""

# Runs the CLI in this process and lists every process it starts.
COUNT = """
import subprocess, sys
started = []
original = subprocess.Popen.__init__
def counting(self, args, *rest, **kwargs):
    started.append(args if isinstance(args, str) else " ".join(map(str, args)))
    original(self, args, *rest, **kwargs)
subprocess.Popen.__init__ = counting
from bundlectl.cli.main import cli
code = 0
try:
    cli.main(args=sys.argv[1:], prog_name="bundlectl")
except SystemExit as exit:
    code = exit.code
print("STARTED " + repr(started), file=sys.stderr)
sys.exit(code)
"""

# benchmarks/index.py's promote() vs MLflow row, with bundlectl imported from the checkout given first.
PROMOTE_ROW = """
import json, shutil, sys, tempfile
from pathlib import Path
code, benchmarks = sys.argv[1], sys.argv[2]
sys.path.insert(0, code)
import bundlectl  # this checkout's, before index.py puts its own first on sys.path
sys.path.insert(0, benchmarks)
import index
work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-large-promote-"))
results = {}
try:
    index.promote_row(int(sys.argv[3]), results, work)
finally:
    shutil.rmtree(work, ignore_errors=True)
print("ROW " + json.dumps(next(iter(results.values()), None)))
"""


class Code:
    """One checkout of bundlectl, run as `python -m bundlectl` with that checkout first on PYTHONPATH."""

    def __init__(self, label: str, root: Path) -> None:
        self.label, self.root = label, root

    def env(self, home: Path, registry: str, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": str(self.root),
            "BUNDLECTL_CACHE_DIR": str(home / "cache"),
            "BUNDLECTL_ACTOR": "bench@example.com",
            "BUNDLECTL_REGISTRY": registry,
            **extra,
        }

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bundlectl", *args]

    def run(self, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        done = subprocess.run(self.command(*args), cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{self.label}: bundlectl {' '.join(args)} exited {done.returncode}:\n{done.stderr}")

    def processes(self, args: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
        done = subprocess.run([sys.executable, "-c", COUNT, *args], cwd=cwd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{self.label}: bundlectl {' '.join(args)} failed:\n{done.stderr}")
        line = [x for x in done.stderr.splitlines() if x.startswith("STARTED ")][-1]
        return list(eval(line[len("STARTED ") :]))  # our own repr() of a list of strings


def peak(command: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    """Seconds and peak RSS (MiB) of `command` and every process it started, run from a fresh parent."""
    os.sync()  # what earlier runs wrote is on disk, not being written back during this one
    done = subprocess.run([sys.executable, "-c", PEAK, *command], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    if result["code"] != 0:
        raise SystemExit(f"{' '.join(command)} exited {result['code']}:\n{result['stderr']}")
    return {"seconds": result["seconds"], "peak_mib": result["peak_kib"] / 1024}


def big_bundle(work: Path, size_mib: int) -> Path:
    """A bundle whose retriever component is a folder holding one file of random (incompressible) bytes."""
    folder = work / "bundles" / "big-index"
    Code("after", ROOT).run(["new", "big-index", "--dir", str(work / "bundles")], work, Code("after", ROOT).env(work, ""))
    manifest = folder / "bundle.yaml"
    manifest.write_text(manifest.read_text().replace("index: retriever/index.jsonl", "index: retriever/"))
    with open(folder / "retriever" / "index.bin", "wb") as handle:
        for _ in range(size_mib):
            handle.write(os.urandom(1024 * 1024))
    return folder


def promote_processes(code: Code, work: Path) -> dict[str, list[str]]:
    """Processes one CLI promote starts on a git registry with both examples, evidence and a policy; then after gc."""
    from synthetic import fresh_report

    home = work / f"promote-{code.label}"
    home.mkdir()
    registry = home / "registry.git"
    env = code.env(home, str(registry))
    shutil.copytree(ROOT / "bundles", home / "bundles")
    (home / "policy.yaml").write_text(
        "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging: {gates: {eval: {min_cases: 20, min_pass_rate: 0.8}}}\n"
    )
    for args in (
        ["init"],
        ["policy", "set", "policy.yaml"],
        ["register", "bundles/support-triage-v1"],
        ["register", "bundles/support-triage-v2"],
        ["evidence", "add", V1, str(fresh_report("v1", home / "v1.json"))],
        ["evidence", "add", V2, str(fresh_report("v2", home / "v2.json"))],
        ["promote", V1, "--env", "staging"],
    ):
        code.run(args, home, env)
    fresh = code.processes(["promote", V2, "--env", "staging"], home, env)
    subprocess.run(["git", "--git-dir", str(registry), "gc", "--quiet"], check=True)
    packed = code.processes(["promote", V1, "--env", "staging"], home, env)
    code.run(["verify"], home, env)
    return {"fresh": fresh, "after gc": packed}


def promote_vs_mlflow(code: Code, rounds: int) -> dict[str, float] | None:
    env = {**os.environ, "PYTHONPATH": str(code.root)}
    done = subprocess.run(
        [sys.executable, "-c", PROMOTE_ROW, str(code.root), str(Path(__file__).resolve().parent), str(rounds)],
        env=env,
        capture_output=True,
        text=True,
    )
    rows = [line for line in done.stdout.splitlines() if line.startswith("ROW ")]
    if done.returncode != 0 or not rows:
        print(f"{code.label}: promote() vs MLflow not measured:\n{done.stdout[-1500:]}{done.stderr[-1500:]}", file=sys.stderr)
        return None
    skipped = [line for line in done.stdout.splitlines() if line.startswith("skipped")]
    if skipped:
        print(f"{code.label}: {skipped[0]}", file=sys.stderr)
    return json.loads(rows[-1][len("ROW ") :])


def s3_rows(codes: list[Code], work: Path, folder: Path) -> dict[str, dict[str, float]]:
    import logging
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    aws = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    client = boto3.client(
        "s3", endpoint_url=aws["AWS_ENDPOINT_URL"], aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )
    results: dict[str, dict[str, float]] = {}
    try:
        for code in codes:
            bucket = f"bench-{code.label}"
            client.create_bucket(Bucket=bucket)
            home = work / f"s3-{code.label}"
            home.mkdir()
            env = code.env(home, f"s3://{bucket}/registry", **aws)
            code.run(["init"], home, env)
            register = peak(code.command("register", str(folder)), home, env)
            verify = peak(code.command("verify"), home, env)
            export = peak(code.command("export", BIG_REF, str(home / "out")), home, env)
            results[code.label] = {
                "s3_register_peak_mib": register["peak_mib"],
                "s3_register_s": register["seconds"],
                "s3_verify_peak_mib": verify["peak_mib"],
                "s3_export_peak_mib": export["peak_mib"],
            }
            shutil.rmtree(home, ignore_errors=True)
            pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for page in pages:
                for item in page.get("Contents", []):
                    client.delete_object(Bucket=bucket, Key=item["Key"])
    finally:
        server.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the new file (default 1024: 1 GiB)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of register vs sha256sum (at least 3)")
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with (e.g. a worktree of main)")
    parser.add_argument("--gc", action="store_true", help="also verify and export after `git gc` packed the file")
    parser.add_argument("--s3", action="store_true", help="also register, verify and export on S3 (a moto server)")
    parser.add_argument("--promote-rounds", type=int, default=21, help="rounds of promote() vs MLflow")
    args = parser.parse_args()
    codes = [Code("after", ROOT)] + ([Code("before", args.before.resolve())] if args.before else [])
    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-large-"))
    results: dict[str, dict[str, Any]] = {code.label: {} for code in codes}
    try:
        folder = big_bundle(work, args.size_mib)
        big = folder / "retriever" / "index.bin"
        hashsum = ["sha256sum", str(big)]
        peak(hashsum, work, dict(os.environ))  # in the page cache from here on, for every run alike
        sums: list[float] = []
        registers: dict[str, list[dict[str, float]]] = {code.label: [] for code in codes}
        for round_number in range(max(3, args.rounds)):
            for code in codes:
                registry = work / f"registry-{code.label}.git"
                shutil.rmtree(registry, ignore_errors=True)
                shutil.rmtree(work / "cache", ignore_errors=True)  # a new file: nothing in the hash cache
                env = code.env(work, str(registry))
                code.run(["init", "--registry", str(registry)], work, env)
                sums.append(peak(hashsum, work, dict(os.environ))["seconds"])
                registers[code.label].append(peak(code.command("register", str(folder)), work, env))
                print(
                    f"round {round_number + 1} {code.label}: register {registers[code.label][-1]['seconds']:.2f} s "
                    f"({registers[code.label][-1]['peak_mib']:.0f} MiB), sha256sum {sums[-1]:.2f} s",
                    file=sys.stderr,
                )
        baseline = statistics.median(sums)
        for code in codes:
            registry = work / f"registry-{code.label}.git"
            env = code.env(work, str(registry))
            measured = results[code.label]
            measured["register_s"] = statistics.median(r["seconds"] for r in registers[code.label])
            measured["register_ratio"] = measured["register_s"] / baseline
            measured["register_peak_mib"] = max(r["peak_mib"] for r in registers[code.label])
            verify = peak(code.command("verify"), work, env)
            measured["verify_peak_mib"], measured["verify_ratio"] = verify["peak_mib"], verify["seconds"] / baseline
            out = work / f"export-{code.label}"
            export = peak(code.command("export", BIG_REF, str(out)), work, env)
            measured["export_peak_mib"], measured["export_ratio"] = export["peak_mib"], export["seconds"] / baseline
            if (out / "retriever/index.bin").stat().st_size != big.stat().st_size:
                raise SystemExit(f"{code.label}: export wrote a file of another size")
            shutil.rmtree(out)
            if args.gc:
                subprocess.run(["git", "--git-dir", str(registry), "gc", "--quiet"], check=True)
                measured["verify_gc_peak_mib"] = peak(code.command("verify"), work, env)["peak_mib"]
                measured["export_gc_peak_mib"] = peak(code.command("export", BIG_REF, str(out)), work, env)["peak_mib"]
                shutil.rmtree(out)
            shutil.rmtree(registry)
            started = promote_processes(code, work)
            measured["promote_processes"] = len(started["fresh"])
            measured["promote_processes_gc"] = len(started["after gc"])
            print(f"{code.label}: one promote started {started['fresh']}; after gc {started['after gc']}", file=sys.stderr)
            row = promote_vs_mlflow(code, args.promote_rounds)
            if row is not None:
                measured["promote_vs_mlflow"] = row["ratio"]
                measured["promote_ms"], measured["mlflow_ms"] = row["measured_s"] * 1e3, row["baseline_s"] * 1e3
        if args.s3:
            for label, rows in s3_rows(codes, work, folder).items():
                results[label].update(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(results, codes, baseline, args.size_mib)


ROWS = [  # key, label, unit, target
    ("register_ratio", "register of one new {size} file / sha256sum of it", "×", 1.5),
    ("register_s", "  register, median", "s", None),
    ("register_peak_mib", "peak RSS of that register", "MiB", 64),
    ("verify_peak_mib", "peak RSS of verify on that registry", "MiB", 64),
    ("verify_ratio", "  verify / sha256sum", "×", None),
    ("export_peak_mib", "peak RSS of export of that bundle", "MiB", None),
    ("export_ratio", "  export / sha256sum", "×", None),
    ("verify_gc_peak_mib", "peak RSS of verify after git gc", "MiB", 64),
    ("export_gc_peak_mib", "peak RSS of export after git gc", "MiB", None),
    ("promote_processes", "processes per CLI promote (git)", "", 2),
    ("promote_processes_gc", "processes per CLI promote, after git gc", "", 2),
    ("promote_vs_mlflow", "promote() in-process / MLflow set_registered_model_alias", "×", 1.0),
    ("promote_ms", "  promote(), median", "ms", None),
    ("mlflow_ms", "  MLflow set_registered_model_alias, median", "ms", None),
    ("s3_register_peak_mib", "S3: peak RSS of register", "MiB", None),
    ("s3_register_s", "  S3 register (moto on loopback)", "s", None),
    ("s3_verify_peak_mib", "S3: peak RSS of verify", "MiB", None),
    ("s3_export_peak_mib", "S3: peak RSS of export", "MiB", None),
]


def print_table(results: dict[str, dict[str, Any]], codes: list[Code], baseline: float, size_mib: int) -> None:
    size = f"{size_mib // 1024} GiB" if size_mib % 1024 == 0 else f"{size_mib} MiB"
    labels = [code.label for code in reversed(codes)]
    rows = [(key, label.format(size=size), unit, target) for key, label, unit, target in ROWS if any(key in results[name] for name in labels)]
    width = max(len(label) for _, label, _, _ in rows)
    print(f"sha256sum of the {size} file: {baseline:.2f} s (median)")
    print(f"{'measure'.ljust(width)}  " + "  ".join(f"{label:>9}" for label in labels) + "  target")
    for key, label, unit, target in rows:
        cells = "  ".join(f"{_format(results[name].get(key), unit):>9}" for name in labels)
        value = results["after"].get(key)
        goal = "" if target is None or value is None else f"≤ {target:g}{unit} " + ("ok" if value <= target else "MISSED")
        print(f"{label.ljust(width)}  {cells}  {goal}")
    print(json.dumps({"sha256sum_s": baseline, **results}), file=sys.stderr)


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "×":
        return f"{value:.2f}×"
    if unit == "":
        return f"{value:.0f}"
    if unit == "ms":
        return f"{value:.2f} ms"
    return f"{value:.2f} s" if unit == "s" else f"{value:.0f} {unit}"


if __name__ == "__main__":
    main()
