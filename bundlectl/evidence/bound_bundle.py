"""The bundle it ran (docs/design.md: Evidence): where a report says what it ran, that must be this bundle.

promptfoo carries the raw prompt texts and the providers: every prompt text must be one of the
bundle's prompt files, and every provider must be the bundle's model snapshot (its id ends with
`:<snapshot>`; a label is free text and proves nothing). A provider that runs a file
(`file://provider.py`, `python:`, `golang:`, `ruby:`, `exec:python3 provider.py`) is an offline
stand-in: each file it runs must be a file of the `evals` component (relative to the suite, never
absolute), so its content is pinned, and its label must still name the snapshot it stands in for.
A native report may name the bundle digest it ran; it must be this one.

A report can only prove the prompt texts it shows (`unshown_prompts`): a prompt file that is none of the prompts
a promptfoo report ran (or, for a JUnit or native run of a promptfoo suite, that the suite does not render) was
never run, so the report cannot count for a bundle that has it. `evidence add` and `bundlectl eval` refuse such a
report before anything is stored; every reader derives the same files for a record already in the log
(`transitions.evidence_rule`) and counts it for no gate, except records an older bundlectl wrote before the rule.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable

from bundlectl.bundle.content.promptfoo import render_hint, unrendered_prompt_files, unshown_prompt_files
from bundlectl.bundle.record import BundleRecord
from bundlectl.errors import InvalidInput, Problem, Refused
from bundlectl.evidence.cases import promptfoo_suite
from bundlectl.evidence.report import Provider, Report

Reader = Callable[[str], bytes]
_FILE_PROVIDERS = ("file://", "python:", "golang:", "ruby:")
_EXEC = "exec:"


def check_ran_bundle(report: Report, record: BundleRecord, read: Reader, label: str) -> None:
    if report.bundle_digest is not None and report.bundle_digest != record.digest:
        raise _refused(label, f"says it ran bundle {report.bundle_digest[:19]}…, not {record.ref} ({record.digest[:19]}…)", "bundle_digest")
    if report.ran is None:
        return
    _check_prompts(report.ran.prompts, record, read, label)
    if not report.ran.providers:
        raise _refused(label, f"names no provider, so nothing shows it ran {record.ref}'s model", "config.providers")
    for provider in report.ran.providers:
        problem = _provider_problem(provider, record)
        if problem:
            raise _refused(label, problem, "providers")


def check_shows_every_prompt(report: Report, record: BundleRecord, read: Reader, label: str) -> None:
    """Every prompt file of RECORD must appear in a prompt the report ran; reports that show no prompts
    (JUnit, native) are not judged here: they name the bundle digest they ran instead."""
    unshown = unshown_prompts(report, record, read)
    if not unshown:
        return
    names = ", ".join(unshown)
    raise Refused(
        f"{label} cannot count for {record.ref}: its prompt file{'s' if len(unshown) > 1 else ''} {names} appear"
        f"{'' if len(unshown) > 1 else 's'} in no prompt the run rendered, and a report only proves the prompt texts "
        "it shows; nothing was stored",
        "make the suite render every prompt file: "
        + "; ".join(f"{path}: {hint}" for path, hint in unshown.items())
        + f"; then run it with `bundlectl eval {record.ref}`",
    )


def unshown_prompts(report: Report, record: BundleRecord, read: Reader) -> dict[str, str]:
    """The prompt files of RECORD that appear in no prompt the report ran, each with what to change in the
    suite so that it renders it. What writers refuse and what readers re-derive for every record written under
    the rule (an evidence row that does not count).

    A JUnit or native report shows no prompt texts; when the bundle's suite is a promptfoo suite, such a report is
    a run of that suite in another format (it must name the bundle digest), so it ran what the suite renders and
    no more. A report of any other harness shows nothing to judge: what it rendered is the harness's own word."""
    prompt = record.components["prompt"]
    if prompt.absent or not prompt.files:
        return {}
    texts = {path: read(path).decode("utf-8", "replace") for path in sorted(prompt.files)}  # registered: UTF-8
    suite = record.components["evals"].fields.get("suite")
    where = suite if isinstance(suite, str) else None
    if report.ran is not None:
        unshown = unshown_prompt_files(texts, report.ran.prompts)
    elif report.kind == "eval" and (promptfoo := promptfoo_suite(record.components["evals"], read)) is not None:
        unshown = unrendered_prompt_files(texts, promptfoo[0], promptfoo[1])
    else:
        return {}
    return {path: render_hint(path, where) for path in unshown}


