"""S3 clients that load botocore's service models once per process.

A new boto3 session re-reads and parses S3's service model and the endpoint rules (~1 MB of JSON):
~190 ms a client, paid by every command and by every registry the runtime opens. Clients here share one
botocore loader, which caches those models, while each still gets a session of its own, so credentials
and settings are resolved fresh for every client as before (~25 ms: benchmarks/s3_client.py).
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_loader: Any = None  # botocore's data loader, shared: it only caches read-only model files


def new_client(endpoint_url: str | None, config: Any) -> Any:
    """A botocore S3 client with its own session (credentials, region, profile) and the shared model cache."""
    import botocore.session  # a heavy import, paid only by commands that reach S3

    global _loader
    session = botocore.session.get_session()
    with _lock:
        if _loader is None:
            _loader = session.get_component("data_loader")
        else:
            session.register_component("data_loader", _loader)
    return session.create_client("s3", endpoint_url=endpoint_url, config=config)
