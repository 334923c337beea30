"""Report builders for tests: real promptfoo output with its run time moved, and native reports."""

from __future__ import annotations

import itertools
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import ROOT, V1, V2, Workspace

FIXTURES = ROOT / "tests" / "fixtures"


def iso(age: timedelta) -> str:
    return (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%S.000Z")


_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_RUNS = itertools.count(secrets.randbelow(62**3))


def _next_run_letters() -> str:
    """promptfoo's three letters of an evalId: distinct for every report this process makes (random ones collided
    once in 4,096 for two reports made in the same second, and a test then saw "this run is already bound")."""
    number = next(_RUNS) % 62**3
    return "".join(_ALPHABET[number // 62**power % 62] for power in (2, 1, 0))


def promptfoo_report(ws: Workspace, example: str, age: timedelta = timedelta(hours=1), name: str | None = None) -> str:
    """A real promptfoo run of bundles/support-triage-<example>'s suite, as if it had run `age` ago.

    Its run time is moved as a real run's would be: promptfoo writes it twice, in results.timestamp and
    in the evalId it makes at the same moment (eval-XYZ-<time>); each call is a different run.
    """
    document = json.loads((FIXTURES / f"promptfoo-support-triage-{example}.json").read_text())
    document["results"]["timestamp"] = iso(age)
    document["evalId"] = f"eval-{_next_run_letters()}-{iso(age)[:19]}"
    path = ws.root / (name or f"promptfoo-{example}-{int(age.total_seconds())}.json")
    path.write_text(json.dumps(document))
    return str(path)


def suite_cases(example: str) -> list[tuple[str, str]]:
    """(id, slice) of every test of bundles/support-triage-<example>'s promptfoo suite."""
    import yaml

    suite = yaml.safe_load((ROOT / "bundles" / f"support-triage-{example}" / "evals/promptfooconfig.yaml").read_text())
    return [(t["description"], t["metadata"]["slice"]) for t in suite["tests"]]


def native_eval(ws: Workspace, example: str, name: str, age: timedelta = timedelta(hours=1), failing: int = 0, **case) -> str:
    """A native eval report of every case of the example's (registered) suite, the first `failing` of them failed.

    It names the bundle it ran (`bundle_digest`), as a report of a promptfoo suite in another format must."""
    cases = [{"id": i, "slice": s, "passed": n >= failing, **case} for n, (i, s) in enumerate(suite_cases(example))]
    digest = ws.json("show", {"v1": V1, "v2": V2}[example])["digest"]
    return native_report(ws, "eval", name, age, cases=cases, bundle_digest=digest)


def native_report(ws: Workspace, kind: str, name: str, age: timedelta = timedelta(hours=1), **body) -> str:
    document = {"format": "bundlectl/evidence-v1", "kind": kind, "run_at": iso(age), **body}
    path = ws.root / name
    path.write_text(json.dumps(document))
    return str(path)


def set_policy(ws: Workspace, text: str) -> None:
    path = ws.root / "policy.yaml"
    path.write_text("apiVersion: bundlectl/v1\nkind: Policy\n" + text)
    result = ws.run("policy", "set", str(path))
    assert result.exit_code == 0, result.output


def add(ws: Workspace, ref: str, path: str, *extra: str) -> None:
    result = ws.run("evidence", "add", ref, path, *extra)
    assert result.exit_code == 0, result.output


def promote(ws: Workspace, ref: str, env: str, *extra: str) -> None:
    result = ws.run("promote", ref, "--env", env, *extra)
    assert result.exit_code == 0, result.output


def read(path: str) -> bytes:
    return Path(path).read_bytes()


def write_behind_bundlectl(ws: Workspace, key: str, data: bytes) -> None:
    """Overwrite a stored key as an attacker or a stale replica would: no condition, no log record.

    `key` is relative to the registry: "pointers/envs/NAME/ENV" or "objects/blobs/HEX".
    """
    if ws.backend == "git":
        path = Path(ws.repo.git_dir) / "tampered"
        path.write_bytes(data)
        ws.repo.git.update_ref("refs/bundlectl/" + key, ws.repo.git.hash_object("-w", str(path)))
    else:
        storage = ws.storage()
        storage.client.put_object(Bucket=storage.bucket, Key=storage._key(key), Body=data)
