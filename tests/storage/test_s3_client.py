"""S3 clients share botocore's model cache but resolve credentials and settings per client."""

from __future__ import annotations

import pytest
from botocore.config import Config

from bundlectl.storage.s3_client import new_client


def test_each_client_reads_the_credentials_and_region_in_force_when_it_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "first-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    first = new_client("http://127.0.0.1:9", Config())
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "rotated-key")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    second = new_client("http://127.0.0.1:9", Config())

    assert first._request_signer._credentials.access_key == "first-key"
    assert second._request_signer._credentials.access_key == "rotated-key"
    assert (first.meta.region_name, second.meta.region_name) == ("eu-west-1", "us-west-2")
    assert second.meta.endpoint_url == "http://127.0.0.1:9"


def test_clients_share_one_model_cache_that_does_not_grow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    clients = [new_client(None, Config()) for _ in range(3)]
    loaders = {id(c._loader) for c in clients}
    assert len(loaders) == 1
    assert len(clients[0]._loader.search_paths) == len(clients[2]._loader.search_paths)
