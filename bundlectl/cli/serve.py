"""`serve`: the live bundles of ENV over OpenFeature's remote evaluation protocol (OFREP), for services in any language."""

from __future__ import annotations

from pathlib import Path

import click

from bundlectl import api
from bundlectl.cli.options import registry_option
from bundlectl.serve.config import DEFAULT_LISTEN


@click.command()
@click.argument("names", nargs=-1)
@click.option("--env", required=True, help="The environment whose live bundles are served.")
@click.option("--listen", default=DEFAULT_LISTEN, show_default=True, metavar="HOST:PORT")
@registry_option
@click.option("--poll-interval", type=click.FloatRange(min=0.1), default=15.0, show_default=True, help="Seconds between registry checks.")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Keep the last verified bundles here: a restart serves them before the registry answers.",
)
@click.option(
    "--request-log",
    type=click.Path(path_type=Path),
    default=None,
    help="Append the outcomes POSTed to /v1/outcomes here (JSON lines; `bundlectl guard --source`).",
)
@click.option(
    "--tokens",
    "tokens_file",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="YAML file of bearer-token hashes and scopes (read, record); without it, every request is allowed.",
)
@click.option("--tls-cert", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None)
@click.option("--tls-key", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None)
@click.option("--public-url", default="", metavar="URL", help="Prefix of the file URLs in evaluations (default: paths on this server).")
def serve(
    names: tuple[str, ...],
    env: str,
    listen: str,
    registry: api.Registry,
    poll_interval: float,
    cache_dir: Path | None,
    request_log: Path | None,
    tokens_file: Path | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    public_url: str,
) -> None:
    """Serve NAMES' live bundles in ENV (default: every bundle live there) over OFREP; runs until interrupted."""
    click.echo(f"bundlectl serve: {env} on {listen} (OFREP at /ofrep/v1; /healthz, /readyz, /metrics)", err=True)
    api.serve(
        names,
        env,
        listen=listen,
        registry=registry,
        poll_interval=poll_interval,
        cache_dir=cache_dir,
        request_log=request_log,
        tokens_file=tokens_file,
        tls_cert=tls_cert,
        tls_key=tls_key,
        public_url=public_url,
    )
