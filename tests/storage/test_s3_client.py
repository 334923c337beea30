"""S3 clients share botocore's model cache but resolve credentials and settings per client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def test_clients_made_at_once_from_many_threads_each_keep_their_own_endpoint_and_region(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime opens registries in threads: a cold shared model cache filled by many at once mixes up nothing."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from bundlectl.storage import s3_client

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setattr(s3_client, "_loaders", {})  # cold: the window for a race is widest
    start = threading.Barrier(16)

    def make(i: int) -> tuple[int, Any]:
        start.wait()
        return i, new_client(f"http://127.0.0.{i % 5 + 1}:{9000 + i}", Config(region_name=f"eu-west-{i % 3 + 1}"))

    with ThreadPoolExecutor(16) as pool:
        made = list(pool.map(make, range(16)))
    for i, client in made:
        assert (client.meta.endpoint_url, client.meta.region_name) == (f"http://127.0.0.{i % 5 + 1}:{9000 + i}", f"eu-west-{i % 3 + 1}")
    assert len({id(client._loader) for _, client in made}) == 1


def test_each_client_reads_the_profile_in_force_when_it_is_made(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """AWS_PROFILE switched between two clients of one process: credentials, region and endpoint follow the profile."""
    (tmp_path / "config").write_text(
        "[profile a]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:9001\n"
        "[profile b]\nregion = ap-south-1\nendpoint_url = http://127.0.0.1:9002\n"
    )
    (tmp_path / "credentials").write_text(
        "[a]\naws_access_key_id = AKA\naws_secret_access_key = a\n[b]\naws_access_key_id = AKB\naws_secret_access_key = b\n"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    seen = []
    for profile in ("a", "b", "a"):
        monkeypatch.setenv("AWS_PROFILE", profile)
        client = new_client(None, Config())
        seen.append((client._request_signer._credentials.access_key, client.meta.region_name, client.meta.endpoint_url))
    assert seen == [
        ("AKA", "eu-west-1", "http://127.0.0.1:9001"),
        ("AKB", "ap-south-1", "http://127.0.0.1:9002"),
        ("AKA", "eu-west-1", "http://127.0.0.1:9001"),
    ]
    assert new_client("http://127.0.0.1:9555", Config()).meta.endpoint_url == "http://127.0.0.1:9555"  # --endpoint-url wins


def test_a_client_made_under_another_data_path_searches_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """AWS_DATA_PATH (or a profile's data_path) names folders of models that override botocore's: a loader made
    before it was set must not serve the clients made after."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_DATA_PATH", raising=False)
    plain = new_client(None, Config())
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path / "models"))
    custom = new_client(None, Config())
    assert str(tmp_path / "models") in custom._loader.search_paths
    assert str(tmp_path / "models") not in plain._loader.search_paths
    assert new_client(None, Config())._loader is custom._loader  # still shared by every client under that path
