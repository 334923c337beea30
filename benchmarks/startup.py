"""Start-up cost of a read command (issue 9): `bundlectl status --json` against a bare `python -c pass`.

    python benchmarks/startup.py                      # 30 interleaved rounds of each command
    python benchmarks/startup.py --rounds 60
    python benchmarks/startup.py --compare /tmp/old   # also time another checkout's bundlectl package

The registry is a temporary git repository with the example bundles in bundles/ registered.
Each command is timed twice over, interleaved round by round:

- with the bytecode cache, as an installed bundlectl runs (PYTHONPYCACHEPREFIX points into the
  temporary folder, so the source tree stays clean); this is the figure the target is about;
- in the environment as given, when it sets PYTHONDONTWRITEBYTECODE: then every bundlectl module
  is compiled from source on every run (unless its __pycache__ already exists), which is what a
  sandbox with that setting sees.

`--compare TREE` also times the same command with TREE (a folder holding a `bundlectl/` package,
e.g. one written by `git archive REV bundlectl | tar -x -C TREE`) first on PYTHONPATH, so before
and after come from one run. Prints medians and ratios; fails only when a command fails.
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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, bundlectl_cmd, report, run, timed

TARGET = 4.0  # docs/design.md: The command line: a small multiple of the bare interpreter's start
STATUS = ["status", "--json"]
BARE = [sys.executable, "-c", "pass"]
Key = TypeVar("Key")


def build_registry(work: Path, tree: Path | None = None) -> dict[str, str]:
    """A git registry holding the example bundles, written by TREE's bundlectl when given (registry formats
    differ between versions); returns the environment the commands run with."""
    name = "registry" if tree is None else f"registry-{tree.name}"
    env = {
        **os.environ,
        "BUNDLECTL_CACHE_DIR": str(work / f"cache-{name}"),
        "BUNDLECTL_ACTOR": "bench@example.com",
        "BUNDLECTL_REGISTRY": str(work / f"{name}.git"),
    }
    env.pop("PYTHONPATH", None)
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    cli = bundlectl_cmd()
    run([*cli, "init"], work, env)
    if not (work / "bundles").exists():
        shutil.copytree(ROOT / "bundles", work / "bundles")
    for folder in sorted((work / "bundles").iterdir()):
        run([*cli, "register", str(folder.relative_to(work))], work, env)
    return env


def check_status(cli: list[str], work: Path, env: dict[str, str]) -> None:
    """Run once (which also fills the bytecode cache, where there is one) and check the command answers."""
    done = subprocess.run([*cli, *STATUS], cwd=work, env=env, check=True, capture_output=True, text=True)
    if "environments" not in json.loads(done.stdout):
        raise SystemExit(f"unexpected `status --json` output: {done.stdout[:200]!r}")


def medians_interleaved(actions: dict[Key, Callable[[], object]], rounds: int) -> dict[Key, float]:
    """common.median_interleaved for any number of actions: each round runs every action once.

    One round more runs first and is not counted: it fills caches (bytecode, page cache) for all.
    """
    for action in actions.values():
        action()
    samples: dict[Key, list[float]] = {key: [] for key in actions}
    for _ in range(rounds):
        for key, action in actions.items():
            samples[key].append(timed(action))
    return {key: statistics.median(values) for key, values in samples.items()}


def modes(work: Path, env: dict[str, str]) -> dict[str, dict[str, str]]:
    """The environments to time in: with a bytecode cache, and as given if that has none."""
    cached = {**env, "PYTHONPYCACHEPREFIX": str(work / "pycache")}
    cached.pop("PYTHONDONTWRITEBYTECODE", None)
    found = {"bytecode cached": cached}
    if env.get("PYTHONDONTWRITEBYTECODE"):
        state = "stale or partial __pycache__" if (ROOT / "bundlectl" / "__pycache__").exists() else "compiled every run"
        found[f"PYTHONDONTWRITEBYTECODE=1, {state}"] = env
    return found


def startup_results(work: Path, env: dict[str, str], rounds: int = 30, compare: Path | None = None) -> dict[str, dict[str, float]]:
    """Medians of `status --json` (and of TREE's, with --compare) against `python -c pass`, per mode."""
    cli = bundlectl_cmd()
    trees: dict[str, dict[str, str]] = {"": {}}
    if compare is not None:
        older = build_registry(work, compare)
        trees[f" [{compare}]"] = {key: older[key] for key in ("PYTHONPATH", "BUNDLECTL_REGISTRY", "BUNDLECTL_CACHE_DIR")}
    actions: dict[tuple[str, str], Callable[[], object]] = {}
    for mode, mode_env in modes(work, env).items():
        actions[(mode, "bare")] = partial(subprocess.run, BARE, env=mode_env, check=True)
        for label, extra in trees.items():
            tree_env = {**mode_env, **extra}
            check_status(cli, work, tree_env)
            actions[(mode, label)] = partial(run, [*cli, *STATUS], work, tree_env)
    medians = medians_interleaved(actions, rounds)
    results: dict[str, dict[str, float]] = {}
    for (mode, label), measured in medians.items():
        if label == "bare":
            continue
        bare = medians[(mode, "bare")]
        results[f"status --json{label} / python -c pass ({mode})"] = {
            "baseline_s": bare,
            "measured_s": measured,
            "ratio": measured / bare,
            "target": TARGET,
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved runs of each command (default 30)")
    parser.add_argument(
        "--compare", type=Path, default=None, metavar="TREE", help="also time the bundlectl package in TREE (before/after in one run)"
    )
    args = parser.parse_args()
    if args.compare is not None and not (args.compare / "bundlectl" / "__init__.py").is_file():
        parser.error(f"{args.compare} holds no bundlectl/ package")
    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-startup-"))
    try:
        env = build_registry(work)
        results = startup_results(work, env, max(args.rounds, 1), args.compare.resolve() if args.compare else None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results)


if __name__ == "__main__":
    main()
