"""Deadlines for whole operations: a per-read timeout does not bound a peer that trickles one byte at a time.

`run_within` runs a call in a worker thread and stops waiting for it at the deadline. The call cannot be
interrupted from outside (a socket read in C), so it is abandoned: it ends when its peer answers or gives up,
and its result is thrown away. `Abandoned` counts such calls, so a caller can refuse to start more of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from bundlectl.errors import BundlectlError

T = TypeVar("T")


class DeadlineExceeded(BundlectlError):
    """An operation that did not finish within its deadline; it may still be running, abandoned."""


class Deadline:
    """A point in time (monotonic clock) an operation must end by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at


class Abandoned:
    """How many calls given up at their deadline are still running (each holds a thread and maybe a connection)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0

    def _change(self, by: int) -> None:
        with self._lock:
            self.running += by


def run_within(call: Callable[[], T], deadline: Deadline, what: str, abandoned: Abandoned | None = None) -> T:
    """The result of `call()`, or DeadlineExceeded once `deadline` passes (the call is then abandoned, not stopped).

    An exception from `call` is raised here as it was raised there.
    """
    done = threading.Event()
    outcome: dict[str, object] = {}
    lock = threading.Lock()

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the waiting thread, which raises it
            outcome["error"] = exc
        finally:
            with lock:
                done.set()
                if outcome.get("abandoned") and abandoned is not None:
                    abandoned._change(-1)

    worker = threading.Thread(target=work, name=f"bundlectl {what}", daemon=True)
    worker.start()
    if not done.wait(deadline.remaining()):
        with lock:
            if not done.is_set():
                outcome["abandoned"] = True
                if abandoned is not None:
                    abandoned._change(+1)
                raise DeadlineExceeded(
                    f"{what} did not finish within its {deadline.seconds:g} s deadline (the peer is slow, trickling or not answering)"
                )
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
