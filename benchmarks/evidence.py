"""Binding a 10,000-case promptfoo report (issue 11) vs a bare `json.load` of the same file (target ≤ 3×).

Binding is everything `evidence add` does before it writes: strict JSON (duplicate keys, NaN), the
suite's tests, the prompts and providers the run names, case-by-case matching, and the summary.

    python benchmarks/evidence.py
"""

from __future__ import annotations

import copy
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, median_interleaved, report  # noqa: E402

CASES = 10_000


def big_bundle_and_report(work: Path) -> tuple[Path, bytes]:
    """support-triage-v2 with a 10,000-test suite, and a promptfoo report of it shaped like a real run's."""
    import yaml

    folder = work / "support-triage-big"
    shutil.copytree(ROOT / "bundles" / "support-triage-v2", folder)
    suite = yaml.safe_load((folder / "evals/promptfooconfig.yaml").read_text())
    real = json.loads((ROOT / "tests/fixtures/promptfoo-support-triage-v2.json").read_text())
    template_tests, template_results = suite["tests"], real["results"]["results"]
    tests, results = [], []
    for n in range(CASES):
        test = copy.deepcopy(template_tests[n % len(template_tests)])
        test["description"] = f"case-{n:05d}"
        tests.append(test)
        result = copy.deepcopy(template_results[n % len(template_results)])
        result.update(id=f"result-{n}", testIdx=n, testCase={**result["testCase"], "description": test["description"], "metadata": test["metadata"]})
        results.append(result)
    suite["tests"] = tests  # as JSON: YAML this large is over the safe loader's node limit
    (folder / "evals/promptfooconfig.yaml").unlink()
    (folder / "evals/promptfooconfig.json").write_text(json.dumps(suite))
    manifest = folder / "bundle.yaml"
    manifest.write_text(manifest.read_text().replace("evals/promptfooconfig.yaml", "evals/promptfooconfig.json"))
    real["config"]["tests"], real["results"]["results"] = tests, results
    return folder, json.dumps(real).encode()


def main() -> None:
    from bundlectl.bundle.folder import read_bundle_folder
    from bundlectl.evidence.binding import bind_report
    from bundlectl.evidence.importers import import_report

    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-evidence-"))
    try:
        folder, data = big_bundle_and_report(work)
        (work / "results.json").write_bytes(data)
        bundle = read_bundle_folder(folder)

        def load() -> object:
            with open(work / "results.json", "rb") as handle:
                return json.load(handle)

        def bind() -> object:
            bound = bind_report(import_report((work / "results.json").read_bytes(), "results.json"), bundle.record, bundle.read_file, "results.json")
            assert bound.figures["cases"] == CASES, bound.figures
            return bound

        bare, ours = median_interleaved(load, bind, 5)
        size = f"{len(data) / 1e6:.0f} MB"
        report(
            {
                f"bind a {CASES:,}-case promptfoo report ({size}) / json.load": {
                    "baseline_s": bare,
                    "measured_s": ours,
                    "ratio": ours / bare,
                    "target": 3.0,
                }
            }
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
