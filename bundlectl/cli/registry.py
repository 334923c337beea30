"""Commands about the registry itself: `init` creates it, `registry copy` moves it between backends."""

from __future__ import annotations

import click

from bundlectl import api
from bundlectl.cli.options import WholeSummaries, act_value, actor_option, registry_option
from bundlectl.cli.output import ok


@click.command()
@registry_option
@actor_option("Acting identity recorded for the init event.")
@act_value
def init(registry: api.Registry, act: api.Act) -> None:
    """Create the registry (git by default: refs/bundlectl/ in the repository around you)."""
    result = api.init(registry=registry, act=act)
    if result.created:
        ok(f"initialised bundlectl registry in {result.url}")
        ok("wrote the starter gate policy (see `bundlectl policy show`)")
    else:
        ok(f"bundlectl registry in {result.url} is already initialised")


@click.group("registry", cls=WholeSummaries)
def registry_group() -> None:
    """The registry itself: copy it between backends."""


@registry_group.command("copy")
@click.argument("source")
@click.argument("target")
@click.option("--endpoint-url", default=None, help="S3 endpoint for s3:// sides (default: boto3's settings).")
@click.option(
    "--migrate",
    is_flag=True,
    help="Move the registry itself: TARGET keeps its id and SOURCE is retired "
    "(it takes no more writes). Without it, TARGET is a sandbox with an id of its own.",
)
def registry_copy(source: str, target: str, endpoint_url: str | None, migrate: bool) -> None:
    """Copy every event, object and pointer from SOURCE to TARGET (git path or s3://bucket/prefix).

    By default TARGET is a sandbox to try things in: it gets an id of its own, so nothing signed there ever
    counts in SOURCE. With --migrate, TARGET becomes the registry and SOURCE is retired.
    """
    copied = api.copy_registry(source, target, endpoint_url=endpoint_url, migrate=migrate)
    result = copied.result
    ok(
        f"copied {result.events} events and {result.objects} objects from {copied.source_url} to {copied.target_url}"
        + (f" ({result.already} were already there)" if result.already else "")
    )
    if copied.migrated:
        ok(f"{copied.source_url} is retired: it takes no more writes; {copied.target_url} is the registry now")
    else:
        ok(f"{copied.target_url} is a sandbox with an id of its own: acts made there never count in {copied.source_url}")
    ok(f"run `bundlectl verify --registry {target}` to check the copy")