def _check_prompts(prompts: list[str], record: BundleRecord, read: Reader, label: str) -> None:
    component = record.components["prompt"]
    files = sorted(component.files)
    texts = {read(path).decode("utf-8", "replace") for path in files}
    for index, raw in enumerate(prompts):
        if raw not in texts:
            first = raw.strip().splitlines()[0][:60] if raw.strip() else ""
            raise _refused(
                label,
                f"ran the prompt {first!r}…, which is none of {record.ref}'s prompt files ({', '.join(files) or 'none'})",
                f"results.prompts[{index}].raw",
            )


def _provider_problem(provider: Provider, record: BundleRecord) -> str | None:
    """Why PROVIDER is not the bundle's model (or a pinned stand-in for it); None when it is."""
    model, evals = record.components["model"], record.components["evals"]
    snapshot = None if model.absent else model.fields.get("snapshot")
    stand_in = _stand_in_files(provider.id)
    if stand_in is not None:
        suite, files = evals.fields.get("suite"), sorted(evals.files)
        if not stand_in:
            return (
                f"stand-in provider {provider} runs a command that names no file of the evals component, so what it "
                "ran is not pinned; use `exec:INTERPRETER FILE…` with files listed in components.evals.files"
            )
        outside = next((path for path in stand_in if not _in_evals(path, suite, files)), None)
        if outside is not None:
            return (
                f"stand-in provider {provider} runs {outside}, which is not a file of the evals component "
                "(relative to the suite), so what it ran is not pinned; list it in components.evals.files"
            )
        if snapshot is None or _names(provider.label, snapshot):
            return None
        return (
            f"stand-in provider {provider} does not say which snapshot it stands in for; {record.ref} runs "
            f"{snapshot}: name it in the provider's label"
        )
    if snapshot is None:
        return f"provider {provider} runs a model, but {record.ref} declares none"
    if provider.id is not None and (provider.id == snapshot or provider.id.endswith(":" + snapshot)):
        return None
    return f"provider {provider} is not {record.ref}'s model snapshot {snapshot} (its id must end with :{snapshot})"


def _names(label: str | None, snapshot: str) -> bool:
    """Whether a stand-in's label names SNAPSHOT as a whole word (`triage-gpt-4o-2024-08-06`, not `…-08-06-fake`)."""
    return bool(label) and re.search(rf"(?<![A-Za-z0-9.]){re.escape(snapshot)}(?![A-Za-z0-9._-])", label or "") is not None


def _stand_in_files(provider_id: str | None) -> list[str] | None:
    """The files an offline stand-in provider runs (`file://provider.py:call_api` → [provider.py];
    `exec:python3 provider.py` → [provider.py]); None when the provider is not a stand-in but a model.

    An `exec:` command counts as pinned only when it is an interpreter name followed by files (or a file
    alone): any other word could be a file from anywhere, so it yields no files and is refused."""
    if not provider_id:
        return None
    if provider_id.startswith(_EXEC):
        try:
            words = shlex.split(provider_id[len(_EXEC) :])
        except ValueError:
            return []
        interpreter = bool(words) and "/" not in words[0] and "." not in words[0]
        files = words[1:] if interpreter else words
        return files if files and not any(w.startswith("-") for w in files) else []
    for prefix in _FILE_PROVIDERS:
        if provider_id.startswith(prefix):
            path = provider_id[len(prefix) :]
            head, sep, tail = path.rpartition(":")
            return [head if sep and "/" not in tail and "." not in tail else path]
    return None


def _in_evals(path: str, suite: str | None, files: list[str]) -> bool:
    """Whether `path`, as promptfoo resolves it (relative to the suite's folder), is a file of the evals component.

    An absolute path never is: it names a file wherever the run happened, not the bundle's."""
    if path.startswith("/") or path.startswith("~"):
        return False
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(suite or ""), path))
    return resolved in files


def _refused(label: str, message: str, field: str) -> InvalidInput:
    return InvalidInput([Problem(label, message, field=field)], "the report must be a run of this bundle; run its own suite with `bundlectl eval`")
