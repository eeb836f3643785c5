"""Ctrl-C and SIGTERM during training: finish and save the epoch in progress, then stop.

The first signal asks training to stop after the current epoch (whose end is backed up); a second
one stops at once, losing only that epoch. Either way ``rnnlab train`` on the same config resumes.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

log = logging.getLogger("rnnlab")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Set by the first Ctrl-C/SIGTERM; calling it says whether a stop was asked for."""

    def __init__(self) -> None:
        self.signals = 0

    def __call__(self) -> bool:
        return self.signals > 0

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.signals += 1
        if self.signals > 1:
            raise KeyboardInterrupt
        log.info(
            "%s: stopping after this epoch and saving it; send it again to stop now (losing this epoch).",
            signal.Signals(signum).name,
        )


@contextlib.contextmanager
def stop_requests() -> Iterator[StopRequest]:
    """Install the two-stage handlers for the block (main thread only) and restore the old ones."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, request.handle)
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
