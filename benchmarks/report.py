"""`bundlectl report` over a 10,000-case evidence pair (issue 28): renders in ≤ 2 s and weighs ≤ 2 MB, against
the plain `gate --json` of the same pair in the same run (the baseline: what a reviewer gets without a report).

The pair: support-triage-v2 with a 10,000-test promptfoo suite live in staging, and a candidate that differs in
its runbook, whose run fails 300 of the cases live passed and passes 200 live failed.

The first report of a pair binds both stored reports case by case (as `verify` does); the case outcomes are then
cached by the reports' content digests, so later reports of the same pair read them back. Both are measured.

    python benchmarks/report.py [--screenshot docs/img/report-10k.png]
"""

from __future__ import annotations

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

from common import median_interleaved, report  # noqa: E402
from evidence import CASES, big_bundle_and_report  # noqa: E402

SECONDS_MAX, BYTES_MAX = 2.0, 2_000_000
POLICY = (
    "apiVersion: bundlectl/v1\nkind: Policy\nenvironments:\n  staging:\n    gates:\n"
    "      eval: {min_cases: 100, min_pass_rate: 0.5, max_age: 100000d}\n      regression: {max_drop: 0.05}\n"
)


def with_failures(data: bytes, run: str, fail: range) -> bytes:
    """The run `run` (three letters) of the suite, with the cases in `fail` failed and every other one passed."""
    document = json.loads(data)
    document["evalId"] = f"eval-{run}-" + document["evalId"][len("eval-XYZ-") :]
    for result in document["results"]["results"]:
        result["success"] = result["testIdx"] not in fail
        if isinstance(result.get("gradingResult"), dict):
            result["gradingResult"]["pass"] = result["success"]
    return json.dumps(document).encode()


def registry_with_pair(work: Path) -> None:
    from bundlectl import api

    live_folder, live_report = big_bundle_and_report(work)
    candidate_folder = work / "support-triage-candidate"
    shutil.copytree(live_folder, candidate_folder)
    manifest = candidate_folder / "bundle.yaml"
    manifest.write_text(manifest.read_text().replace("version: 2026.11.22-1", "version: 2026.12.06-1"))
    runbook = candidate_folder / "runbook.md"
    runbook.write_text(runbook.read_text() + "\nEscalations are paged to the on-call lead.\n")
    (work / "live.json").write_bytes(with_failures(live_report, "liv", range(9800, CASES)))
    (work / "candidate.json").write_bytes(with_failures(live_report, "cnd", range(0, 300)))
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    os.chdir(work)
    api.init()
    live = api.register(live_folder).record
    candidate = api.register(candidate_folder).record
    (work / "policy.yaml").write_text(POLICY)
    api.set_policy("policy.yaml")
    api.evidence_add(f"{live.name}@{live.version}", "live.json")
    api.evidence_add(f"{candidate.name}@{candidate.version}", "candidate.json")
    api.promote(f"{live.name}@{live.version}", "staging")


def main() -> None:
    from bundlectl import api
    from bundlectl.report.render import render

    screenshot = sys.argv[sys.argv.index("--screenshot") + 1] if "--screenshot" in sys.argv else None
    os.environ.setdefault("BUNDLECTL_ACTOR", "bench@example.com")
    work = Path(tempfile.mkdtemp(prefix="bundlectl-bench-report-"))
    os.environ["BUNDLECTL_CACHE_DIR"] = str(work / "cache")
    here = Path.cwd()
    try:
        registry_with_pair(work)
        ref = "support-triage@2026.12.06-1"
        documents: dict[str, str] = {}

        def gate_json() -> object:
            return json.dumps(api.gate(ref, "staging").to_json(), indent=2)

        def report_as(fmt: str) -> object:
            documents[fmt] = render(api.report(ref, "staging"), fmt)  # type: ignore[arg-type]
            return documents[fmt]

        results = {}

        cpu: list[float] = []

        def cold_html() -> object:
            shutil.rmtree(work / "cache", ignore_errors=True)
            started = time.process_time()
            document = report_as("html")
            cpu.append(time.process_time() - started)
            return document

        baseline, cold = median_interleaved(gate_json, cold_html, 3)
        results[f"first report --format html of a {CASES:,}-case pair (binds both runs) / gate --json"] = {
            "baseline_s": baseline,
            "measured_s": cold,
            "ratio": cold / baseline,
        }
        for fmt in ("html", "markdown", "json"):
            baseline, measured = median_interleaved(gate_json, lambda fmt=fmt: report_as(fmt), 3)
            size = len(documents[fmt].encode())
            results[f"report --format {fmt} of a {CASES:,}-case pair ({size / 1e6:.2f} MB) / gate --json"] = {
                "baseline_s": baseline,
                "measured_s": measured,
                "ratio": measured / baseline,
            }
            assert measured <= SECONDS_MAX, f"{fmt}: {measured:.2f} s, over {SECONDS_MAX} s"
            assert size <= BYTES_MAX, f"{fmt}: {size:,} bytes, over {BYTES_MAX:,}"
        assert len(documents["markdown"]) < 65_536
        cases = json.loads(documents["json"])["cases"]["slices"][0]
        assert (len(cases["regressed"]), len(cases["fixed"])) == (300, 200), cases["reading"]
        print(
            f"case by case: {cases['paired']:,} paired, {len(cases['regressed'])} regressed, {len(cases['fixed'])} fixed, "
            f"McNemar exact p = {cases['p_value']:.3g}; limits {SECONDS_MAX} s and {BYTES_MAX / 1e6:g} MB per report "
            f"(cached: asserted; first report: {cold:.2f} s wall, {statistics.median(cpu):.2f} s CPU, "
            f"{'within' if cold <= SECONDS_MAX else 'OVER'} the limit; load average {os.getloadavg()[0]:.1f})"
        )
        report(results)
        if screenshot:
            _screenshot(documents["html"], here / screenshot)
    finally:
        os.chdir(here)
        shutil.rmtree(work, ignore_errors=True)


def _screenshot(document: str, path: Path) -> None:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.report.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_content(document)
        page.screenshot(path=str(path))
        browser.close()


if __name__ == "__main__":
    main()
