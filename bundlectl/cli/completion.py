"""`completion`: the shell completion script, with registered refs, bundle names and environments completed live."""

from __future__ import annotations

import os

import click

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", required=False, type=click.Choice(SHELLS))
def completion(shell: str | None) -> None:
    """Print the completion script for SHELL (default: your $SHELL).

    \b
    bash:  eval "$(bundlectl completion bash)"    (add it to ~/.bashrc)
    zsh:   eval "$(bundlectl completion zsh)"     (add it to ~/.zshrc)
    fish:  bundlectl completion fish > ~/.config/fish/completions/bundlectl.fish

    Commands and options complete, and so do what the registry holds: refs (NAME@VERSION, NAME@ENV),
    bundle names and environments, read from the registry of the current folder (or --registry when it
    comes first on the line).
    """
    from click.shell_completion import get_completion_class

    chosen = shell or os.path.basename(os.environ.get("SHELL", ""))
    if chosen not in SHELLS:
        raise click.UsageError(f"name the shell: bundlectl completion {'|'.join(SHELLS)} (SHELL is {chosen or 'not set'!r})")
    script = get_completion_class(chosen)
    assert script is not None  # click ships all three
    root = click.get_current_context().find_root().command
    click.echo(script(root, {}, "bundlectl", "_BUNDLECTL_COMPLETE").source())
