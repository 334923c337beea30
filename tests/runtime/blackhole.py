"""A loopback TCP proxy that can turn into a black hole: it keeps accepting connections and never answers.

That is the outage that hurts most (a firewall dropping packets, a hung load balancer): nothing fails,
everything waits. `black_hole()` also silences connections already open (a client's keep-alive pool);
`forward()` closes those, so the client's next request opens a fresh, working connection.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit


class _Link:
    """One client connection and, when forwarding, its connection upstream; `swallow()` makes both go quiet for good."""

    def __init__(self, client: socket.socket, upstream: socket.socket | None) -> None:
        self.client, self.upstream = client, upstream
        self.swallowing = upstream is None
        self.swallowed = 0  # bytes the client sent that never arrived anywhere

    def start(self) -> None:
        threading.Thread(target=self._pump, args=(self.client, self.upstream), daemon=True).start()
        if self.upstream is not None:
            threading.Thread(target=self._pump, args=(self.upstream, self.client), daemon=True).start()

    def swallow(self) -> None:
        self.swallowing = True

    def _pump(self, source: socket.socket, target: socket.socket | None) -> None:
        try:
            while data := source.recv(65536):
                if self.swallowing or target is None:
                    if source is self.client:
                        self.swallowed += len(data)
                    continue
                target.sendall(data)
            if target is not None and not self.swallowing:
                target.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


class BlackHoleProxy:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._server = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._lock = threading.Lock()
        self._hole = False
        self._links: list[_Link] = []
        self.accepted_in_hole = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def black_hole(self) -> None:
        with self._lock:
            self._hole = True
            for link in self._links:
                link.swallow()

    def forward(self) -> None:
        with self._lock:
            self._hole = False
            quiet = [link for link in self._links if link.swallowing]
            self._links = [link for link in self._links if not link.swallowing]
        for link in quiet:
            link.close()

    @property
    def swallowed(self) -> int:
        """Bytes clients sent into the black hole: proof that someone tried to reach the registry during it."""
        with self._lock:
            return sum(link.swallowed for link in self._links)

    def close(self) -> None:
        self._server.close()
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            with self._lock:
                hole = self._hole
                if hole:
                    self.accepted_in_hole += 1
            upstream = None if hole else socket.create_connection(self.upstream)
            link = _Link(client, upstream)
            with self._lock:
                self._links.append(link)
            link.start()
