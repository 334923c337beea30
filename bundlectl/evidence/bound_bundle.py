"""The bundle it ran (DESIGN §10): where a report says what it ran, that must be this bundle.

promptfoo carries the raw prompt texts and the providers: every prompt text must be one of the
bundle's prompt files, and every provider must name the bundle's model snapshot (in its id or label).
A provider that is a file (`file://provider.py`) is an offline stand-in: it must be a file of the
`evals` component, so its content is pinned, and its label must still name the snapshot it stands in
for. A native report may name the bundle digest it ran; it must be this one.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable

from bundlectl.errors import InvalidInput, Problem
from bundlectl.evidence.report import Provider, Report
from bundlectl.record import BundleRecord

Reader = Callable[[str], bytes]
_FILE_PROVIDERS = ("file://", "python:")


def check_ran_bundle(report: Report, record: BundleRecord, read: Reader, label: str) -> None:
    if report.bundle_digest is not None and report.bundle_digest != record.digest:
        raise _refused(label, f"says it ran bundle {report.bundle_digest[:19]}…, not {record.ref} ({record.digest[:19]}…)",
                       "bundle_digest")
    if report.ran is None:
        return
    _check_prompts(report.ran.prompts, record, read, label)
    for provider in report.ran.providers:
        problem = _provider_problem(provider, record)
        if problem:
            raise _refused(label, problem, "providers")


def _check_prompts(prompts: list[str], record: BundleRecord, read: Reader, label: str) -> None:
    component = record.components["prompt"]
    files = sorted(component.files)
    texts = {read(path).decode("utf-8", "replace") for path in files}
    for index, raw in enumerate(prompts):
        if raw not in texts:
            first = raw.strip().splitlines()[0][:60] if raw.strip() else ""
            raise _refused(label, f"ran the prompt {first!r}…, which is none of {record.ref}'s prompt files "
                                  f"({', '.join(files) or 'none'})", f"results.prompts[{index}].raw")


def _provider_problem(provider: Provider, record: BundleRecord) -> str | None:
    model, evals = record.components["model"], record.components["evals"]
    snapshot = None if model.absent else model.fields.get("snapshot")
    stand_in = _provider_file(provider.id)
    if stand_in is not None and not _in_evals(stand_in, evals.fields.get("suite"), sorted(evals.files)):
        return (f"provider {provider} is a file outside the evals component, so what it ran is not pinned; "
                "list it in components.evals.files")
    if snapshot is None:
        return None if stand_in is not None else f"provider {provider} runs a model, but {record.ref} declares none"
    if any(snapshot in (name or "") for name in provider):
        return None
    if stand_in is not None:
        return (f"stand-in provider {provider} does not say which snapshot it stands in for; {record.ref} runs "
                f"{snapshot}: name it in the provider's label")
    return f"provider {provider} is not {record.ref}'s model snapshot {snapshot}"


def _provider_file(provider_id: str | None) -> str | None:
    """The file a file-based provider runs (`file://provider.py:call_api` → provider.py), else None."""
    for prefix in _FILE_PROVIDERS:
        if provider_id and provider_id.startswith(prefix):
            path = provider_id[len(prefix):]
            head, sep, tail = path.rpartition(":")
            return head if sep and "/" not in tail and "." not in tail else path
    return None


def _in_evals(path: str, suite: str | None, files: list[str]) -> bool:
    """Whether `path`, as promptfoo resolves it (relative to the suite's folder), is a file of the evals component."""
    if path.startswith("/"):
        return any(path.endswith("/" + f) for f in files)
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(suite or ""), path))
    return resolved in files


def _refused(label: str, message: str, field: str) -> InvalidInput:
    return InvalidInput([Problem(label, message, field=field)],
                        "the report must be a run of this bundle; run its own suite with `bundlectl eval`")
