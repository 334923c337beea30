"""Running `bundlectl serve`: the fleet of runtimes, the ASGI application, and uvicorn serving it until stopped."""

from __future__ import annotations

import logging
from typing import Any

from bundlectl.errors import UsageProblem
from bundlectl.serve.app import ServeApp
from bundlectl.serve.auth import Authorizer, load_tokens
from bundlectl.serve.config import ServeSettings, check_tls
from bundlectl.serve.fleet import Fleet, served_names


class Server:
    """One server: `run()` blocks until `stop()` (or SIGINT/SIGTERM when run in the main thread), then closes the runtimes."""

    def __init__(self, settings: ServeSettings) -> None:
        try:
            import uvicorn
        except ImportError:
            raise UsageProblem("bundlectl serve needs uvicorn", "pip install 'bundlectl[serve]'") from None
        check_tls(settings.tls_cert, settings.tls_key)
        tokens = load_tokens(settings.tokens_file) if settings.tokens_file is not None else None
        self.settings = settings
        self.fleet = Fleet(settings, served_names(settings))
        self.app = ServeApp(
            self.fleet,
            Authorizer(tokens),
            base_url=settings.public_url.rstrip("/"),
            max_body=settings.max_body,
            max_outcomes_body=settings.max_outcomes_body,
            max_in_flight=settings.max_in_flight,
        )
        options: dict[str, Any] = {}
        if settings.tls_cert is not None:
            options = {"ssl_certfile": str(settings.tls_cert), "ssl_keyfile": str(settings.tls_key)}
        config = uvicorn.Config(
            self.app,
            host=settings.host,
            port=settings.port,
            access_log=False,
            log_level="warning",
            lifespan="off",
            server_header=False,
            timeout_keep_alive=30,
            **options,
        )
        self._server = uvicorn.Server(config)

    @property
    def started(self) -> bool:
        """The socket is listening."""
        return bool(self._server.started)

    def run(self) -> None:
        logging.getLogger("bundlectl.serve").info(
            "serving %s in %s on %s:%s", ", ".join(self.fleet.names), self.settings.env, self.settings.host, self.settings.port
        )
        try:
            self._server.run()
        finally:
            self.fleet.close()

    def stop(self) -> None:
        self._server.should_exit = True
