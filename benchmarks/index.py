"""Read index and in-process write path benchmarks (issue 10), each a ratio against a baseline in the same run.

- in-process `promote()` on a git registry vs MLflow's `set_registered_model_alias` on SQLite (target ≤ 1.0×)
- `status --json` with the read index deleted, 10,000 events vs 100 (target ≤ 2×)
- read index bytes per registration vs packed git bytes per registration (target ≤ 2×)
- what a read costs the disk when the index is current: fsync/fdatasync calls (strace) and whether
  the index or its -wal file changed (target: 0 and no)

    python benchmarks/index.py            # full
    python benchmarks/index.py --quick    # fewer rounds, for a quick look

The MLflow row needs `pip install mlflow-skinny sqlalchemy alembic` (or `mlflow`); without it the
row is skipped with the reason printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bundlectl_cmd, median_interleaved, report, run, timed  # noqa: E402
from synthetic import V1, V2, build_registry, small_and_big  # noqa: E402

EMPTY_GATE_POLICY = "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  bench: {gates: {}}\n"


def forget_index(index: Path) -> None:
    for path in index.parent.glob(index.name + "*"):
        path.unlink()


def index_path(folder: Path) -> Path:
    return folder / "registry.git" / "bundlectl" / "index.sqlite"


def status_rows(rounds: int, results: dict[str, dict[str, float]], work: Path) -> None:
    cli = bundlectl_cmd()
    small_dir, small, big_dir, big = small_and_big(work, 10_000)

    def cold_status(folder: Path, env: dict[str, str]) -> None:
        forget_index(index_path(folder))
        run([*cli, "status", "--json"], folder, env)

    base, measured = median_interleaved(lambda: cold_status(small_dir, small), lambda: cold_status(big_dir, big), rounds)
    results["status --json, index deleted: 10,000 events / 100 events"] = {
        "baseline_s": base,
        "measured_s": measured,
        "ratio": measured / base,
        "target": 2.0,
    }
    run([*cli, "status", "--json"], small_dir, small)
    read_costs(cli, small_dir, small)


def read_costs(cli: list[str], folder: Path, env: dict[str, str]) -> None:
    """fsync/fdatasync calls and index file changes of read commands on a current index."""
    index = index_path(folder)
    commands = (["status", "--json"], ["history", "support-triage", "--env", "staging", "--json"], ["list", "--json"], ["show", V2, "--json"])
    run([*cli, *commands[0]], folder, env)  # current, and any -wal of the catch-up left as it is

    def files() -> dict[str, tuple[int, int] | None]:
        found: dict[str, tuple[int, int] | None] = {}
        for suffix in ("", "-wal"):
            path = Path(str(index) + suffix)
            found[path.name] = (path.stat().st_mtime_ns, path.stat().st_size) if path.exists() else None
        return found

    strace = shutil.which("strace")
    print("read commands on a current index (what a read costs the disk):")
    for command in commands:
        before = files()
        syncs = "strace not installed"
        if strace:
            trace = folder / "strace.out"
            subprocess.run(
                [strace, "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", str(trace), *cli, *command],
                cwd=folder,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            syncs = str(sum(1 for line in trace.read_text().splitlines() if "sync(" in line))
        changed = [name for name, seen in files().items() if seen != before[name]]
        print(f"  {' '.join(command[:2]):<28} fsync+fdatasync: {syncs:>3}   index files changed: {', '.join(changed) or 'none'}")


def promote_row(rounds: int, results: dict[str, dict[str, float]], work: Path) -> None:
    try:
        from mlflow import MlflowClient
    except ImportError as exc:
        print(f"skipped: promote() vs MLflow set_registered_model_alias: mlflow is not installed ({exc})")
        return
    from bundlectl.registry.read import index_at_head
    from bundlectl.storage.locate import open_storage
    from bundlectl.trust.identity import claimed
    from bundlectl.workflows.promote import promote

    folder = work / "promote"
    folder.mkdir()
    env = build_registry(folder, 0)
    (folder / "bench-policy.yaml").write_text(EMPTY_GATE_POLICY)
    run([*bundlectl_cmd(), "policy", "set", "bench-policy.yaml"], folder, env)
    os.environ["BUNDLECTL_CACHE_DIR"] = env["BUNDLECTL_CACHE_DIR"]
    storage = open_storage(env["BUNDLECTL_REGISTRY"], folder)
    index = index_at_head(storage)
    bundles = [index.bundle(*ref.split("@")) for ref in (V1, V2)]
    del index

    import logging

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    uri = f"sqlite:///{work / 'mlflow.db'}"
    client: Any = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model("support-triage")
    for source in ("v1", "v2"):
        client.create_model_version("support-triage", f"file://{work}/{source}")
    flips = {"ours": 0, "mlflow": 0}

    def ours() -> None:
        flips["ours"] += 1
        promote(storage, bundles[flips["ours"] % 2], "bench", claimed("bench@example.com"))

    def theirs() -> None:
        flips["mlflow"] += 1
        client.set_registered_model_alias("support-triage", "bench", str(1 + flips["mlflow"] % 2))

    ours(), theirs()  # warm both: imports, git's first call, SQLAlchemy's engine
    base, measured = median_interleaved(theirs, ours, rounds)
    results["promote() in-process, git / MLflow set_registered_model_alias, SQLite"] = {
        "baseline_s": base,
        "measured_s": measured,
        "ratio": measured / base,
        "target": 1.0,
    }

    # where a promotion's time goes: the backend's atomic append (git processes), and everything else
    append_event, in_storage = storage.append_event, []

    def timed_append(*args: Any) -> str:
        started = time.perf_counter()
        try:
            return str(append_event(*args))
        finally:
            in_storage.append(time.perf_counter() - started)

    storage.append_event = timed_append
    totals = [timed(ours) for _ in range(rounds)]
    storage.append_event = append_event
    rest = statistics.median(t - s for t, s in zip(totals, in_storage, strict=True))
    print(
        f"promote(): median {statistics.median(totals) * 1e3:.2f} ms, of which storage.append_event"
        f" {statistics.median(in_storage) * 1e3:.2f} ms; everything else (index, gate, plan) {rest * 1e3:.2f} ms"
    )
    run([*bundlectl_cmd(), "verify"], folder, env)


def size_row(count: int, work: Path) -> None:
    """Register `count` versions, each with one changed file, and compare what the index and git grew by."""
    from bundlectl.bundle.folder import read_bundle_folder
    from bundlectl.registry.bundles import register_bundle
    from bundlectl.registry.read import index_at_head
    from bundlectl.storage.locate import open_storage
    from bundlectl.trust.identity import claimed

    folder = work / "sizes"
    folder.mkdir()
    env = build_registry(folder, 0)
    os.environ["BUNDLECTL_CACHE_DIR"] = env["BUNDLECTL_CACHE_DIR"]
    repo = Path(env["BUNDLECTL_REGISTRY"])
    storage = open_storage(str(repo), folder)
    index_at_head(storage)
    index_before, git_before = index_bytes(index_path(folder)), packed_bytes(repo)
    source = folder / "bundles" / "support-triage-v2"
    for i in range(count):
        target = folder / "bundles" / f"v{i}"
        shutil.copytree(source, target)
        manifest = target / "bundle.yaml"
        manifest.write_text(manifest.read_text().replace("version: 2026.11.22-1", f"version: 2026.12.{i}-1"))
        with (target / "runbook.md").open("a") as runbook:
            runbook.write(f"\nRevision {i}: on-call rotation updated.\n")
        register_bundle(storage, read_bundle_folder(target), claimed("bench@example.com"), f"revision {i}")
        shutil.rmtree(target)
    index_at_head(storage)
    index_grew, git_grew = index_bytes(index_path(folder)) - index_before, packed_bytes(repo) - git_before
    ratio = index_grew / git_grew
    print(
        f"read index bytes per registration / packed git bytes per registration ({count} registrations):"
        f" {index_grew / count:.0f} B / {git_grew / count:.0f} B = {ratio:.2f}  target ≤ 2.0"
        f" {'ok' if ratio <= 2.0 else 'MISSED'}"
    )


def index_bytes(path: Path) -> int:
    """Bytes the index needs: a VACUUM INTO copy, so free pages and the -wal do not count."""
    copy = path.with_name("measure.sqlite")
    copy.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute("VACUUM INTO ?", (str(copy),))
    db.close()
    size = copy.stat().st_size
    copy.unlink()
    return size


def packed_bytes(repo: Path) -> int:
    subprocess.run(["git", "-C", str(repo), "repack", "-adq"], check=True)
    return sum(p.stat().st_size for p in (repo / "objects" / "pack").glob("*.pack"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer rounds and registrations")
    args = parser.parse_args()
    import bundlectl

    print(f"bundlectl from {Path(bundlectl.__file__).parent}")
    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-index-"))
    results: dict[str, dict[str, float]] = {}
    try:
        promote_row(15 if args.quick else 41, results, work)
        size_row(30 if args.quick else 100, work)
        status_rows(5 if args.quick else 11, results, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
