"""Child processes of the native runner, each in its own session with its log in a file.

Children get their own process group, so Ctrl-C reaches only the runner, which then stops them in
order (device services first: an HV service may need a minute to ramp down; the simulated
instruments and the broker must still be there while it does).

A child's output goes through a pipe to a thread of the runner that writes it to
``<name>.log`` and rotates that by size (``.log.1`` ... ``.log.<backups>``): a chatty or attacked
service (a login flood, a crash loop) cannot fill the disk. Logs are 0600, and each child runs with
umask 077: what it writes (databases, spool, broker data) is 0600, its folders 0700.
"""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


class StartError(RuntimeError):
    """A child did not come up; the message includes the tail of its log."""


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


#: Size of a log file before it is rotated, and the rotated files kept (so at most 4 x 10 MiB).
LOG_MAX_BYTES = 10 * 1024 * 1024
LOG_BACKUPS = 3


class RotatingLog:
    """Bytes appended to a file that is rotated by size; whole lines where they fit."""

    def __init__(self, path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self._file = self._open()

    def _open(self) -> io.BufferedWriter:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(fd, "ab")

    def write(self, data: bytes) -> None:
        if self._file.tell() + len(data) > self.max_bytes and self._file.tell() > 0:
            self._rotate()
        self._file.write(data)
        self._file.flush()

    def _rotate(self) -> None:
        self._file.close()
        for k in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{k}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{k + 1}"))
        if self.backups > 0:
            self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        else:
            self.path.unlink(missing_ok=True)
        self._file = self._open()

    def close(self) -> None:
        self._file.close()


def pump(source: IO[bytes], log_file: RotatingLog) -> None:
    """Copy a child's output into its log until the child closes it (exits)."""
    try:
        for line in iter(lambda: source.readline(64 * 1024), b""):
            log_file.write(line)
    except (OSError, ValueError) as exc:  # a full disk must not take the runner down
        log.warning("cannot write %s: %s", log_file.path, exc)
    finally:
        source.close()
        log_file.close()


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    log_file: Path
    env: dict[str, str] = field(default_factory=dict)
    address: str = ""
    stop_timeout: float = 15.0
    log_max_bytes: int = LOG_MAX_BYTES
    log_backups: int = LOG_BACKUPS
    popen: subprocess.Popen[bytes] | None = None
    terminated: bool = False
    """SIGTERM sent to the running process: never twice (a device service takes a second one as
    "abandon the ramp-down", leaving an HV output on)."""

    def start(self) -> None:
        self.terminated = False
        self.log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        out = RotatingLog(self.log_file, self.log_max_bytes, self.log_backups)
        try:
            self.popen = subprocess.Popen(
                list(self.argv),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **self.env},
                start_new_session=True,
                umask=0o077,  # its database, spool and data files: 0600, folders 0700
            )
        except BaseException:
            out.close()
            raise
        assert self.popen.stdout is not None
        threading.Thread(
            target=pump, args=(self.popen.stdout, out), name=f"log-{self.name}", daemon=True
        ).start()

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
