"""`evals`: the eval suite's own files, e.g. the case list a suite that is not promptfoo declares."""

from __future__ import annotations

import click

from bundlectl import api
from bundlectl.cli.options import WholeSummaries, json_option
from bundlectl.cli.output import emit_json


@click.group(cls=WholeSummaries)
def evals() -> None:
    """The eval suite: write the case list of a suite that is not promptfoo."""


@evals.command("cases")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["auto", "promptfoo", "junit", "native"]), default="auto", show_default=True)
@json_option
def cases(file: str, fmt: str, as_json: bool) -> None:
    """Print the case list a report implies (YAML): `bundlectl evals cases FILE > evals/cases.yaml`.

    Then declare it in bundle.yaml, `evals: {suite: …, cases: evals/cases.yaml}`: every later report
    must hold exactly these cases, once each. Cases without a slice are in the `default` slice; add
    `slice:` where the gate should judge a slice of its own.
    """
    from bundlectl.bundle.content.case_list import case_list_yaml

    found = api.evals_cases(file, fmt)
    if as_json:
        emit_json(found.to_json())
        return
    click.echo(case_list_yaml(found.cases), nl=False)
