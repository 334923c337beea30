"""`verify`: re-check the whole registry; tampering exits 5 through the one error mapping in main."""

from __future__ import annotations

import click

from bundlectl import api
from bundlectl.cli.options import json_option, registry_option
from bundlectl.cli.output import emit_json, ok


@click.command()
@click.option(
    "--trust-root",
    metavar="DIGEST",
    default=None,
    help="The digest of the registry's first trust file (`trust show`): fail unless its trust began there.",
)
@click.option(
    "--registry-id",
    metavar="ID",
    default=None,
    help="The registry's id (`verify` prints it): fail unless the log is that registry, not a copy of it.",
)
@registry_option
@json_option
def verify(trust_root: str | None, registry_id: str | None, registry: api.Registry, as_json: bool) -> None:
    """Re-check every digest, the log chain, every signature, and that pointers agree with the log (exit 5 if not)."""
    report = api.verify(registry=registry, trust_root=trust_root, registry_id=registry_id)
    identity = report.identity
    if as_json:
        emit_json(report.to_json())
        return
    click.echo(f"this is {identity.describe()}")
    for note in report.skewed:
        click.echo(f"warning: {note}", err=True)
    ok(
        f"registry verified: {report.events} log records chained, {report.bundles} bundles and {report.objects} "
        f"stored objects match their digests, {report.pointers} pointers agree with the log"
    )
    if report.trust_since is None:
        click.echo("no trust set: the identities in this log are claims (see `bundlectl trust set`)")
    else:
        ok(
            f"{report.signed} records since seq {report.trust_since} are signed by keys the trust in force allowed, "
            "and the head pointer names the newest"
        )
