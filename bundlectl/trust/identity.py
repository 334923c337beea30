"""Who is acting: a claimed identity, and the SSH keys that prove it once the registry has trust set.

The claim is --actor, else BUNDLECTL_ACTOR, else the CI's own variables (GitHub Actions, GitLab CI),
else git's user.email, else the login name, recorded as `login:NAME` (so it never looks
like a person's identity; `bundlectl doctor` says how to set one). In CI the run's URL is recorded with the event too.
"""

from __future__ import annotations

import getpass
import os
import subprocess
from collections.abc import Sequence
from typing import NamedTuple

from bundlectl.errors import Refused
from bundlectl.trust.sign import SigningKey, signing_keys


class Acting(NamedTuple):
    claimed: str
    explicit: bool = False  # given with --actor: then it must be the signing key's principal, not just ignored
    keys: tuple[SigningKey, ...] = ()
    run_url: str | None = None


def claimed(name: str) -> Acting:
    """An identity that is only claimed, with no keys (what every act is until trust is set)."""
    return Acting(name)


def acting(explicit: str | None, keys: Sequence[str] | None = None) -> Acting:
    """The acting identity of a command: its claim, its signing keys (--key, else BUNDLECTL_SIGNING_KEY), its CI run."""
    ci_actor, run_url = ci_identity()
    return Acting(acting_identity(explicit, ci_actor), bool(explicit), signing_keys(keys), run_url)


def acting_identity(explicit: str | None, ci_actor: str | None = None) -> str:
    if explicit:
        return _one_line(explicit, "--actor")
    from_env = os.environ.get("BUNDLECTL_ACTOR")
    if from_env:
        return _one_line(from_env, "BUNDLECTL_ACTOR")
    if ci_actor:
        return _one_line(ci_actor, "the CI's variables")
    try:
        email = subprocess.run(["git", "config", "user.email"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        email = ""
    if email:
        return _one_line(email, "git config user.email")
    try:  # named as what it is, so the log never passes a login name (`root`) off as a person's identity
        return f"login:{_one_line(getpass.getuser(), 'the login name')}"
    except (KeyError, OSError):
        return "login:unknown"


def ci_identity() -> tuple[str | None, str | None]:
    """(who triggered the run, the run's URL) from the CI's own variables; (None, None) outside CI."""
    env = os.environ
    if env.get("GITHUB_ACTIONS") == "true":
        actor = env.get("GITHUB_ACTOR")
        server, repository, run = env.get("GITHUB_SERVER_URL", "https://github.com"), env.get("GITHUB_REPOSITORY"), env.get("GITHUB_RUN_ID")
        url = f"{server}/{repository}/actions/runs/{run}" if repository and run else None
        if url and env.get("GITHUB_RUN_ATTEMPT"):
            url += f"/attempts/{env['GITHUB_RUN_ATTEMPT']}"
        return (f"github:{actor}" if actor else None), url
    if env.get("GITLAB_CI") == "true":
        actor = env.get("GITLAB_USER_EMAIL") or (f"gitlab:{env['GITLAB_USER_LOGIN']}" if env.get("GITLAB_USER_LOGIN") else None)
        return actor, env.get("CI_JOB_URL") or env.get("CI_PIPELINE_URL")
    return None, None


def _one_line(identity: str, source: str) -> str:
    """A claimed identity is one line of text: it heads the log's git commits and every human listing."""
    if any(ord(c) < 32 or ord(c) == 127 for c in identity):
        raise Refused(
            f"the claimed identity {identity[:60]!r} ({source}) contains control characters (a newline?); nothing was written",
            "give one line of text, such as alice@example.com",
        )
    return identity
