"""SIGINT/SIGTERM during apply: stop starting writes, let the ones in flight finish, then report.

The default SIGINT behaviour (KeyboardInterrupt wherever the main thread happens to be) could leave
a write half-recorded; instead the signal only sets an event that the executor checks before each
new write.
"""

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class StopEvent(threading.Event):
    """An event that also remembers which signal set it."""

    signal: int = 0


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopEvent]:
    stop = StopEvent()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be installed from the main thread
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.signal = signum
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
