"""Shell completion (issue 25): milliseconds per Tab against a bare `python -c pass`, and against another checkout.

    python benchmarks/completion.py                      # 15 interleaved rounds of each completion
    python benchmarks/completion.py --compare /tmp/old   # also time another checkout's bundlectl package

What a Tab costs is a whole `bundlectl` process (bash runs it with _BUNDLECTL_COMPLETE set): every command
(`bundlectl <Tab>`), one command name (`bundlectl pro<Tab>`), a ref (`bundlectl gate supp<Tab>`) and an environment (`--env <Tab>`), each
answered from the registry of a temporary git repository holding the example bundles. `--compare TREE`
puts TREE (a folder holding a `bundlectl/` package, e.g. `git archive REV bundlectl | tar -x -C TREE`)
first on PYTHONPATH, so before and after come from one run. Prints medians and ratios.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import report  # noqa: E402
from startup import BARE, build_registry, medians_interleaved  # noqa: E402

TABS = {
    "every command": ("bundlectl ", 1),
    "command name": ("bundlectl pro", 1),
    "ref": ("bundlectl gate supp", 2),
    "environment": ("bundlectl promote support-triage@2026.11.22-1 --env ", 4),
}


def tab(words: str, cword: int, work: Path, env: dict[str, str], tree: Path | None = None) -> None:
    environment = {**env, "COMP_WORDS": words, "COMP_CWORD": str(cword), "_BUNDLECTL_COMPLETE": "bash_complete"}
    if tree is not None:
        environment["PYTHONPATH"] = str(tree)
    done = subprocess.run([sys.executable, "-m", "bundlectl"], cwd=work, env=environment, capture_output=True, text=True)
    if done.returncode != 0 or "plain," not in done.stdout:
        raise SystemExit(f"completing {words!r} offered nothing: {done.stdout[:200]!r} {done.stderr[:200]!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--compare", type=Path, default=None, help="another checkout's tree holding bundlectl/")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        subprocess.run(["git", "init", "-q"], cwd=work, check=True)
        env = build_registry(work)
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")  # as installed: bytecode cached (outside the source tree)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        actions = {"bare python": partial(subprocess.run, BARE, check=True)}
        for label, (words, cword) in TABS.items():
            actions[label] = partial(tab, words, cword, work, env)
            if args.compare is not None:
                actions[f"{label} (compare)"] = partial(tab, words, cword, work, env, args.compare.resolve())
        medians = medians_interleaved(actions, args.rounds)
    bare = medians["bare python"]
    results: dict[str, dict[str, float]] = {}
    for label in TABS:
        results[f"{label} vs bare python"] = {"baseline_s": bare, "measured_s": medians[label], "ratio": medians[label] / bare}
        if args.compare is not None:
            before = medians[f"{label} (compare)"]
            results[f"{label} vs before"] = {"baseline_s": before, "measured_s": medians[label], "ratio": medians[label] / before}
    report(results)
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
