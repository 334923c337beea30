"""Hand-written code against the libraries that could replace it (issue 16): what each would cost.

- import cost of rich, tenacity, stamina and platformdirs, against a bare interpreter and against
  `bundlectl status --json` (the call a cron or a serving host makes most);
- hashing: bundlectl's 1 MiB readinto loop (with its progress callback) against hashlib.file_digest,
  and sha256sum for reference, on one file (256 MiB; --size MiB to change).

Run: python benchmarks/libraries.py [--size 256] [--rounds 15]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import bundlectl_cmd, median_interleaved, seconds  # noqa: E402
from bundlectl.digest.filehash import sha256_file  # noqa: E402

CANDIDATES = ["rich.console", "rich.table", "tenacity", "stamina", "platformdirs"]


def python(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True)


def import_costs(rounds: int) -> None:
    print("import cost (median of interleaved runs, minus a bare `python -c pass`):")
    for module in CANDIDATES:
        bare, with_module = median_interleaved(lambda: python("pass"), lambda m=module: python(f"import {m}"), rounds)
        print(f"  {module:<14} +{seconds(with_module - bare):>9}   (bare interpreter {seconds(bare)})")
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["git", "init", "-q", folder], check=True)
        env = {**os.environ, "BUNDLECTL_ACTOR": "bench@example.com", "BUNDLECTL_CACHE_DIR": f"{folder}/cache"}
        subprocess.run([*bundlectl_cmd(), "init"], cwd=folder, env=env, check=True, capture_output=True)
        status = [*bundlectl_cmd(), "status", "--json"]
        bare, cmd = median_interleaved(
            lambda: python("pass"), lambda: subprocess.run(status, cwd=folder, env=env, check=True, capture_output=True), rounds
        )
        print(f"  for scale: `bundlectl status --json` takes {seconds(cmd)} ({seconds(cmd - bare)} over the bare interpreter)")


def hashing(size_mib: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.bin"
        with open(path, "wb") as handle:
            block = os.urandom(1024 * 1024)
            for _ in range(size_mib):
                handle.write(block)

        def file_digest() -> str:
            with open(path, "rb") as handle:
                return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()

        assert sha256_file(path) == file_digest()
        loop, library = median_interleaved(lambda: sha256_file(path, lambda n: None), file_digest, rounds)
        print(f"hashing {size_mib} MiB (median of {rounds}):")
        print(f"  bundlectl readinto loop (1 MiB, progress callback)  {seconds(loop):>9}  {size_mib / loop:7.0f} MiB/s")
        print(
            f"  hashlib.file_digest (no progress)                    {seconds(library):>9}  {size_mib / library:7.0f} MiB/s"
            f"   loop/file_digest = {loop / library:.2f}"
        )
        if shutil.which("sha256sum"):
            _, tool = median_interleaved(lambda: None, lambda: subprocess.run(["sha256sum", str(path)], check=True, capture_output=True), rounds)
            print(f"  sha256sum                                            {seconds(tool):>9}  {size_mib / tool:7.0f} MiB/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="MiB to hash")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    import_costs(args.rounds)
    hashing(args.size, max(3, args.rounds // 3))


if __name__ == "__main__":
    main()
