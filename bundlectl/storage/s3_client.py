"""S3 clients that load botocore's service models once per process.

A new boto3 session re-reads and parses S3's service model and the endpoint rules (~1 MB of JSON) for
every client, paid by every command and by every registry the runtime opens. Clients here share one
botocore loader, which caches those models, while each still gets a session of its own, so credentials
and settings are resolved fresh for every client as before (benchmarks/s3_client.py: 105–125 ms a
client before, 16–17 ms now, in the same run).
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
# botocore's data loaders, shared: they only cache read-only model files. One per data path (AWS_DATA_PATH or a
# profile's data_path: folders of models that override botocore's), which each loader searches from its making on.
_loaders: dict[str | None, Any] = {}


def new_client(endpoint_url: str | None, config: Any) -> Any:
    """A botocore S3 client with its own session (credentials, region, profile) and the shared model cache."""
    import botocore.session  # a heavy import, paid only by commands that reach S3

    session = botocore.session.get_session()
    data_path = session.get_config_variable("data_path")
    with _lock:
        loader = _loaders.get(data_path)
        if loader is None:
            _loaders[data_path] = session.get_component("data_loader")
        else:
            session.register_component("data_loader", loader)
    return session.create_client("s3", endpoint_url=endpoint_url, config=config)
