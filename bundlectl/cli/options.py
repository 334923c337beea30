"""The options many commands share: where the registry is, --json, and who acts (and signs), why, and whether for real."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

Decorated = TypeVar("Decorated", bound=Callable[..., Any])

DEFAULT_ACTOR_HELP = ("Acting identity, a claim until trust is set (default: BUNDLECTL_ACTOR, then the CI's variables, "
                      "then git user.email).")


def registry_option(func: Decorated) -> Decorated:
    """`--registry URL` and `--endpoint-url URL`, passed on as `registry` and `endpoint_url`."""
    func = click.option(
        "--endpoint-url", "endpoint_url", metavar="URL", default=None,
        help="S3 endpoint (MinIO, Ceph RGW, R2); default: boto3's settings (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL).",
    )(func)
    return click.option(
        "--registry", "registry", metavar="URL", default=None,
        help="Registry: a git remote (git+ssh://…, git+https://…, git+git://…, git+origin), s3://bucket/prefix, "
             "or a path to a dedicated git repository "
             "(default: env BUNDLECTL_REGISTRY, else the repository around the current folder).",
    )(func)


def json_option(func: Decorated) -> Decorated:
    return click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document.")(func)


def actor_option(help: str = DEFAULT_ACTOR_HELP) -> Callable[[Decorated], Decorated]:
    """`--actor`; the help says what the identity is used for where that differs from the default."""
    def decorate(func: Decorated) -> Decorated:
        return click.option("--actor", default=None, help=help)(func)

    return decorate


def key_option(func: Decorated) -> Decorated:
    """`--key PATH` (repeatable), passed on as `key`: the SSH keys that sign the act once trust is set."""
    return click.option(
        "--key", "key", metavar="PATH", multiple=True,
        help="SSH key that signs this act once the registry has trust set: the private key, or its .pub when the "
             "private half is in ssh-agent or on a security key; repeat for a threshold (default: BUNDLECTL_SIGNING_KEY).",
    )(func)


def reason_option(func: Decorated) -> Decorated:
    return click.option("--reason", default=None, help="Why; recorded in the event log.")(func)


def dry_run_option(func: Decorated) -> Decorated:
    return click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")(func)


def writer_options(func: Decorated) -> Decorated:
    """What every mutating command takes (DESIGN §4, §11): --dry-run, --reason, --actor, --key, in that order in --help."""
    return dry_run_option(reason_option(actor_option()(key_option(func))))
