"""The real clients of `bundlectl serve`: the Python OFREP provider of openfeature-sdk, and Node's through client.mjs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.serve.conftest import NAME

NODE_CLIENT = Path(__file__).parent / "node"


def node(mode: str, url: str, *args: str, token: str | None = None, timeout: float = 120) -> Any:
    """Run client.mjs (Node 20, @openfeature/server-sdk + @openfeature/ofrep-provider); its JSON answer.

    Fails, never skips, without node or the packages: `npm ci` in tests/serve/node (as .ci/run does)."""
    executable = shutil.which("node")
    assert executable, "node (20 or newer) is needed for the Node client tests; .ci/run installs it"
    assert (NODE_CLIENT / "node_modules/@openfeature/ofrep-provider").is_dir(), "run `npm ci` in tests/serve/node"
    env = {**os.environ, **({"BUNDLECTL_TOKEN": token} if token else {})}
    done = subprocess.run([executable, "client.mjs", mode, url, *args], cwd=NODE_CLIENT, capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class PythonClient:
    """An OpenFeature client with the OFREP provider pointed at the server (the global API, reset on close)."""

    def __init__(self, url: str, token: str | None = None) -> None:
        from openfeature import api
        from openfeature.contrib.provider.ofrep import OFREPProvider

        self._api = api
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        api.set_provider_and_wait(OFREPProvider(url, headers_factory=lambda: headers, timeout=5))
        self.client = api.get_client()

    def details(self, targeting_key: str | None = None, default: Any = None) -> Any:
        from openfeature.evaluation_context import EvaluationContext

        return self.client.get_object_details(
            NAME, default if default is not None else {"fallback": True}, EvaluationContext(targeting_key=targeting_key)
        )

    def close(self) -> None:
        self._api.shutdown()
