"""A loopback TCP proxy that can trickle: the server's answer reaches the client one byte every `interval` seconds.

Each byte arrives well within any per-read timeout, so only a deadline on the whole call ends it.
`recover()` lets everything through at full speed again, on open connections too.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit


class TrickleProxy:
    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._server = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self.interval: float | None = None  # seconds between bytes while trickling; None: full speed
        self.trickled = 0  # bytes sent one at a time
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def trickle(self, interval: float) -> None:
        self.interval = interval

    def recover(self) -> None:
        self.interval = None

    def close(self) -> None:
        self._closed = True
        self._server.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
                upstream = socket.create_connection(self.upstream)
            except OSError:
                return
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(65536):
                while data:
                    interval = self.interval
                    if not answers or interval is None:
                        target.sendall(data)
                        break
                    time.sleep(interval)
                    if self._closed:
                        return
                    target.sendall(data[:1])
                    self.trickled += 1
                    data = data[1:]
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass
