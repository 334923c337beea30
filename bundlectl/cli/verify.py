"""`verify`: re-check the whole registry; tampering exits 5 through the one error mapping in main."""

from __future__ import annotations

import click

from bundlectl import api
from bundlectl.cli.options import json_option, registry_option
from bundlectl.cli.output import emit_json, ok


@click.command()
@registry_option
@json_option
def verify(registry: str | None, endpoint_url: str | None, as_json: bool) -> None:
    """Re-check every digest, the log chain, and that pointers agree with the log (exit 5 if not)."""
    report = api.verify(registry=registry, endpoint_url=endpoint_url)
    if as_json:
        emit_json({"ok": True, "events": report.events, "bundles": report.bundles, "objects": report.objects,
                   "pointers": report.pointers})
    else:
        ok(f"registry verified: {report.events} log records chained, {report.bundles} bundles and {report.objects} "
           f"stored objects match their digests, {report.pointers} pointers agree with the log")
