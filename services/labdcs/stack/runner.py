"""``labdcs up``: broker, InfluxDB, simulated instruments, device services and the interlock as local
processes."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from labdcs.client import wait_online
from labdcs.devices.config import ConfigError, DeviceConfig
from labdcs.devices.cycler.config import CyclerConfig, load_device_config
from labdcs.ingest import mapping, retention
from labdcs.ingest.influx import InfluxClient, InfluxError, InfluxSettings
from labdcs.interlock.config import InterlockConfig
from labdcs.nodered import runtime as nodered
from labdcs.security import influx as influx_auth
from labdcs.security import secrets
from labdcs.security.mosquitto import INTERLOCK_USER
from labdcs.settings import MqttSettings
from labdcs.stack import state
from labdcs.stack.brokers import (
    influxd_binary,
    mosquitto_binary,
    render_influxdb_conf,
    render_mosquitto_conf,
)
from labdcs.stack.paths import (
    device_ids,
    dummy_devices_dir,
    dummy_interlock_file,
    free_port,
    port_open,
    project_root,
)
from labdcs.stack.processes import ManagedProcess, StartError

log = logging.getLogger(__name__)

#: Drivers whose dummy twin is a separate simulated-instrument process (CAN nodes run in-process).
SCPI_SIMULATED = frozenset({"keithley2410", "hmp4040", "envmon", "psb"})
DATABASE = mapping.DATABASE


@dataclass
class StackOptions:
    data_dir: Path
    dummy: bool = False
    devices_dir: Path | None = None
    mqtt_port: int = 1883
    mqtt_tls_port: int | None = None
    """The broker's TLS listener (loopback, like the plain one; `labdcs up`: 8883); None: off."""
    secrets_dir: Path | None = None
    """Made by ``labdcs init`` (run here when something is missing); None: <data_dir>/secrets (for
    embedding and tests: the ``labdcs up`` command always passes one, by default the folder of
    ``labdcs init``, ``secrets.default_dir()``)."""
    influx_port: int = 8086
    influx: bool | None = None
    """None: start InfluxDB when it is installed; False: never; True: required."""
    nodered_port: int = 1880
    nodered: bool | None = None
    """None: start Node-RED when it is installed (scripts/setup); False: never; True: required."""
    experiments_port: int | None = 8000
    """The experiments manager (API, web UI, queue) on this port, its database under data_dir; None: off."""
    interlock: Path | None = None
    """Rules file of the interlock service (with ``dummy``: the dummy rules unless given)."""
    start_timeout: float = 30.0


def _wanted(option: bool | None, installed: bool, name: str, install: str) -> bool:
    """Whether to start an optional service: never when switched off (False), else when installed;
    missing, it is an error when required (True) and a warning otherwise (None)."""
    if option is False:
        return False
    if installed:
        return True
    if option:
        raise StartError(f"{name} is not installed: run scripts/setup ({install})")
    log.warning("%s is not installed (scripts/setup: %s): running without it", name, install)
    return False


