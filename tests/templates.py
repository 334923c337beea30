"""Registries built once per test session and copied into each test that starts from them.

Building the usual starting points runs up to 8 commands (init, two registrations, a policy, two
evidence runs, a promotion): a second or more per test on git and more on S3. Each stage is built
once per session (per xdist worker) by those same commands, then copied: the project folder with its
git repository, and for S3 the registry's objects into a fresh bucket of the test's own. A copy keeps
the registry id, which is what a test's own registry would have had anyway; each test has its own cache.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

STAGES = ("initialised", "registered", "v1_live")


class Template(NamedTuple):
    folder: Path  # the project folder, git repository included
    bucket: str | None  # on S3: the bucket holding the registry
    index: Path  # the read index the building machine kept


class RegistryTemplates:
    def __init__(
        self,
        base: Path,
        builders: dict[str, Callable[[Any], None]],
        new_workspace: Callable[[Path], Any],
        reopen: Callable[[Path], Any],
        environment: Callable[[Path], dict[str, str]],
    ) -> None:
        self.base, self.builders, self.environment = base, builders, environment
        self.new_workspace, self.reopen = new_workspace, reopen
        self.built: dict[tuple[str, str], Template] = {}

    def template(self, backend: str, stage: str, s3_endpoint: str | None) -> Template:
        """The project folder (and S3 bucket) at this stage: a copy of the stage before it, and its one step."""
        key = (backend, stage)
        if key not in self.built:
            folder = self.base / f"{backend}-{stage}"
            with pytest.MonkeyPatch.context() as patch:
                for name, value in self.environment(self.base / f"cache-{backend}-{stage}").items():
                    patch.setenv(name, value)
                position = STAGES.index(stage)
                if position == 0:
                    ws = self.new_workspace(folder)
                else:
                    previous = self.template(backend, STAGES[position - 1], s3_endpoint)
                    shutil.copytree(previous.folder, folder, symlinks=True)
                    ws = self.reopen(folder)
                patch.chdir(folder)
                bucket = None
                if backend == "s3":
                    assert s3_endpoint is not None
                    bucket = use_s3(patch, s3_endpoint)
                    if position > 0:
                        copy_bucket(previous.bucket, bucket)
                    ws.backend = "s3"
                self.builders[stage](ws)
                index = ws.storage().index_path()  # read under the template's cache and bucket
            self.built[key] = Template(folder, bucket, index)
        return self.built[key]


def copy_index(source: Path, target: Path) -> None:
    """The read index of the machine that built a template, as the test's own machine would have kept it.

    A git registry keeps it inside the repository (copied with the project); an S3 one in the cache."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for path in source.parent.glob(source.name + "*"):  # with SQLite's -wal and -shm files, if any
        shutil.copyfile(path, target.parent / (target.name + path.name[len(source.name) :]))


def use_s3(patch: pytest.MonkeyPatch, endpoint: str, bucket: str | None = None) -> str:
    """Point bundlectl and boto3 at a new bucket on the loopback S3 server."""
    import boto3

    bucket = bucket or f"bundlectl-{uuid.uuid4().hex[:12]}"
    for name, value in (
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("BUNDLECTL_REGISTRY", f"s3://{bucket}/registry"),
    ):
        patch.setenv(name, value)
    patch.delenv("AWS_PROFILE", raising=False)
    boto3.client("s3").create_bucket(Bucket=bucket)
    return bucket


def copy_project(template: Path, root: Path) -> None:
    """The template's project folder, git repository included, in place of the test's own."""
    shutil.rmtree(root)
    shutil.copytree(template, root, symlinks=True)


def copy_bucket(source: str | None, target: str) -> None:
    """Every object of one bucket into another, server-side."""
    import boto3

    assert source is not None
    client = boto3.client("s3")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=source):
        for item in page.get("Contents", []):
            client.copy_object(Bucket=target, Key=item["Key"], CopySource={"Bucket": source, "Key": item["Key"]})
