"""The acceptance suite's stack: `labdcs up --dummy` exactly as the README starts it, in a fresh folder
(a copy of the checkout's tracked files, as a clone gives them, with the set-up's ``.venv``), secured,
default settings except the ports (free ones, through its own flags). Tests act only through
public interfaces: the CLI, MQTT as the ``cli`` user, the REST API with the admin login, the pages in
Debian's Chromium.

The only translation between what the docs say and what a test runs is the ports: the stack is given
free ports, so a documented default address (``127.0.0.1:8000``) is rewritten to the test's, and the
Mosquitto clients read the broker's port from their per-user options file (``$XDG_CONFIG_HOME/
mosquitto_sub``), which a user never needs for the default port. The ``labdcs`` commands find the
running stack by themselves (``.labdcs/stack.json`` in the folder they run in), as they do for a user.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from labdcs.stack.paths import free_port, project_root
from tests.support import wait_until

ROOT = project_root()
ARTIFACTS = ROOT / "test-artifacts"

#: The documented default port of each service -> its `labdcs up` flag.
FLAGS = {
    1883: "--mqtt-port",
    8883: "--mqtt-tls-port",
    8086: "--influx-port",
    1880: "--nodered-port",
    8000: "--experiments-port",
}


@dataclass
class UserStack:
    """`labdcs up --dummy` running in ``folder`` (a fresh directory with only ``.venv`` beside it)."""

    folder: Path
    ports: dict[int, int]
    """documented default port -> the port this stack was given"""
    process: subprocess.Popen[bytes] | None
    """`labdcs up` (None: a compose stack, started by `docker compose`)"""
    output: Path
    started_s: float = 0.0
    stop_problems: list[str] = field(default_factory=list)

    @property
    def experiments_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[8000]}"

    @property
    def nodered_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[1880]}"

    @property
    def mqtt_port(self) -> int:
        return self.ports[1883]

    def secret(self, name: str) -> str:
        """A secret `labdcs init` generated (``experiments/admin``, ``mqtt/cli``...), read as a user
        would with ``cat secrets/<name>``."""
        return (self.folder / "secrets" / name).read_text().strip()

    def admin(self) -> tuple[str, str]:
        return ("admin", self.secret("experiments/admin"))

    def env(self) -> dict[str, str]:
        """A user's shell with the virtual environment active: no labdcs settings from the developer's
        environment; the Mosquitto clients' options file maps the default broker port to this stack's."""
        clean = {k: v for k, v in os.environ.items() if not k.startswith("LABDCS_")}
        # As after `source .venv/bin/activate` (README.md): the docs write plain `labdcs`.
        path = f"{self.folder / '.venv' / 'bin'}{os.pathsep}{clean.get('PATH', os.defpath)}"
        return {**clean, "PATH": path, "XDG_CONFIG_HOME": str(self.folder / ".config")}

    def translate(self, command: str) -> str:
        """A documented command for this stack: default addresses rewritten to its ports."""
        for default, port in self.ports.items():
            command = re.sub(rf"(127\.0\.0\.1|localhost):{default}\b", rf"\g<1>:{port}", command)
        return command

    def shell(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a documented command line in bash, in the stack's folder, as a user would."""
        return subprocess.run(
            ["bash", "-c", self.translate(command)],
            cwd=self.folder,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def spawn(self, command: str) -> subprocess.Popen[str]:
        """A documented command that runs until stopped (a subscriber), in its own process group."""
        return subprocess.Popen(
            ["bash", "-c", self.translate(command)],
            cwd=self.folder,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def log(self, service: str) -> str:
        path = self.folder / ".labdcs" / "logs" / f"{service}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def up_output(self) -> str:
        return self.output.read_text(errors="replace")


#: What a log must not hold after a clean stop (a trip or an alarm during the tests is fine).
UNCLEAN_STOP = ("Traceback", "Client is not connected", "ramp-down abandoned", "did not finish within")


def _mosquitto_options(folder: Path, port: int) -> None:
    config = folder / ".config"
    config.mkdir()
    for client in ("mosquitto_sub", "mosquitto_pub"):
        (config / client).write_text(f"-p {port}\n")


def fresh_checkout(folder: Path) -> None:
    """The tracked files of the checkout, as a fresh clone has them (no secrets, no .labdcs), and what
    ``scripts/setup`` installed there (the README's first command has run): `.venv`, Node-RED's
    packages."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source, target = ROOT / name, folder / name
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    for installed in ("nodered/node_modules",):  # what scripts/setup installs besides .venv
        if (ROOT / installed).is_dir():
            (folder / installed).symlink_to(ROOT / installed)


def _start(folder: Path) -> UserStack:
    folder.mkdir(parents=True, exist_ok=True)
    fresh_checkout(folder)
    ports = {default: free_port() for default in FLAGS}
    _mosquitto_options(folder, ports[1883])
    flags = [item for default, flag in FLAGS.items() for item in (flag, str(ports[default]))]
    output = folder / "labdcs-up.out"
    started = time.monotonic()
    with output.open("wb") as out:
        process = subprocess.Popen(
            [".venv/bin/labdcs", "up", "--dummy", *flags],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("LABDCS_")},
            start_new_session=True,  # Ctrl-C reaches it as from its own terminal
        )
    stack = UserStack(folder, ports, process, output)

    def up() -> bool:
        assert process.poll() is None, f"labdcs up exited:\n{stack.up_output()[-4000:]}"
        return "Press Ctrl-C to stop" in stack.up_output()

    try:
        wait_until(up, 180, "`labdcs up --dummy` to say the stack is up", interval=0.2)
    except BaseException:  # a stack that did not come up (or a test timeout) must not outlive the run
        process.send_signal(signal.SIGINT)  # `labdcs up` stops its children (each in its own session)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        raise
    stack.started_s = time.monotonic() - started
    return stack


def _stop(stack: UserStack) -> None:
    """Ctrl-C, as the README says; the stack must stop cleanly and log no error on the way."""
    assert stack.process is not None
    stack.process.send_signal(signal.SIGINT)
    try:
        code = stack.process.wait(120)
    except subprocess.TimeoutExpired:
        os.killpg(stack.process.pid, signal.SIGKILL)
        stack.stop_problems.append("`labdcs up` did not stop within 120 s of Ctrl-C")
        return
    if code != 0:
        stack.stop_problems.append(f"`labdcs up` exited with {code} after Ctrl-C")
    if "stopped." not in stack.up_output():
        stack.stop_problems.append("`labdcs up` did not say it stopped")
    if "killing it" in stack.up_output():  # the runner's word for a service that did not stop
        stack.stop_problems.append("a service had to be killed: " + stack.up_output()[-1500:])
    for log in (stack.folder / ".labdcs" / "logs").glob("*.log"):
        text = log.read_text(errors="replace")
        for sign in UNCLEAN_STOP:
            if sign in text:
                stack.stop_problems.append(f"{log.name}: {sign!r}")


@pytest.fixture(scope="session")
def user_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UserStack]:
    stack = _start(tmp_path_factory.mktemp("fresh-folder"))
    print(f"\n`labdcs up --dummy` ready in {stack.started_s:.1f} s")
    try:
        yield stack
    finally:
        _stop(stack)
        if stack.stop_problems:
            print(f"--- labdcs up ---\n{stack.up_output()[-3000:]}")
        assert not stack.stop_problems, stack.stop_problems