def _private(path: Path) -> Path:
    """``path``, made (empty) with mode 0600 when it does not exist, so what is written is never 0644."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    return path


def _require_free(port: int, name: str, option: str) -> None:
    if port_open("127.0.0.1", port):
        raise StartError(f"port {port} is already in use: stop that {name} or pass {option}")


@dataclass
class _Device:
    config: DeviceConfig | CyclerConfig | InterlockConfig
    path: Path
    process: ManagedProcess
    simulator: ManagedProcess | None = None
    restarts: int = 0
    next_restart: float = 0.0

    @property
    def name(self) -> str:
        return self.config.device


@dataclass
class Stack:
    options: StackOptions
    infrastructure: list[ManagedProcess] = field(default_factory=list)
    devices: list[_Device] = field(default_factory=list)
    interlock: _Device | None = None
    influx_url: str | None = None
    nodered_url: str | None = None
    experiments_url: str | None = None
    nodered_logins: list[nodered.Login] = field(default_factory=list)
    nodered_first_start: bool = False
    """True when this start generated the Node-RED logins (their password files are new)."""
    secrets: secrets.SecretsDir | None = None
    secrets_created: list[str] = field(default_factory=list)
    """Secrets this start generated (``labdcs up`` says where they are, once)."""
    running: state.RunningStack | None = None
    """What ``<data dir>/stack.json`` says once the stack is up."""
    _nodered: ManagedProcess | None = None
    _lock: state.StackLock | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def mqtt(self) -> MqttSettings:
        """The operators' broker login (user ``cli``)."""
        return self.mqtt_for("cli")

    def mqtt_for(self, user: str) -> MqttSettings:
        assert self.secrets is not None
        return MqttSettings(
            host="127.0.0.1",
            port=self.options.mqtt_port,
            username=user,
            password_file=self.secrets.mqtt_password_file(user),
        )

    def _mqtt_env(self, user: str) -> dict[str, str]:
        """A service's broker login as environment variables: the password as a file, never a value."""
        settings = self.mqtt_for(user)
        return {
            "LABDCS_MQTT__HOST": settings.host,
            "LABDCS_MQTT__PORT": str(settings.port),
            "LABDCS_MQTT__USERNAME": user,
            "LABDCS_MQTT__PASSWORD_FILE": str(settings.password_file),
        }

    @property
    def secrets_dir(self) -> Path:
        return self.options.secrets_dir or self.options.data_dir / "secrets"

    def _log(self, name: str) -> Path:
        return self.options.data_dir / "logs" / f"{name}.log"

    # --- start ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start everything, or stop what started and raise StartError. First of all, refuse
        (:class:`state.AlreadyRunning`) when a stack runs from this data folder already."""
        started = datetime.now(UTC)
        # Everything under the data folder (database, logs, spool, stack.json, the brokers' data) is
        # the stack's alone: the folder 0700 (also one made before), the children write with umask
        # 077 (ManagedProcess), the runner's own files are 0600.
        self.options.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.options.data_dir.chmod(0o700)
        lock = state.StackLock(self.options.data_dir)
        lock.acquire()  # refused: nothing started, nothing to stop
        self._lock = lock
        try:
            self._init_secrets()
            self._start_mosquitto()
            self._start_influxdb()
            self._start_nodered()
            self._start_devices()
            self._wait_nodered()
            self._start_experiments()
            self._start_interlock()
            self.running = state.RunningStack(
                pid=os.getpid(), started=started, data_dir=self.options.data_dir,
                secrets_dir=self.secrets_dir, mqtt_host="127.0.0.1", mqtt_port=self.options.mqtt_port,
                mqtt_tls_port=self.options.mqtt_tls_port, influx_url=self.influx_url,
                nodered_url=self.nodered_url, experiments_url=self.experiments_url,
            )  # fmt: skip
            state.write(self.running)
        except BaseException:
            self.stop()
            raise

    def _init_secrets(self) -> None:
        """``labdcs init`` for what is missing (a broker user for every device); never overwrites."""
        folders = [path.parent for path in self._device_configs()]
        ids = [device for folder in dict.fromkeys(folders) for device in device_ids(folder)]
        try:
            result = secrets.init(self.secrets_dir, devices=ids)
        except (OSError, ValueError) as exc:
            raise StartError(f"cannot create the secrets in {self.secrets_dir}: {exc}") from None
        self.secrets = secrets.SecretsDir(self.secrets_dir)
        self.secrets_created = result.created

    def _start_mosquitto(self) -> None:
        binary = mosquitto_binary()
        if binary is None:
            raise StartError("mosquitto is not installed: run scripts/setup (apt-get install mosquitto)")
        port = self.options.mqtt_port
        _require_free(port, "broker", "--mqtt-port")
        folder = self.options.data_dir / "mosquitto"
        folder.mkdir(mode=0o700, exist_ok=True)
        (folder / "data").mkdir(mode=0o700, exist_ok=True)
        conf = folder / "mosquitto.conf"
        assert self.secrets is not None
        tls_port = self.options.mqtt_tls_port
        if tls_port is not None:
            _require_free(tls_port, "broker", "--mqtt-tls-port")
        _private(conf).write_text(
            render_mosquitto_conf(
                project_root() / "mosquitto" / "mosquitto.conf",
                port=port,
                tls_port=tls_port,
                data_dir=folder / "data",
                secrets=self.secrets.native_paths(),
            )
        )
        process = ManagedProcess("mosquitto", [binary, "-c", str(conf)], self._log("mosquitto"))
        process.address = f"mqtt://127.0.0.1:{port}" + (f", mqtts://127.0.0.1:{tls_port}" if tls_port else "")
        process.start()
        self.infrastructure.append(process)
        process.wait_ready(lambda: port_open("127.0.0.1", port), self.options.start_timeout)

    def _start_influxdb(self) -> None:
        binary = influxd_binary()
        if not _wanted(self.options.influx, binary is not None, "InfluxDB", "apt-get install influxdb"):
            return
        assert binary is not None
        port = self.options.influx_port
        _require_free(port, "InfluxDB", "--influx-port")
        folder = self.options.data_dir / "influxdb"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        conf = folder / "influxdb.conf"
        _private(conf).write_text(render_influxdb_conf(port=port, rpc_port=free_port(), data_dir=folder))
        process = ManagedProcess("influxdb", [binary, "-config", str(conf)], self._log("influxdb"))
        process.address = f"http://127.0.0.1:{port}"
        process.start()
        self.infrastructure.append(process)
        process.wait_ready(InfluxClient(InfluxSettings(url=process.address)).ping, self.options.start_timeout)
        assert self.secrets is not None
        try:
            admin = influx_auth.ensure_users(process.address, DATABASE, self.secrets)
            retention.apply(admin, retention.RetentionSettings())
        except InfluxError as exc:
            raise StartError(f"cannot prepare InfluxDB: {exc}") from None
        self.influx_url = process.address
        self._start_ingest()

    def _start_ingest(self) -> None:
        assert self.influx_url is not None
        ingest = ManagedProcess(
            "ingest",
            [sys.executable, "-m", "labdcs", "ingest"],
            self._log("ingest"),
            env={
                **self._mqtt_env("ingest"),
                **self._influx_env(influx_auth.WRITER),
                "LABDCS_APPLY_RETENTION": "false",  # done above, as the admin
                "LABDCS_SPOOL_DIR": str(self.options.data_dir / "ingest"),
            },
            stop_timeout=20.0,
        )
        ingest.address = f"{self.influx_url} <- labdcs/v1/#"
        ingest.start()
        self.infrastructure.append(ingest)

    def _influx_env(self, user: str) -> dict[str, str]:
        assert self.influx_url is not None and self.secrets is not None
        return {
            "LABDCS_INFLUX__URL": self.influx_url,
            "LABDCS_INFLUX__DATABASE": DATABASE,
            "LABDCS_INFLUX__USERNAME": user,
            "LABDCS_INFLUX__PASSWORD_FILE": str(self.secrets.require(f"influxdb/{user}")),
        }

    def _start_nodered(self) -> None:
        """Node-RED with nodered/settings.js and flows, on the stack's broker; its logins (and the
        credential secret) are generated at the first start into <secrets dir>/nodered."""
        if not _wanted(self.options.nodered, nodered.installed(), "Node-RED", "npm ci in nodered/"):
            return
        port = self.options.nodered_port
        _require_free(port, "Node-RED", "--nodered-port")
        secrets_dir = self.secrets_dir / "nodered"
        manager = self.options.experiments_port
        self.nodered_logins = nodered.logins(secrets_dir)
        self.nodered_first_start = any(
            login.password_file is not None and not login.password_file.exists()
            for login in self.nodered_logins
        )
        process = ManagedProcess(
            "nodered",
            nodered.command(user_dir=self.options.data_dir / "nodered", port=port),
            self._log("nodered"),
            env=nodered.environment(
                mqtt=self.mqtt_for("nodered"),
                secrets_dir=secrets_dir,
                # The manager's people log in to Node-RED too (settings.js asks it at each new login).
                identity_url=None if manager is None else f"http://127.0.0.1:{manager}",
            ),
        )
        process.address = f"http://127.0.0.1:{port}"
        process.start()
        self.infrastructure.append(process)
        self._nodered = process

    def _wait_nodered(self) -> None:
        if self._nodered is None:
            return
        url = self._nodered.address
        # Node-RED loads its palette before it listens: allow more than the other services.
        self._nodered.wait_ready(lambda: nodered.ready(url), max(self.options.start_timeout, 60.0))
        self.nodered_url = url

    def experiments_login_env(self) -> dict[str, str]:
        """The experiments manager's logins as password files (``labdcs init`` made them)."""
        assert self.secrets is not None
        return {
            "LABDCS_AUTH__ADMIN_PASSWORD_FILE": str(self.secrets.require("experiments/admin")),
            "LABDCS_AUTH__VIEWER_PASSWORD_FILE": str(self.secrets.require("experiments/viewer")),
        }

    def _start_experiments(self) -> None:
        """``labdcs experiments serve`` with its embedded database (montydb/SQLite) in the data dir."""
        port = self.options.experiments_port
        if port is None:
            return
        _require_free(port, "the experiments manager", "--experiments-port")
        env = {
            **self._mqtt_env("experiments"),
            "LABDCS_HTTP_PORT": str(port),
            "LABDCS_DATABASE_URL": f"montydb://{self.options.data_dir / 'experiments' / 'db'}",
            "LABDCS_WORK_DIR": str(self.options.data_dir / "experiments" / "work"),
            **self.experiments_login_env(),
        }
        if self.influx_url:
            env.update(self._influx_env(influx_auth.EXPERIMENTS))
        if self.options.dummy and "LABDCS_STATION_ENVIRONMENT" not in os.environ:
            # The dummy lab's one climate sensor is the battery station's area (docs/experiments.md).
            env["LABDCS_STATION_ENVIRONMENT"] = '{"station1": ["env1/box"]}'
        process = ManagedProcess(
            "experiments",
            [sys.executable, "-m", "labdcs", "experiments", "serve"],
            self._log("experiments"),
            env=env,
            stop_timeout=15.0,
        )
        process.address = f"http://127.0.0.1:{port}/"
        process.start()
        self.infrastructure.append(process)
        process.wait_ready(lambda: port_open("127.0.0.1", port), self.options.start_timeout)
        self.experiments_url = process.address

    def _device_configs(self) -> list[Path]:
        folders = []
        if self.options.dummy:
            folders.append(dummy_devices_dir())
        if self.options.devices_dir is not None:
            folders.append(self.options.devices_dir)
        return [path for folder in folders for path in sorted(folder.glob("*.yaml"))]

    def _start_devices(self) -> None:
        for path in self._device_configs():
            try:
                config = load_device_config(path)
            except ConfigError as exc:
                raise StartError(f"invalid device configuration: {exc}") from None
            env = self._mqtt_env(config.device)
            simulator = None
            if (
                self.options.dummy
                and path.parent == dummy_devices_dir()
                and config.driver.name in SCPI_SIMULATED
            ):
                simulator = self._start_simulator(config)
                env["LABDCS_DRIVER__RESOURCE"] = (
                    f"TCPIP::127.0.0.1::{simulator.address.rsplit(':', 1)[1]}::SOCKET"
                )
            process = ManagedProcess(
                config.device,
                [sys.executable, "-m", "labdcs", "device", "run", "--config", str(path)],
                self._log(config.device),
                env=env,
                stop_timeout=config.exit_timeout_s + 10,
            )
            process.address = f"labdcs/v1/{config.device}"
            process.start()
            self.devices.append(_Device(config, path, process, simulator))
        self._wait_online(self.devices)

    def _wait_online(self, services: list[_Device]) -> None:
        if not services:
            return
        missing = wait_online(self.mqtt, [s.name for s in services], timeout=self.options.start_timeout)
        if missing:
            logs = [f"--- {s.name} ---\n{s.process.log_file}" for s in services if s.name in missing]
            details = "\n".join(logs)
            raise StartError(
                f"not online within {self.options.start_timeout:g} s: "
                f"{', '.join(missing)}; see their logs:\n{details}"
            )

    def _start_interlock(self) -> None:
        """After the devices, so its first evaluation sees every input (no start-up grace needed)."""
        path = self.options.interlock
        if path is None and self.options.dummy:
            path = dummy_interlock_file()
        if path is None:
            return
        try:
            config = InterlockConfig.load(path)
        except ConfigError as exc:
            raise StartError(f"invalid interlock rules: {exc}") from None
        if config.device != INTERLOCK_USER:
            raise StartError(
                f"{path}: the interlock's device id must be {INTERLOCK_USER!r}, its broker user "
                "(the ACL lets it command and every device read its rule states; docs/security.md)"
            )
        env = self._mqtt_env(INTERLOCK_USER)
        process = ManagedProcess(
            config.device,
            [sys.executable, "-m", "labdcs", "interlock", "run", "--config", str(path)],
            self._log(config.device),
            env=env,
        )
        process.address = f"labdcs/v1/{config.device}"
        process.start()
        self.interlock = _Device(config, path, process)
        self._wait_online([self.interlock])

    def _start_simulator(self, config: DeviceConfig | CyclerConfig) -> ManagedProcess:
        port = free_port()
        name = f"sim-{config.device}"
        process = ManagedProcess(
            name,
            [
                sys.executable,
                "-m",
                "labdcs",
                "sim",
                "scpi",
                "--model",
                config.driver.name,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            self._log(name),
        )
        process.address = f"tcp://127.0.0.1:{port}"
        process.start()
        self.infrastructure.append(process)
        process.wait_ready(lambda: port_open("127.0.0.1", port), self.options.start_timeout)
        return process

    # --- run --------------------------------------------------------------------------------------

    def supervise(self) -> None:
        """Block until asked to stop; restart a device service that died, with a growing delay."""
        while not self._stopping.wait(0.5):
            for process in self.infrastructure:
                if not process.alive():
                    log.error(
                        "%s exited (code %s); stopping the stack",
                        process.name,
                        process.popen.returncode if process.popen else None,
                    )
                    return
            now = time.monotonic()
            for device in self._services():
                if device.process.alive():
                    continue
                if device.next_restart == 0.0:
                    delay = min(30.0, 2.0**device.restarts)
                    device.next_restart = now + delay
                    log.error(
                        "%s exited (code %s); restarting in %.0f s",
                        device.name,
                        device.process.popen.returncode if device.process.popen else None,
                        delay,
                    )
                elif now >= device.next_restart:
                    device.restarts += 1
                    device.next_restart = 0.0
                    device.process.start()

    def _services(self) -> list[_Device]:
        return [*self.devices, *([self.interlock] if self.interlock else [])]

    def request_stop(self) -> None:
        self._stopping.set()

    def stop(self) -> None:
        """Devices first (they may ramp down), in parallel; the interlock, which protects them while
        they do; then the rest (simulators, Node-RED, ingest, InfluxDB, broker) in reverse start order."""
        self._stopping.set()
        for device in self.devices:
            device.process.terminate()  # all at once: they ramp down in parallel
        for device in self.devices:
            device.process.stop()
        if self.interlock is not None:
            self.interlock.process.stop()
        for process in reversed(self.infrastructure):
            process.stop()
        if self._lock is not None:
            state.remove(self.options.data_dir, os.getpid())
            self._lock.release()
            self._lock = None
