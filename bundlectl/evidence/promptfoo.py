"""promptfoo results.json (output format version 3, as promptfoo 0.115 writes it)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bundlectl.bundle.content.promptfoo import case_id, case_slice
from bundlectl.errors import InvalidInput, Problem
from bundlectl.evidence import numbers
from bundlectl.evidence.report import CaseResult, Provider, Ran, Report
from bundlectl.evidence.strict_json import load_json
from bundlectl.evidence.timestamps import parse_run_time
from bundlectl.foundation.clock import rfc3339

# promptfoo names a run `eval-XYZ-<its creation time, UTC, to the second>`; results.timestamp is the same moment
_EVAL_ID = re.compile(r"^eval-[A-Za-z0-9]{3}-(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)$")
_ID_TOLERANCE = timedelta(seconds=2)


def parse_promptfoo(data: bytes, source: str) -> Report:
    return promptfoo_report(load_json(data, source), source)


def promptfoo_report(document: Any, source: str) -> Report:
    """The report in a promptfoo results.json already loaded (strictly) from JSON."""
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, dict) or not isinstance(results.get("results"), list):
        raise InvalidInput(
            [Problem(source, "is not a promptfoo results.json (no results.results list)", field="results")],
            "write it with `promptfoo eval -o results.json`",
        )
    if results.get("version") not in (2, 3):
        found = results.get("version")
        raise InvalidInput([Problem(source, f"promptfoo output version {found!r} is not supported (expected 3)", field="results.version")])
    run_at = parse_run_time(results.get("timestamp"))
    if run_at is None:
        raise InvalidInput(
            [Problem(source, "has no valid run time (results.timestamp)", field="results.timestamp")],
            "freshness is judged by when the run happened, so the report must say",
        )
    numbers.run_time(run_at, source, "results.timestamp")
    run_id = document.get("evalId") if isinstance(document.get("evalId"), str) else None
    _check_run_id(run_id, run_at, source, results["version"])
    config = document.get("config")
    tests = config.get("tests") if isinstance(config, dict) else None
    if not isinstance(tests, list):
        raise InvalidInput([Problem(source, "does not carry the suite it ran (config.tests)", field="config.tests")])
    cases = [_case(item, index, tests, source) for index, item in enumerate(results["results"])]
    if not cases:
        raise InvalidInput([Problem(source, "contains no test results", field="results.results")])
    ran = _ran(results, config, results["results"], source)
    return Report(
        "eval",
        "promptfoo",
        run_at,
        cases,
        suite_tests=tests,
        config=config,
        ran=ran,
        variants=max(1, len(ran.prompts)),
        run_id=run_id,
        tool="promptfoo",
    )


def _check_run_id(run_id: str | None, run_at: datetime, source: str, version: int) -> None:
    """An attached report's run time is a claim; the time promptfoo wrote into the run's id must back it.

    Every promptfoo that writes output version 3 names the run this way, so a version-3 report without
    such an id had it removed (and with it the cross-check)."""
    match = _EVAL_ID.match(run_id or "")
    if match is None:
        if version != 3:
            return
        found = "has no evalId" if run_id is None else f"has an evalId {run_id[:40]!r} that promptfoo does not write"
        raise InvalidInput(
            [Problem(source, f"{found} (eval-XYZ-<run time>), so its run time cannot be checked", field="evalId")],
            "attach the report as promptfoo wrote it, or run the suite with `bundlectl eval`",
        )
    created = datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
    if abs(created - run_at.replace(microsecond=0)) > _ID_TOLERANCE:
        raise InvalidInput(
            [
                Problem(
                    source,
                    f"says the run happened at {rfc3339(run_at)}, but its evalId {run_id!r} was made at {rfc3339(created)}: the run time was edited",
                    field="results.timestamp",
                )
            ],
            "attach the report as promptfoo wrote it, or run the suite with `bundlectl eval`",
        )


def _case(item: Any, index: int, tests: list[Any], source: str) -> CaseResult:
    where = f"results.results[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("success"), bool):
        raise InvalidInput([Problem(source, "has no boolean success", field=f"{where}.success")])
    test_case: dict[str, Any] = item["testCase"] if isinstance(item.get("testCase"), dict) else {}
    if not test_case.get("metadata") and isinstance(item.get("metadata"), dict):
        test_case = {**test_case, "metadata": item["metadata"]}
    name = case_id(test_case) or f"test-{item.get('testIdx', index)}"
    test_index = item.get("testIdx")
    if (
        isinstance(test_index, int)
        and not isinstance(test_index, bool)
        and 0 <= test_index < len(tests)
        and isinstance(tests[test_index], dict)
        and case_id(tests[test_index]) != name
    ):
        raise InvalidInput(
            [Problem(source, f"is case {name!r}, but its testIdx points at {case_id(tests[test_index])!r} in config.tests", field=f"{where}.testIdx")]
        )
    latency, cost = item.get("latencyMs"), item.get("cost")
    variant = item.get("promptIdx", 0)
    return CaseResult(
        name,
        case_slice(test_case),
        item["success"],
        None if latency is None else numbers.latency_ms(latency, source, f"{where}.latencyMs"),
        None if cost is None else numbers.cost_usd(cost, source, f"{where}.cost"),
        variant if isinstance(variant, int) and not isinstance(variant, bool) else -1,
        where,
    )


def _ran(results: dict[str, Any], config: dict[str, Any], items: list[Any], source: str) -> Ran:
    """The prompts × providers the run says it ran: each pair once, and each result run by its pair's provider."""
    prompts = results.get("prompts")
    if not isinstance(prompts, list) or not prompts:
        raise InvalidInput([Problem(source, "does not carry the prompts it ran", field="results.prompts")])
    texts: list[str] = []
    pairs: list[str] = []  # the provider of each prompt × provider, as promptfoo names it (its label, else its id)
    seen: dict[tuple[str, str], int] = {}
    for index, prompt in enumerate(prompts):
        where = f"results.prompts[{index}]"
        raw = prompt.get("raw") if isinstance(prompt, dict) else None
        if not isinstance(raw, str):
            raise InvalidInput([Problem(source, "has no raw prompt text", field=f"{where}.raw")])
        provider = prompt.get("provider")
        if not isinstance(provider, str):
            raise InvalidInput([Problem(source, "does not say which provider ran this prompt", field=f"{where}.provider")])
        if (raw, provider) in seen:
            raise InvalidInput(
                [
                    Problem(
                        source,
                        f"repeats results.prompts[{seen[raw, provider]}]: the same prompt text with the same provider {provider!r}",
                        field=where,
                    )
                ],
                "a run holds each prompt × provider once; nothing was stored",
            )
        seen[raw, provider] = index
        texts.append(raw)
        pairs.append(provider)
    providers: dict[Provider, None] = {}
    for entry in config.get("providers") or []:
        if (provider := _provider(entry)) is not None:
            providers[provider] = None
    for index, item in enumerate(items):
        provider = _provider(item.get("provider"))
        variant = item.get("promptIdx", 0)
        if provider is None:
            raise InvalidInput([Problem(source, "does not say which provider ran it", field=f"results.results[{index}].provider")])
        if isinstance(variant, int) and 0 <= variant < len(pairs) and (provider.label or provider.id) != pairs[variant]:
            raise InvalidInput(
                [
                    Problem(
                        source,
                        f"was run by provider {provider}, but its prompt results.prompts[{variant}] was run by {pairs[variant]!r}",
                        field=f"results.results[{index}].provider",
                    )
                ],
                "a result belongs to the prompt × provider it names (promptIdx); nothing was stored",
            )
        providers[provider] = None
    return Ran(texts, list(providers))


def _provider(entry: Any) -> Provider | None:
    if isinstance(entry, str):
        return Provider(entry, None)
    if isinstance(entry, dict):
        found = [entry.get(k) if isinstance(entry.get(k), str) else None for k in ("id", "label")]
        return Provider(found[0], found[1]) if any(found) else None
    return None
