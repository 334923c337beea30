"""Where the promptfoo that `examples/install-promptfoo.sh` installs lives: the demo's and the tests' cached copy."""

from __future__ import annotations

import os
from pathlib import Path

PROMPTFOO_VERSION = "0.115.0"


def cached_promptfoo() -> Path:
    """The executable the install script writes (it may not exist): $BUNDLECTL_PROMPTFOO_DIR, else
    $XDG_CACHE_HOME/bundlectl/promptfoo-VERSION (~/.cache by default), then node_modules/.bin/promptfoo."""
    folder = os.environ.get("BUNDLECTL_PROMPTFOO_DIR")
    if not folder:
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = os.path.join(cache, "bundlectl", f"promptfoo-{PROMPTFOO_VERSION}")
    return Path(folder) / "node_modules" / ".bin" / "promptfoo"


def cached_install_complete(executable: Path) -> bool:
    """Whether the install script finished there: its last step builds better-sqlite3's native module."""
    modules = executable.parent.parent
    return executable.is_file() and (modules / "better-sqlite3/build/Release/better_sqlite3.node").is_file()


def promptfoo_hint() -> str:
    """What to do when `promptfoo` is not on PATH: use the cached install if there is one, else install it."""
    cached = cached_promptfoo()
    if cached_install_complete(cached):
        return f'a cached install is at {cached}: export PATH="{cached.parent}:$PATH"'
    return (
        f"install it with `npm install -g promptfoo@{PROMPTFOO_VERSION}` (Node.js 20), or run bundlectl's "
        f"examples/install-promptfoo.sh, which caches it in {cached.parent.parent.parent}"
    )
