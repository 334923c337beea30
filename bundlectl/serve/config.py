"""How `bundlectl serve` is set up: what it serves, where it listens, and its limits, checked once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bundlectl.errors import UsageProblem
from bundlectl.foundation.names import is_env, is_name

DEFAULT_LISTEN = "127.0.0.1:8080"


@dataclass(frozen=True)
class ServeSettings:
    env: str
    names: tuple[str, ...]  # empty: every bundle with a pointer in ENV when the server starts
    host: str = "127.0.0.1"
    port: int = 8080
    registry: str | None = None
    endpoint_url: str | None = None
    cwd: Path | None = None
    poll_interval: float = 15.0
    timeout: float = 2.0
    startup_timeout: float = 2.0  # then serve the cache's last verified bundle while the registry keeps being tried
    cache_dir: Path | None = None
    request_log: Path | None = None
    tokens_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    public_url: str = ""  # prefix of the file URLs in evaluations ("" : paths on this server)
    max_body: int = 64 * 1024  # an evaluation request: a context of a few attributes
    max_outcomes_body: int = 1024 * 1024  # a batch of up to 1000 outcomes
    max_in_flight: int = 1024  # requests handled at once; beyond: 429 with Retry-After


def serve_settings(names: tuple[str, ...] | list[str], env: str, listen: str, **settings: Any) -> ServeSettings:
    """What `bundlectl serve` was asked for, checked: bundle names and the environment, HOST:PORT; `settings` are the
    other fields of ServeSettings."""
    bad = [name for name in names if not is_name(name)] + ([] if is_env(env) else [env])
    if bad:
        raise UsageProblem(f"{bad[0]!r} is not a bundle name or environment", "names are lowercase letters, digits and dashes")
    host, port = parse_listen(listen)
    return ServeSettings(env, tuple(names), host, port, **settings)


def parse_listen(listen: str) -> tuple[str, int]:
    """HOST:PORT (IPv6 in brackets) → (host, port); UsageProblem otherwise."""
    host, sep, port = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageProblem(f"--listen {listen!r} is not HOST:PORT", f"for example --listen {DEFAULT_LISTEN}")
    return host, int(port)


def check_tls(cert: Path | None, key: Path | None) -> None:
    if (cert is None) != (key is None):
        raise UsageProblem("--tls-cert and --tls-key go together", "give both, or terminate TLS at a reverse proxy (docs/serve.md)")
