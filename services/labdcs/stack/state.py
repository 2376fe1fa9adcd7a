"""What a running ``labdcs up`` leaves in its data folder, so that others can find it.

``<data dir>/stack.json`` (a :class:`RunningStack`, mode 0600, written atomically once the stack is
up, removed when it stops) says which process runs the stack and where its services listen: a
second ``labdcs up`` in the same folder names that process instead of failing on the first busy
port, and the operators' commands (``status``, ``cmd``, ``alarm``) reach its broker with its
``cli`` login whatever ports it was given. A file left by a stack that died (its pid gone, or
reused by a process that is not labdcs) is ignored and replaced.

``<data dir>/stack.lock`` is held (``flock``) by the runner from its first step to its last, so
two ``labdcs up`` started at the same moment cannot both pass the check before either has written
``stack.json``; the kernel releases it when the runner dies, however it dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ValidationError

from labdcs.stack.processes import StartError

log = logging.getLogger(__name__)

STATE_FILE = "stack.json"
LOCK_FILE = "stack.lock"
DEFAULT_DATA_DIR = Path(".labdcs")


class RunningStack(BaseModel):
    """A running ``labdcs up``: its runner's pid and where each service listens."""

    pid: int
    started: datetime
    data_dir: Path
    secrets_dir: Path
    mqtt_host: str
    mqtt_port: int
    mqtt_tls_port: int | None = None
    influx_url: str | None = None
    """None when InfluxDB does not run (not installed, or ``--no-influx``); likewise below."""
    nodered_url: str | None = None
    experiments_url: str | None = None

    def alive(self) -> bool:
        """The runner still runs: its pid exists and is a labdcs process (not a reused pid)."""
        return process_is_labdcs(self.pid)

    def describe(self) -> str:
        """``pid N since HH:MM:SS; broker on port P, ...`` for messages."""
        started = self.started.astimezone()
        today = started.date() == datetime.now().astimezone().date()
        since = started.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M:%S")
        where = [f"broker on port {self.mqtt_port}"]
        where += [f"TLS on {self.mqtt_tls_port}"] if self.mqtt_tls_port else []
        for name, url in (
            ("InfluxDB", self.influx_url),
            ("Node-RED", self.nodered_url),
            ("experiments", self.experiments_url),
        ):
            if url:
                where.append(f"{name} {url}")
        return f"pid {self.pid} since {since}; {', '.join(where)}"


def default_data_dir() -> Path:
    """``LABDCS_DATA_DIR``, else ``.labdcs`` in the current folder (``labdcs up --data-dir``)."""
    return Path(os.environ.get("LABDCS_DATA_DIR") or DEFAULT_DATA_DIR)


def process_is_labdcs(pid: int) -> bool:
    """Whether ``pid`` is a live process whose command line mentions labdcs (where /proc tells)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, but someone else's
    if not Path("/proc/self").is_dir():
        return True  # no /proc (macOS): the pid has to do
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False  # gone in the meantime
    except OSError:
        return True
    return b"labdcs" in cmdline  # a zombie's is empty


def read(data_dir: Path) -> RunningStack | None:
    """The stack file in ``data_dir`` as written, live or not; None when absent or unreadable."""
    path = data_dir / STATE_FILE
    try:
        return RunningStack.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return None


def find_running(data_dir: Path | None = None) -> RunningStack | None:
    """The stack running from ``data_dir`` (default: :func:`default_data_dir`); None when there is
    none or its file is stale."""
    stack = read(data_dir or default_data_dir())
    return stack if stack is not None and stack.alive() else None


def write(stack: RunningStack) -> Path:
    """Write ``<data dir>/stack.json`` atomically, mode 0600 (it names the secrets folder)."""
    path = stack.data_dir / STATE_FILE
    fd, temporary = tempfile.mkstemp(dir=stack.data_dir, prefix=".stack-", suffix=".json")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(stack.model_dump_json(indent=2) + "\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def remove(data_dir: Path, pid: int) -> None:
    """Remove the stack file if it is the one of ``pid`` (never another runner's)."""
    stack = read(data_dir)
    if stack is not None and stack.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            (data_dir / STATE_FILE).unlink()


class AlreadyRunning(StartError):
    """A stack runs (or is starting) from this data folder already."""


class StackLock:
    """The data folder's lock, held by one runner for its whole life (see the module's docstring)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`AlreadyRunning` saying which process has the folder."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        running = find_running(self.data_dir)
        fd = os.open(self.data_dir / LOCK_FILE, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        handle = os.fdopen(fd, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            raise AlreadyRunning(already_running_message(running, holder)) from None
        if running is not None:  # a lock that does not work here (e.g. a network file system)
            handle.close()
            raise AlreadyRunning(already_running_message(running, str(running.pid)))
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the flock
            self._file = None


def already_running_message(running: RunningStack | None, holder: str) -> str:
    """What a second ``labdcs up`` in the same folder says: who runs it and how to stop it."""
    if running is not None:
        pid, what = running.pid, running.describe()
        return (
            f"labdcs is already running from this folder ({what}): "
            f"stop it with Ctrl-C in its terminal or `kill {pid}`"
        )
    pid_text = holder if holder.isdigit() else "?"
    return (
        f"labdcs is starting from this folder (pid {pid_text}): wait for it, or stop it with Ctrl-C "
        f"in its terminal or `kill {pid_text}`"
    )
