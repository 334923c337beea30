"""The options many commands share: where the registry is, --json, and who acts (and signs), why, and whether for real."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

Decorated = TypeVar("Decorated", bound=Callable[..., Any])

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

    from bundlectl.api import Registry

DEFAULT_ACTOR_HELP = "Acting identity, a claim until trust is set (default: BUNDLECTL_ACTOR, then the CI's variables, then git user.email)."


def registry_option(func: Decorated) -> Decorated:
    """`--registry URL` and `--endpoint-url URL`, passed on as one `registry` (an `api.Registry`)."""

    @functools.wraps(func)
    def with_registry(*args: Any, registry: str | None, endpoint_url: str | None, **kwargs: Any) -> Any:
        from bundlectl.api import Registry

        return func(*args, registry=Registry(registry, endpoint_url), **kwargs)

    decorated = click.option(
        "--endpoint-url",
        "endpoint_url",
        metavar="URL",
        default=None,
        help="S3 endpoint (MinIO, Ceph RGW, R2); default: boto3's settings (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL).",
    )(with_registry)
    return click.option(
        "--registry",
        "registry",
        metavar="URL",
        default=None,
        help="Registry: a git remote (git+ssh://…, git+https://…, git+git://…, git+origin), s3://bucket/prefix, "
        "or a path to a dedicated git repository "
        "(default: env BUNDLECTL_REGISTRY, else the repository around the current folder).",
    )(decorated)  # type: ignore[return-value]


def json_option(func: Decorated) -> Decorated:
    return click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document.")(func)


def format_options(func: Decorated) -> Decorated:
    """`--format text|json|github` and `--json` (short for --format json), passed on as `output`.

    github prints the text output plus GitHub Actions annotations (`::error file=…,line=…::…`), so a
    failing check shows on the pull request's lines.
    """

    @functools.wraps(func)
    def with_output(*args: Any, as_json: bool, output_format: str | None, **kwargs: Any) -> Any:
        if as_json and output_format not in (None, "json"):
            raise click.UsageError(f"--json and --format {output_format} ask for two different outputs; give one")
        return func(*args, output="json" if as_json else output_format or "text", **kwargs)

    decorated = click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "json", "github"]),
        default=None,
        help="text (default), json (one JSON document, as --json), or github (text plus GitHub Actions annotations).",
    )(with_output)
    return json_option(decorated)  # type: ignore[return-value]


def actor_option(help: str = DEFAULT_ACTOR_HELP) -> Callable[[Decorated], Decorated]:
    """`--actor`; the help says what the identity is used for where that differs from the default."""

    def decorate(func: Decorated) -> Decorated:
        return click.option("--actor", default=None, help=help)(func)

    return decorate


def key_option(func: Decorated) -> Decorated:
    """`--key PATH` (repeatable): the SSH keys that sign the act once trust is set."""
    return click.option(
        "--key",
        "key",
        metavar="PATH",
        multiple=True,
        help="SSH key that signs this act once the registry has trust set: the private key, or its .pub when the "
        "private half is in ssh-agent or on a security key; repeat for a threshold (default: BUNDLECTL_SIGNING_KEY).",
    )(func)


def reason_option(func: Decorated) -> Decorated:
    return click.option("--reason", default=None, help="Why; recorded in the event log.")(func)


def dry_run_option(func: Decorated) -> Decorated:
    return click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")(func)


def writer_options(func: Decorated) -> Decorated:
    """What every mutating command takes (docs/design.md: The command line): --dry-run, --reason, --actor, --key, in that order in
    --help, passed on as one `act`."""
    return dry_run_option(reason_option(actor_option()(key_option(act_value(func)))))


def act_value(func: Decorated) -> Decorated:
    """The acting options a command has (--actor, --key, --reason, --dry-run; any of them) passed on as one `act` (an
    `api.Act`); it goes below those options."""

    @functools.wraps(func)
    def with_act(*args: Any, **kwargs: Any) -> Any:
        from bundlectl.api import Act

        act = Act(kwargs.pop("actor", None), kwargs.pop("key", ()), kwargs.pop("reason", None), kwargs.pop("dry_run", False))
        return func(*args, act=act, **kwargs)

    return with_act  # type: ignore[return-value]


# --- dynamic shell completion (`bundlectl completion`): what the registry holds, read through the api ---


def complete_ref(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """NAME@VERSION of every registered bundle and NAME@ENV of every live one; a path once one is typed."""
    from click.shell_completion import CompletionItem

    if "/" in incomplete or incomplete.startswith((".", "~")):
        return [CompletionItem(incomplete, type="file")]

    def refs() -> list[str]:
        from bundlectl import api

        return api.completion_words(registry=_registry_of(ctx)).refs

    return [CompletionItem(ref) for ref in _quietly(refs) if ref.startswith(incomplete)]


def complete_name(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The names of the registered bundles."""
    from click.shell_completion import CompletionItem

    def names() -> list[str]:
        from bundlectl import api

        return api.completion_words(registry=_registry_of(ctx)).names

    return [CompletionItem(name) for name in _quietly(names) if name.startswith(incomplete)]


def complete_env(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """The environments of the policy in force, and any other with something live."""
    from click.shell_completion import CompletionItem

    def envs() -> list[str]:
        from bundlectl import api

        return api.completion_words(registry=_registry_of(ctx)).envs

    return [CompletionItem(env) for env in _quietly(envs) if env.startswith(incomplete)]


def _registry_of(ctx: click.Context) -> Registry:
    """--registry and --endpoint-url when they came before the word being completed."""
    from bundlectl.api import Registry

    return Registry(ctx.params.get("registry"), ctx.params.get("endpoint_url"))


def _quietly(find: Callable[[], list[str]]) -> list[str]:
    try:
        return find()
    except Exception:  # completing is a guess: no registry, no policy or any failure just means no candidates
        return []


class WholeSummaries(click.Group):
    """A command group whose --help lists each subcommand's whole summary (its first paragraph), never cut with '...'."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, (command.short_help or (command.help or "").split("\n\n")[0]).replace("\n", " ")))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
