"""``labdcs up --dummy`` end to end, as a new user runs it: in a folder of its own with the default
data and secrets folders (only the ports are free ones), the README's commands run verbatim from
that folder in another "terminal". One stack for the whole module (a start costs ~10 s of CPU);
the last test stops it with Ctrl-C."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import labdcs
import labdcs_dummy
from labdcs.client import snapshot
from labdcs.contract.models import CyclerChannelState, PowerChannelState, SensorChannelState, now_ms
from labdcs.contract.topics import ALL_STATE
from labdcs.ingest.influx import InfluxClient, InfluxError, InfluxSettings
from labdcs.nodered import runtime as nodered
from labdcs.settings import MqttSettings
from labdcs.stack.brokers import influxd_binary
from labdcs.stack.paths import free_port, port_open
from tests.support import PROBE_USER, Probe, add_probe_user, wait_until

#: Folders of the secrets folder holding passwords (and keys).
PASSWORD_FOLDERS = ("mqtt", "influxdb", "experiments", "grafana", "mongodb", "nodered")
DUMMY_DEVICES = {"hv1": 1, "hv2": 1, "lv1": 4, "env1": 1, "can1": 2, "station1": 1, "interlock": 3}


def labdcs_env() -> dict[str, str]:
    """The environment of a new user's terminal: no LABDCS_*/NODERED_* settings, and this checkout's
    code importable from any folder (PYTHONPATH as absolute paths)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABDCS_", "NODERED_"))}
    code = [str(Path(labdcs.__file__).parents[1]), str(Path(labdcs_dummy.__file__).parents[1])]
    env["PYTHONPATH"] = os.pathsep.join([*code, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))])
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class Up:
    """A running ``labdcs up --dummy`` in ``folder`` (its .labdcs/ and secrets/ are there)."""

    folder: Path
    process: subprocess.Popen[bytes]
    output: Path
    ports: dict[str, int]
    probe: Probe | None = None
    """The test's own eyes on the broker (user ``probe``), independent of the code under test."""

    @property
    def secrets(self) -> Path:
        return self.folder / "secrets"

    @property
    def state_file(self) -> Path:
        return self.folder / ".labdcs" / "stack.json"

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def labdcs(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Any:
        """``labdcs <args>`` as typed in another terminal in this folder (no --host/--port)."""
        return subprocess.run(
            [sys.executable, "-m", "labdcs", *args],
            capture_output=True,
            text=True,
            cwd=cwd or self.folder,
            env={**labdcs_env(), **(env or {})},
            timeout=60,
        )

    def retained(self) -> dict[str, dict[str, Any]]:
        """Each device's latest ``online`` and channel states as the probe saw them:
        {device: {"online": bool, "states": {channel: state}}}."""
        assert self.probe is not None
        latest = {message.topic: message for message in self.probe.on("labdcs/v1/#")}
        devices: dict[str, dict[str, Any]] = {}
        for message in latest.values():
            parts = message.topic.split("/")
            if not message.payload or len(parts) not in (4, 5):
                continue
            device = devices.setdefault(parts[2], {"online": None, "states": {}})
            if parts[3:] == ["online"]:
                device["online"] = message.json()["online"]
            elif len(parts) == 5 and parts[4] == "state":
                device["states"][parts[3]] = message.json()
        return devices

    def mqtt(self, user: str = "cli") -> MqttSettings:
        return MqttSettings(
            host="127.0.0.1",
            port=self.ports["mqtt"],
            username=user,
            password_file=self.secrets / "mqtt" / user,
        )


def _stale_state_file(folder: Path) -> None:
    """What a stack killed with SIGKILL leaves: its pid is gone, its port wrong."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    data = folder / ".labdcs"
    data.mkdir()
    stale = {
        "pid": gone.pid,
        "started": "2026-01-01T00:00:00Z",
        "data_dir": str(data),
        "secrets_dir": str(folder / "elsewhere"),
        "mqtt_host": "127.0.0.1",
        "mqtt_port": free_port(),
    }
    (data / "stack.json").write_text(json.dumps(stale))


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    folder = tmp_path_factory.mktemp("bench")
    ports = {name: free_port() for name in ("mqtt", "mqtt_tls", "influx", "nodered", "experiments")}
    _stale_state_file(folder)
    add_probe_user(folder / "secrets")  # the test's own eyes (acl.local), for the busy-broker test
    output = folder / "up.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "labdcs", "up", "--dummy"),
                *("--mqtt-port", str(ports["mqtt"]), "--mqtt-tls-port", str(ports["mqtt_tls"])),
                *("--influx-port", str(ports["influx"]), "--nodered-port", str(ports["nodered"])),
                *("--experiments-port", str(ports["experiments"])),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env=labdcs_env(),
        )
    stack = Up(folder, process, output, ports)
    try:
        wait_until(
            lambda: "Press Ctrl-C" in stack.text() or process.poll() is not None, 90, "the stack to start"
        )
        assert process.poll() is None, stack.text()

        probe_password = (folder / "secrets" / "mqtt" / PROBE_USER).read_text().strip()
        stack.probe = Probe(ports["mqtt"], password=probe_password).start("labdcs/v1/+/online", ALL_STATE)

        def all_publishing() -> bool:
            devices = stack.retained()
            return all(
                devices.get(name, {}).get("online") is True
                and len(devices[name]["states"]) == channels
                and all(s.get("status") != "fault" for s in devices[name]["states"].values())
                for name, channels in DUMMY_DEVICES.items()
            )

        wait_until(all_publishing, 30, "every dummy device online with a state per channel", interval=0.5)
        yield stack
    finally:
        if stack.probe is not None:
            stack.probe.stop()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_up_dummy_starts_everything(up: Up) -> None:
    text = up.text()
    for name in [*DUMMY_DEVICES, "mosquitto", "sim-hv1", "sim-lv1", "sim-env1", "ingest", "experiments"]:
        assert name in text, f"{name} missing from the summary:\n{text}"
    if influxd_binary():
        assert port_open("127.0.0.1", up.ports["influx"]) and "influxdb" in text
    if nodered.installed():
        assert nodered.ready(f"http://127.0.0.1:{up.ports['nodered']}") and "nodered" in text

    devices = snapshot(up.mqtt(), timeout=5)
    env = devices["env1"].states["box"]
    assert isinstance(env, SensorChannelState) and {"temperature", "humidity", "dew_point"} <= set(env.values)
    hv = devices["hv1"].states["ch1"]
    assert isinstance(hv, PowerChannelState) and hv.output is False
    assert isinstance(devices["station1"].states["ch1"], CyclerChannelState)

    # The README's walkthrough, verbatim: no --port, no environment, from the folder of `labdcs up`.
    refused = up.labdcs("cmd", "hv1", "ch1", "set_voltage", "900")
    assert refused.returncode == 1 and "above the channel's limit 500.0 V" in refused.stdout, refused
    accepted = up.labdcs("cmd", "lv1", "ch2", "set_voltage", "1.2")
    assert accepted.returncode == 0 and accepted.stdout.strip() == "accepted", accepted
    inhibited = up.labdcs("cmd", "hv1", "ch1", "on")
    assert inhibited.returncode == 1 and "interlock rule 'hv-needs-lv'" in inhibited.stdout, inhibited
    alarms = up.labdcs("alarm", "list")
    assert alarms.returncode == 0 and alarms.stdout.strip() == "no active alarms", alarms

    if influxd_binary():
        reader = up.secrets / "influxdb" / "reader"
        url = f"http://127.0.0.1:{up.ports['influx']}"
        influx = InfluxClient(InfluxSettings(url=url, username="reader", password_file=str(reader)))
        with pytest.raises(InfluxError, match=r"401|authoriz"):
            InfluxClient(InfluxSettings(url=url)).query("SHOW DATABASES")
        stored = wait_until(
            lambda: (
                influx.series_values('SELECT count("seq") FROM "power" GROUP BY "device"')
                and influx.series_values('SELECT count("temperature") FROM "sensor"')
            ),
            30,
            "the ingester to store dummy data in InfluxDB",
        )
        assert stored[0][1] > 0

    url = f"http://127.0.0.1:{up.ports['experiments']}/api/stations"
    with pytest.raises(urllib.error.HTTPError) as refused_web:
        urllib.request.urlopen(url, timeout=5)
    assert refused_web.value.code == 401, "the experiments manager answered without a login"
    admin = (up.secrets / "experiments" / "admin").read_text().strip()
    login = base64.b64encode(f"admin:{admin}".encode()).decode()

    def station_registered() -> bool:
        request = urllib.request.Request(url, headers={"Authorization": f"Basic {login}"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            return any(s["id"] == "station1" for s in json.load(answer)["items"])

    wait_until(station_registered, 30, "the experiments manager to register the dummy station")


class Busy:
    """A fast sensor (20 states/s, not retained) on the broker, as on a busy bench: there is never
    a pause in the traffic to take for the end of the retained messages."""

    def __init__(self, port: int, password: str) -> None:
        self.client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="busy")
        self.client.username_pw_set(PROBE_USER, password)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seq = 0
        while not self.stopped.wait(0.05):
            state = {"ts": now_ms(), "seq": seq, "boot": "b", "kind": "sensor", "status": "ok", "values": {}}
            self.client.publish("labdcs/v1/busy/ch1/state", json.dumps(state), qos=0)
            seq += 1

    def __enter__(self) -> Busy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()
        self.client.loop_stop()
        self.client.disconnect()


def test_status_lists_every_device_and_channel_in_aligned_columns_without_waiting_out_its_timeout(
    up: Up,
) -> None:
    timeout = 20.0
    with Busy(up.ports["mqtt"], (up.secrets / "mqtt" / PROBE_USER).read_text().strip()):
        started = time.monotonic()
        # --port: this test is about the listing (the stack is found without it: the next test).
        status = up.labdcs("status", "--port", str(up.ports["mqtt"]), "--timeout", str(timeout))
        elapsed = time.monotonic() - started
    assert status.returncode == 0 and "incomplete" not in status.stderr, status
    assert elapsed < timeout / 2, f"status took {elapsed:.1f} s of its {timeout:g} s timeout"

    lines = status.stdout.splitlines()
    header = lines[0]
    columns = [header.index(name) for name in ("STATUS", "AGE", "DETAIL")]
    expected = up.retained()
    for name, channels in DUMMY_DEVICES.items():
        row = next((i for i, line in enumerate(lines) if line.split()[:2] == [name, "online"]), None)
        assert row is not None, f"no row for {name}:\n{status.stdout}"
        shown = {line.split()[0]: line for line in lines[row + 1 : row + 1 + channels]}
        assert set(shown) == set(expected[name]["states"]), f"{name}'s channels:\n{status.stdout}"
        for channel, line in shown.items():
            state = expected[name]["states"][channel]
            assert line[columns[0] :].split()[0] == state.get("run_state", state.get("status")), line
    for line in lines[1:]:
        # Every column starts where its header does: nothing pushed out of line by a long value.
        for column in columns[:1] + columns[2:]:
            assert line[column - 2 : column] == "  " and line[column] != " ", f"\n{header}\n{line}"
        assert line[columns[1] - 1] == " ", f"\n{header}\n{line}"


def test_status_json_has_the_state_of_every_channel_including_the_cycler(up: Up) -> None:
    status = up.labdcs("status", "--json")
    assert status.returncode == 0, status
    devices = json.loads(status.stdout)
    for name, channels in DUMMY_DEVICES.items():
        assert devices[name]["online"] is True and len(devices[name]["states"]) == channels, name
    station = devices["station1"]["states"]["ch1"]
    assert station["kind"] == "cycler" and "run_state" in station and "voltage" in station


def test_client_commands_find_the_stack_of_this_folder_from_stack_json(up: Up) -> None:
    state = json.loads(up.state_file.read_text())
    assert up.state_file.stat().st_mode & 0o777 == 0o600
    assert state["pid"] == up.process.pid, "the stale file of a dead stack was not replaced"
    assert state["mqtt_port"] == up.ports["mqtt"] and state["mqtt_tls_port"] == up.ports["mqtt_tls"]
    assert Path(state["secrets_dir"]) == up.secrets.resolve()
    assert state["experiments_url"] == f"http://127.0.0.1:{up.ports['experiments']}/"

    # Explicit options > LABDCS_MQTT__* > the stack of this folder (> localhost:1883).
    closed = free_port()
    overridden = up.labdcs("alarm", "list", "--timeout", "1", env={"LABDCS_MQTT__PORT": str(closed)})
    assert overridden.returncode == 1 and f"localhost:{closed}" in overridden.stderr, overridden
    explicit = up.labdcs(
        "alarm", "list", "--port", str(up.ports["mqtt"]), env={"LABDCS_MQTT__PORT": str(closed)}
    )
    assert explicit.returncode == 0 and "alarms" in explicit.stdout, explicit
    # Elsewhere, LABDCS_DATA_DIR names the stack's folder; without it, no login is found and the
    # error says where to look.
    elsewhere = up.folder / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    lost = up.labdcs(
        "alarm", "list", "--timeout", "1", cwd=elsewhere, env={"LABDCS_MQTT__PORT": str(up.ports["mqtt"])}
    )
    assert lost.returncode == 1 and "LABDCS_DATA_DIR" in lost.stderr, lost
    found = up.labdcs("alarm", "list", cwd=elsewhere, env={"LABDCS_DATA_DIR": str(up.folder / ".labdcs")})
    assert found.returncode == 0 and "alarms" in found.stdout, found


def test_labdcs_users_finds_the_manager_and_the_first_admin_from_this_folder(up: Up) -> None:
    """`labdcs users` in the stack's folder: the manager from stack.json, logged in as the admin
    `labdcs init` made (its secret file); the logins of init are the manager's first accounts."""
    listed = up.labdcs("users", "list")
    assert listed.returncode == 0, listed
    roles = {line.split()[0]: line.split()[2] for line in listed.stdout.splitlines()}
    assert roles == {"admin": "admin", "viewer": "viewer"}, listed.stdout
    added = up.labdcs(
        "users", "add", "grace", "--role", "operator", "--out", str(up.folder / "grace.password")
    )
    assert added.returncode == 0 and "added grace (operator" in added.stdout, added
    assert (up.folder / "grace.password").read_text().strip() not in added.stdout


def test_a_second_up_in_the_same_folder_names_the_running_one_without_touching_ports(up: Up) -> None:
    before = up.state_file.read_text()
    started = time.monotonic()
    second = up.labdcs(
        *("up", "--dummy", "--mqtt-port", str(up.ports["mqtt"]), "--influx-port", str(up.ports["influx"]))
    )
    assert second.returncode != 0
    pid = up.process.pid
    assert f"labdcs is already running from this folder (pid {pid} since " in second.stderr, second
    assert f"broker on port {up.ports['mqtt']}" in second.stderr
    assert f"stop it with Ctrl-C in its terminal or `kill {pid}`" in second.stderr
    assert "in use" not in second.stderr + second.stdout, "it checked ports first"
    assert time.monotonic() - started < 30
    assert up.state_file.read_text() == before and up.process.poll() is None


def test_up_names_each_password_file_and_prints_no_password(up: Up) -> None:
    text = up.text()
    files = re.findall(r"\bcat (secrets/[^\s)\"]+)", text)
    expected = {"secrets/mqtt/cli", "secrets/experiments/admin", "secrets/experiments/viewer"}
    if influxd_binary():
        expected.add("secrets/influxdb/reader")
    if nodered.installed():
        expected |= {"secrets/nodered/admin-password", "secrets/nodered/operator-password"}
    assert expected <= set(files), text
    assert all((up.folder / name).is_file() for name in files), files
    passwords = [
        *(file for folder in PASSWORD_FOLDERS for file in (up.secrets / folder).glob("*")),
        *up.secrets.glob("tls/*.key"),
    ]
    assert len(passwords) > 10, passwords
    for secret in passwords:
        for line in secret.read_text().strip().splitlines():
            assert line not in text, f"{secret.relative_to(up.folder)} printed by labdcs up"


def test_the_raw_contract_command_up_prints_works_from_this_folder(up: Up) -> None:
    line = next(line for line in up.text().splitlines() if "mosquitto_sub" in line)
    command = line[line.index("mosquitto_sub") :]
    assert command.startswith('mosquitto_sub -u cli -P "$(cat secrets/mqtt/cli)"'), command
    received = subprocess.run(
        ["bash", "-c", f"{command} -C 1 -W 10"], capture_output=True, text=True, cwd=up.folder, timeout=30
    )
    assert received.returncode == 0 and received.stdout.startswith("labdcs/v1/"), received


def test_ctrl_c_stops_everything_cleanly_and_removes_stack_json(up: Up) -> None:
    """Last in this module: it stops the stack. An HV output that is on is ramped down to the end
    first (the runner used to send a second SIGTERM, which a device takes as "abandon the
    ramp-down": hv1 was left on), and a clean stop logs no error anywhere."""
    for command in (("lv1", "ch1", "on"), ("hv1", "ch1", "set_voltage", "50"), ("hv1", "ch1", "on")):
        done = up.labdcs("cmd", *command)
        assert done.returncode == 0, (command, done)
    assert up.probe is not None
    hv1 = "labdcs/v1/hv1/ch1/state"
    up.probe.wait_for(hv1, lambda s: s["output"] and s["v_mon"] > 45, timeout=60)
    up.process.send_signal(signal.SIGINT)
    assert up.process.wait(90) == 0, up.text()
    assert "stopped." in up.text()
    hv1_log = (up.folder / ".labdcs" / "logs" / "hv1.log").read_text()
    assert "ramping ch1 down before exiting" in hv1_log and "abandoned" not in hv1_log, hv1_log[-2000:]
    last = [m.json() for m in up.probe.on(hv1) if m.payload][-1]
    assert last["output"] is False and last["v_mon"] < 1, last
    for log in (up.folder / ".labdcs" / "logs").glob("*.log"):
        errors = [line for line in log.read_text(errors="replace").splitlines() if " ERROR " in line]
        assert not errors, f"{log.name}: {errors}"
    for name in ("mqtt", "influx", "nodered", "experiments"):
        assert not port_open("127.0.0.1", up.ports[name]), f"{name} is still listening"
    assert not up.state_file.exists(), "stack.json outlived the stack"
    # No secret in any log either (passwords are read from files, never printed).
    logs = [up.output, *(up.folder / ".labdcs" / "logs").glob("*.log")]
    for folder in ("mqtt", "influxdb", "experiments"):
        for secret in (up.secrets / folder).iterdir():
            value = secret.read_text().strip()
            for log in logs:
                assert value not in log.read_text(errors="replace"), f"{secret.name}'s password in {log}"
    leftovers = subprocess.run(["pgrep", "-f", str(up.folder)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], f"processes left running: {leftovers}"


def test_what_the_stack_writes_is_private(up: Up) -> None:
    """Issue 12: the embedded database, the logs, the spool, stack.json and the brokers' data were
    0644; now the data folder and every folder in it are 0700 and every file 0600."""
    data = up.folder / ".labdcs"
    paths = [data, *data.rglob("*")]
    loose = {
        str(path.relative_to(up.folder)): oct(mode)
        for path in paths
        if not path.is_symlink() and not path.is_socket()
        and (mode := path.stat().st_mode & 0o777) != (0o700 if path.is_dir() else 0o600)
    }  # fmt: skip
    logs = sorted(path.name for path in (data / "logs").iterdir())
    assert loose == {}, loose
    assert {"experiments.log", "mosquitto.log", "hv1.log"} <= set(logs), logs
    assert any(path.suffix == ".log" and path.stat().st_size > 0 for path in (data / "logs").iterdir())
    assert len([p for p in paths if p.is_file()]) > 20
