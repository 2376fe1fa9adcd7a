"""Stop requests from SIGTERM and SIGINT, carried out of the signal handler.

A Python signal handler runs in the main thread between two bytecodes, possibly while that thread
holds the very lock the handler needs: a second SIGTERM that interrupts the first handler inside
``threading.Event.set()`` deadlocks on the event's lock (seen: a device service hung until it was
killed, its outputs left as they were). So the handler only writes a byte to a pipe (no lock, safe
in a handler) and a daemon thread turns each byte into one ``stop()`` call.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterable


def stop_on_signals(
    stop: Callable[[], None], signals: Iterable[int] = (signal.SIGTERM, signal.SIGINT)
) -> None:
    """Call ``stop`` once per SIGTERM/SIGINT received (a second one may mean "abandon the ramp-down")."""
    read_fd, write_fd = os.pipe()

    def deliver() -> None:
        while os.read(read_fd, 1):
            stop()

    threading.Thread(target=deliver, name="stop-signals", daemon=True).start()
    for signum in signals:
        signal.signal(signum, lambda *_: os.write(write_fd, b"."))
