"""``<data dir>/stack.json`` and the data folder's lock, without a full stack: stale files are
ignored, a stack that is still starting holds its folder, and the operators' commands take the
broker and the ``cli`` login from a running stack only where nothing more explicit says otherwise."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import labdcs as labdcs_package
import labdcs_dummy
from labdcs.contract.models import Online
from labdcs.stack import state
from labdcs.stack.paths import free_port, port_open
from tests.support import Broker, Probe, wait_until


def labdcs(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A labdcs command in ``cwd`` with no LABDCS_* settings but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LABDCS_")}
    code = [Path(labdcs_package.__file__).parents[1], Path(labdcs_dummy.__file__).parents[1]]
    clean["PYTHONPATH"] = os.pathsep.join(str(path) for path in code)
    return subprocess.run(
        [sys.executable, "-m", "labdcs", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**clean, **env},
        timeout=60,
    )


@pytest.fixture
def processes() -> Iterator[Callable[[list[str]], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(argv: list[str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def a_labdcs_process(start: Callable[[list[str]], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """A live process whose command line is labdcs's (a simulated instrument)."""
    port = free_port()
    sim = start(
        [sys.executable, "-m", "labdcs", "sim", "scpi", "--model", "keithley2410", "--port", str(port)]
    )
    wait_until(lambda: port_open("127.0.0.1", port), 20, "the simulator to listen")
    return sim


def running(data_dir: Path, pid: int, port: int, secrets_dir: Path) -> state.RunningStack:
    return state.RunningStack(
        pid=pid,
        started=datetime.now(UTC),
        data_dir=data_dir,
        secrets_dir=secrets_dir,
        mqtt_host="127.0.0.1",
        mqtt_port=port,
    )


def test_stack_json_is_private_atomic_and_only_its_runner_removes_it(tmp_path: Path) -> None:
    stack = running(tmp_path, os.getpid(), 1884, tmp_path / "secrets")
    path = state.write(stack)
    assert path == tmp_path / "stack.json" and path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["stack.json"], "a temporary file was left"
    assert state.read(tmp_path) == stack
    state.remove(tmp_path, os.getpid() + 1)
    assert path.exists(), "another runner's file was removed"
    state.remove(tmp_path, os.getpid())
    assert not path.exists()


def test_a_dead_or_foreign_pid_and_a_broken_file_are_stale(
    tmp_path: Path, processes: Callable[[list[str]], subprocess.Popen[bytes]]
) -> None:
    gone = processes([sys.executable, "-c", "pass"])
    gone.wait()
    foreign = processes(["sleep", "60"])  # alive, but not labdcs: a reused pid
    live = a_labdcs_process(processes)
    for pid, alive in ((gone.pid, False), (foreign.pid, False), (live.pid, True)):
        state.write(running(tmp_path, pid, 1884, tmp_path))
        assert state.read(tmp_path) is not None
        assert (state.find_running(tmp_path) is not None) is alive, f"pid {pid}"
    (tmp_path / "stack.json").write_text("{not json")
    assert state.read(tmp_path) is None and state.find_running(tmp_path) is None


def test_up_refuses_a_folder_whose_stack_is_still_starting_before_touching_anything(tmp_path: Path) -> None:
    data_dir, secrets_dir, port = tmp_path / "data", tmp_path / "secrets", free_port()
    lock = state.StackLock(data_dir)
    lock.acquire()  # as a runner does from its first step, before stack.json exists
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LABDCS_", "NODERED_"))}
    up = subprocess.Popen(
        [
            *(sys.executable, "-m", "labdcs", "up", "--dummy", "--data-dir", str(data_dir)),
            *("--secrets-dir", str(secrets_dir), "--mqtt-port", str(port), "--mqtt-tls-port", "0"),
            *("--no-influx", "--no-nodered", "--no-experiments"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean,
    )
    try:
        out, err = up.communicate(timeout=30)
    finally:
        if up.poll() is None:  # it started a stack after all: stop it cleanly
            up.send_signal(signal.SIGINT)
            up.wait(60)
        lock.release()
    assert up.returncode == 1, out + err
    assert f"labdcs is starting from this folder (pid {os.getpid()})" in err, err
    assert f"kill {os.getpid()}" in err
    assert not secrets_dir.exists() and not port_open("127.0.0.1", port), "it went on starting"


@pytest.fixture
def stack_folder(
    tmp_path: Path, broker: Broker, processes: Callable[[list[str]], subprocess.Popen[bytes]]
) -> Iterator[dict[str, Any]]:
    """A folder whose .labdcs/stack.json names a live runner and the test broker (non-default
    port), with the broker's secrets folder as the stack's; a retained device on the broker."""
    folder = tmp_path / "bench"
    (folder / ".labdcs").mkdir(parents=True)
    runner = a_labdcs_process(processes)
    state.write(running(folder / ".labdcs", runner.pid, broker.port, broker.secrets_dir))
    probe = Probe(broker.port).start()
    probe.publish("labdcs/v1/dev7/online", Online(online=True, boot="b").model_dump_json(), retain=True)
    yield {"folder": folder, "broker": broker}
    probe.stop()


def test_client_commands_reach_the_running_stack_with_its_cli_login(stack_folder: dict[str, Any]) -> None:
    folder: Path = stack_folder["folder"]
    status = labdcs("status", "--json", cwd=folder)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["dev7"]["online"] is True
    listed = labdcs("alarm", "list", cwd=folder)
    assert listed.returncode == 0 and listed.stdout.strip() == "no active alarms", listed
    elsewhere = labdcs("status", "--json", cwd=folder.parent, LABDCS_DATA_DIR=str(folder / ".labdcs"))
    assert elsewhere.returncode == 0 and "dev7" in json.loads(elsewhere.stdout), elsewhere.stderr


def test_options_and_environment_come_before_the_running_stack(
    stack_folder: dict[str, Any], tmp_path: Path
) -> None:
    folder: Path = stack_folder["folder"]
    broker: Broker = stack_folder["broker"]
    closed = free_port()
    by_option = labdcs("status", "--port", str(closed), "--timeout", "1", cwd=folder)
    assert by_option.returncode == 1 and f"localhost:{closed}" in by_option.stderr, by_option
    by_env = labdcs("status", "--timeout", "1", cwd=folder, LABDCS_MQTT__PORT=str(closed))
    assert by_env.returncode == 1 and f"localhost:{closed}" in by_env.stderr, by_env
    # The stack's broker named explicitly: still its cli login (same broker, same secrets).
    same = labdcs("status", "--port", str(broker.port), "--json", cwd=folder)
    assert same.returncode == 0 and "dev7" in json.loads(same.stdout), same.stderr
    # LABDCS_SECRETS_DIR wins over the stack's secrets: here it has no cli login, so the broker
    # refuses, and the error says where logins are found.
    (tmp_path / "empty").mkdir()
    no_login = labdcs("status", "--timeout", "1", cwd=folder, LABDCS_SECRETS_DIR=str(tmp_path / "empty"))
    assert no_login.returncode == 1 and "No broker login was found" in no_login.stderr, no_login
