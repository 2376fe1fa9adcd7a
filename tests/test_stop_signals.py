"""Every labdcs service stops on SIGTERM/SIGINT through ``stop_on_signals``: the signal handler only
writes to a pipe, and ``stop()`` runs in a thread of its own. A handler that called ``stop()`` itself
could be re-entered by a second signal while ``stop()`` held a lock (an ``Event``'s), and deadlock:
can1 hung on 3 of 8 `labdcs up` stops until it was killed. Here a ``stop()`` that holds its lock
while a second SIGTERM arrives makes that happen every time, in a child process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import os, signal, sys, threading
    from labdcs.cli.signals import stop_on_signals

    lock, done, calls = threading.Lock(), threading.Event(), []

    def stop():
        with lock:  # like Event.set(): a lock held while the next SIGTERM comes in
            calls.append(1)
            if len(calls) == 1:
                os.kill(os.getpid(), signal.SIGTERM)
                for _ in range(100_000):  # bytecodes during which the handler may run
                    pass
            else:
                done.set()

    if sys.argv[1] == "naive":
        signal.signal(signal.SIGTERM, lambda *_: stop())
    else:
        stop_on_signals(stop)
    os.kill(os.getpid(), signal.SIGTERM)
    sys.exit(0 if done.wait(10) else 3)
    """
)


def _run(mode: str, timeout: float) -> int | None:
    try:
        return subprocess.run([sys.executable, "-c", CHILD, mode], timeout=timeout).returncode
    except subprocess.TimeoutExpired:
        return None  # deadlocked


def test_a_second_signal_while_stop_holds_its_lock_is_carried_out_not_deadlocked() -> None:
    assert _run("labdcs", timeout=60) == 0


def test_the_handler_that_calls_stop_itself_deadlocks_which_is_why_labdcs_does_not() -> None:
    """The hazard, shown: the same ``stop()`` called from the handler hangs the process."""
    assert _run("naive", timeout=5) is None
