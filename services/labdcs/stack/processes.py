"""Child processes of the native runner, each in its own session with its log in a file.

Children get their own process group, so Ctrl-C reaches only the runner, which then stops them in
order (device services first: an HV service may need a minute to ramp down; the simulated
instruments and the broker must still be there while it does).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


class StartError(RuntimeError):
    """A child did not come up; the message includes the tail of its log."""


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    log_file: Path
    env: dict[str, str] = field(default_factory=dict)
    address: str = ""
    stop_timeout: float = 15.0
    popen: subprocess.Popen[bytes] | None = None
    terminated: bool = False
    """SIGTERM sent to the running process: never twice (a device service takes a second one as
    "abandon the ramp-down", leaving an HV output on)."""

    def start(self) -> None:
        self.terminated = False
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            self.popen = subprocess.Popen(
                list(self.argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_ready(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise StartError(f"{self.name} exited during start-up:\n{tail(self.log_file)}")
            if ready():
                return
            time.sleep(0.05)
        raise StartError(f"{self.name} not ready within {timeout:g} s:\n{tail(self.log_file)}")

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM), once."""
        if self.alive() and not self.terminated:
            assert self.popen is not None
            self.popen.send_signal(signal.SIGTERM)
            self.terminated = True

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM (unless sent already), wait, then SIGKILL; returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.terminate()
            try:
                self.popen.wait(self.stop_timeout if timeout is None else timeout)
            except subprocess.TimeoutExpired:
                log.warning(
                    "%s did not stop within %s s; killing it", self.name, timeout or self.stop_timeout
                )
                self.popen.kill()
                self.popen.wait()
        return self.popen.returncode
