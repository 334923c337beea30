"""Which storage a command talks to: --registry URL, else BUNDLECTL_REGISTRY, else the repository around us.

s3://… is a bucket; git+ssh://, git+git://, git+https://, git+http:// or git+REMOTE (git+origin) is a git
remote, read and written through a mirror; a path, file:// or git+file:// opens a repository here directly.
"""

from __future__ import annotations

import os
from pathlib import Path

from bundlectl.errors import NotFound, Refused, UsageProblem
from bundlectl.storage.base import NetworkLimits, Storage
from bundlectl.storage.gitrefs import find_git_dir


def registry_url(explicit: str | None) -> str | None:
    return explicit or os.environ.get("BUNDLECTL_REGISTRY") or None


def open_storage(url: str | None, cwd: Path, create: bool = False, endpoint_url: str | None = None, limits: NetworkLimits | None = None) -> Storage:
    """The storage URL names; `limits` bounds each remote call (a local git registry makes none)."""
    from bundlectl.storage.git import GitStorage

    if url and url.startswith("s3://"):
        from importlib.util import find_spec

        if find_spec("boto3") is None:
            raise UsageProblem(f"registry {url} needs boto3", "install it: pip install 'bundlectl[s3]'")
        from bundlectl.storage.s3 import S3Storage

        return S3Storage(url, endpoint_url or os.environ.get("BUNDLECTL_ENDPOINT_URL") or None, limits)
    if url and url.startswith("git+") and not url.startswith("git+file://"):
        from bundlectl.storage.remote_git import open_remote

        return open_remote(url, cwd, limits)
    if url and "://" in url and not url.startswith(("file://", "git+file://")):
        raise UsageProblem(
            f"registry {url!r}: unknown scheme", "use a path to a git repository, a git remote (git+ssh://…, git+origin), or s3://bucket/prefix"
        )
    if url:
        path = Path(url.removeprefix("git+file://").removeprefix("file://")).expanduser()
        if not path.is_absolute():
            path = cwd / path
        if create:
            _create_bare(path)
        git_dir = path / ".git" if (path / ".git").exists() else path
        if not (git_dir / "HEAD").exists():
            raise NotFound(
                f"registry {url}: no git repository at {path}",
                "create it with `bundlectl init --registry PATH`",
            )
        return GitStorage(git_dir, str(path))
    around = find_git_dir(cwd)
    if around is None:
        raise NotFound(
            f"no git repository around {cwd} to hold the registry",
            "run `git init` first, or use a dedicated registry: `bundlectl init --registry PATH`",
        )
    return GitStorage(around, str(around.parent if around.name == ".git" else around))


def _create_bare(path: Path) -> None:
    import git

    if (path / "HEAD").exists() or (path / ".git").exists():
        return
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageProblem(f"{path} exists and is neither an empty folder nor a git repository", "pick a new folder")
    try:
        git.Repo.init(path, bare=True, mkdir=True)
    except (OSError, git.GitCommandError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "`git init` failed"
        raise Refused(f"cannot create a git repository at {path}: {reason}", "check the path and its permissions") from None
