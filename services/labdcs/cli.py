"""The ``labdcs`` command: one entry point for every service and tool of the stack."""

from __future__ import annotations

import getpass
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from labdcs import __version__, logs
from labdcs.contract.codec import describe_validation_error
from labdcs.contract.models import AckResult, PowerChannelState, RuleState, SensorChannelState
from labdcs.settings import MqttSettings

if TYPE_CHECKING:
    from labdcs.nodered.runtime import Login

log = logging.getLogger("labdcs")


class ClientSettings(BaseSettings):
    """Broker settings of command-line clients (``LABDCS_MQTT__HOST`` etc.)."""

    model_config = SettingsConfigDict(env_prefix="LABDCS_", env_nested_delimiter="__", extra="ignore")
    mqtt: MqttSettings = Field(default_factory=MqttSettings)


def _client_mqtt(host: str | None, port: int | None) -> MqttSettings:
    """The environment's broker settings; without a user, the operators' ``cli`` user from the
    secrets folder (``LABDCS_SECRETS_DIR``, default ./secrets) when ``labdcs init`` made one."""
    try:
        settings = ClientSettings().mqtt
    except ValidationError as exc:
        raise click.ClickException(f"MQTT settings: {describe_validation_error(exc)}") from None
    update: dict[str, Any] = {}
    if settings.username is None:
        from labdcs.security.secrets import DEFAULT_DIR, SecretsDir

        store = SecretsDir(Path(os.environ.get("LABDCS_SECRETS_DIR", DEFAULT_DIR)))
        if store.path("mqtt/cli").is_file():
            update["username"] = "cli"
            update["password"] = SecretStr(store.read("mqtt/cli"))
    if host is not None:
        update["host"] = host
    if port is not None:
        update["port"] = port
    return settings.model_copy(update=update)


broker_host = click.option(
    "--host", default=None, help="Broker host (default: LABDCS_MQTT__HOST or localhost)"
)
broker_port = click.option("--port", type=int, default=None, help="Broker port (default: 1883)")


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


command_user = click.option(
    "--user",
    default=_login,
    show_default="your login name",
    help="Who sends the command, for the audit (alarm acknowledgements need it)",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """labdcs: slow control and telemetry for laboratory test benches."""


@cli.command()
def version() -> None:
    """Print the labdcs version and the contract version."""
    from labdcs.contract.models import CONTRACT

    click.echo(f"labdcs {__version__} (contract {CONTRACT})")


# --- device -------------------------------------------------------------------------------------


@cli.group()
def device() -> None:
    """Device services: one process per instrument."""


@device.command("run")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="YAML file")
@click.option(
    "--speed",
    default=None,
    help="Battery stations with a simulated cell: simulated seconds per wall second, or 'max'",
)
def device_run(config_path: Path, speed: str | None) -> None:
    """Run one device service until SIGTERM (a second SIGTERM abandons an exit ramp-down)."""
    from labdcs.devices.cycler.config import ConfigError, CyclerConfig, load_device_config

    overrides = {} if speed is None else {"speed": speed}
    try:
        config = load_device_config(config_path, **overrides)
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    if speed is not None and not isinstance(config, CyclerConfig):
        raise click.ClickException("--speed applies to battery stations (kind: cycler) only")
    logs.configure(config.log_level)
    service: Any
    if isinstance(config, CyclerConfig):
        from labdcs.clock import make_clock
        from labdcs.devices.cycler.service import CyclerService
        from labdcs.drivers.registry import create_source_driver

        clock = make_clock(config.speed)
        try:
            source = create_source_driver(config.driver, clock)
        except (ValueError, TypeError, ValidationError) as exc:
            raise click.ClickException(f"configuration error in {config_path}: driver: {exc}") from None
        service = CyclerService(config, source, clock)
    else:
        from labdcs.devices.service import DeviceService
        from labdcs.drivers.registry import create_driver

        try:
            driver = create_driver(config.driver)
        except (ValueError, ValidationError) as exc:
            raise click.ClickException(f"configuration error in {config_path}: driver: {exc}") from None
        service = DeviceService(config, driver)
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    signal.signal(signal.SIGINT, lambda *_: service.stop())
    service.run()


# --- ingest ---------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML file (optional: every setting can come from LABDCS_* variables)",
)
def ingest(config_path: Path | None) -> None:
    """Write every contract message into InfluxDB (the native alternative to Telegraf)."""
    from labdcs.ingest.service import Ingester, IngestSettings

    try:
        settings = IngestSettings.load(config_path)
    except ValueError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    logs.configure(settings.log_level)
    ingester = Ingester(settings)
    signal.signal(signal.SIGTERM, lambda *_: ingester.stop())
    signal.signal(signal.SIGINT, lambda *_: ingester.stop())
    ingester.run()


# --- simulators ---------------------------------------------------------------------------------


@cli.group()
def sim() -> None:
    """Simulated instruments (the dummy twins of real hardware)."""


@sim.command("scpi", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def sim_scpi(ctx: click.Context) -> None:
    """Serve a simulated SCPI instrument over TCP (options: see --help of the simulator)."""
    from labdcs_dummy.scpi_server import main as serve

    sys.exit(serve(list(ctx.args)))


# --- interlock ----------------------------------------------------------------------------------


@cli.group()
def interlock() -> None:
    """The interlock service: rules over the live contract, heartbeat for the devices' watchdogs."""


def _load_interlock(config_path: Path) -> Any:
    from labdcs.interlock.config import InterlockConfig
    from labdcs.settings import ConfigError

    try:
        return InterlockConfig.load(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None


@interlock.command("run")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="Rules YAML")
def interlock_run(config_path: Path) -> None:
    """Run the interlock service until SIGTERM (dependent devices then go to their safe state)."""
    from labdcs.interlock.service import InterlockService

    config = _load_interlock(config_path)
    logs.configure(config.log_level)
    service = InterlockService(config)
    signal.signal(signal.SIGTERM, lambda *_: service.stop())
    signal.signal(signal.SIGINT, lambda *_: service.stop())
    service.run()


@interlock.command("check")
@click.option("--config", "config_path", type=click.Path(path_type=Path), required=True, help="Rules YAML")
def interlock_check(config_path: Path) -> None:
    """Validate a rules file and list its rules (exit 1 with the reason when it is invalid)."""
    config = _load_interlock(config_path)
    click.echo(f"{config_path}: {len(config.rules)} rules for interlock '{config.device}', valid")
    for rule in config.rules:
        actions = ", ".join(f"{action} {ref}" for ref, action in rule.actions.targets())
        hold = f"; hold {', '.join(rule.actions.hold)}" if rule.actions.hold else ""
        kind = "latching" if rule.latch else "non-latching"
        click.echo(f"  {rule.name:<20} {kind:<13} {len(rule.when)} condition(s) -> {actions}{hold}")


# --- battery experiments ------------------------------------------------------------------------


def _experiments_settings(**overrides: Any) -> Any:
    from labdcs.experiments.settings import ExperimentsSettings

    try:
        settings = ExperimentsSettings()
    except ValidationError as exc:
        raise click.ClickException(f"settings: {describe_validation_error(exc)}") from None
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


@cli.group()
def experiments() -> None:
    """The battery experiments manager: API, web UI and queue (MongoDB or embedded SQLite)."""


@experiments.command("serve")
@click.option(
    "--port", "http_port", type=int, default=None, help="HTTP port (default 8000, LABDCS_HTTP_PORT)"
)
@click.option(
    "--host", "http_host", default=None, help="Listen address (default 127.0.0.1, LABDCS_HTTP_HOST)"
)
@click.option("--database", "database_url", default=None, help="mongodb://... or montydb:///folder")
@click.option("--no-queue", is_flag=True, help="Do not start experiments on stations (API and UI only)")
def experiments_serve(
    http_port: int | None, http_host: str | None, database_url: str | None, no_queue: bool
) -> None:
    """Serve the REST API (/api, /docs) and the web UI, and run the experiment queue."""
    from labdcs.experiments.auth import MissingLogin
    from labdcs.experiments.server import serve

    settings = _experiments_settings(
        http_port=http_port, http_host=http_host, database_url=database_url, queue=False if no_queue else None
    )
    logs.configure(settings.log_level)
    try:
        serve(settings)
    except MissingLogin as exc:
        raise click.ClickException(str(exc)) from None


@cli.command()
@click.option(
    "--watch",
    "folders",
    type=click.Path(path_type=Path, file_okay=False),
    multiple=True,
    required=True,
    help="Folder to watch (repeatable)",
)
@click.option("--stable", type=float, default=10.0, show_default=True, help="s without change before import")
@click.option("--interval", type=float, default=2.0, show_default=True, help="s between scans")
@click.option("--cell", default=None, help="Cell id the imported experiments belong to")
@click.option("--database", "database_url", default=None, help="mongodb://... or montydb:///folder")
@click.option("--once", is_flag=True, help="Scan until every file present is handled, then exit")
def harvest(
    folders: tuple[Path, ...],
    stable: float,
    interval: float,
    cell: str | None,
    database_url: str | None,
    once: bool,
) -> None:
    """Import the data files cyclers write into folders, once each file has stopped growing."""
    from labdcs.experiments.harvester import Harvester
    from labdcs.experiments.series import ExperimentSeries
    from labdcs.ingest.influx import InfluxClient

    settings = _experiments_settings(database_url=database_url)
    logs.configure(settings.log_level)
    store = settings.open_store()
    store.prepare()
    harvester = Harvester(
        store, ExperimentSeries(InfluxClient(settings.influx)), list(folders), stable_s=stable,
        interval=interval, cell=cell,
    )  # fmt: skip
    signal.signal(signal.SIGTERM, lambda *_: harvester.stop())
    signal.signal(signal.SIGINT, lambda *_: harvester.stop())
    try:
        if once:
            deadline = time.monotonic() + stable + 2 * interval
            while time.monotonic() < deadline:
                harvester.scan()
                time.sleep(min(interval, 0.5))
            click.echo(f"imported {harvester.imported}, failed {harvester.failed}")
        else:
            harvester.run()
    finally:
        store.close()


# --- stack --------------------------------------------------------------------------------------


secrets_dir_option = click.option(
    "--secrets-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the stack's secrets are (default: LABDCS_SECRETS_DIR or ./secrets; keep it out of git)",
)


def _secrets_dir(option: Path | None) -> Path:
    from labdcs.security.secrets import DEFAULT_DIR

    return (option or Path(os.environ.get("LABDCS_SECRETS_DIR", DEFAULT_DIR))).resolve()


@cli.command()
@secrets_dir_option
@click.option("--device", "devices", multiple=True, help="A broker user for this device id (repeatable)")
@click.option(
    "--devices",
    "devices_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="A broker user for every device configuration (*.yaml) in this folder",
)
@click.option("--dummy", is_flag=True, help="Broker users for the dummy devices")
@click.option("--host", "hosts", multiple=True, help="Another host name/IP for the server certificates")
@click.option("--rotate", multiple=True, help="Replace this secret (e.g. mqtt/hv1, influxdb/admin, tls)")
@click.option("--client-cert", multiple=True, help="Issue a client certificate with this name (mutual TLS)")
def init(
    secrets_dir: Path | None,
    devices: tuple[str, ...],
    devices_dir: Path | None,
    dummy: bool,
    hosts: tuple[str, ...],
    rotate: tuple[str, ...],
    client_cert: tuple[str, ...],
) -> None:
    """Generate, once, every secret the stack needs (never overwriting one; --rotate replaces)."""
    from labdcs.security import secrets
    from labdcs.stack.paths import device_ids, dummy_devices_dir

    folder = _secrets_dir(secrets_dir)
    ids = list(devices)
    for configs in [*([dummy_devices_dir()] if dummy else []), *([devices_dir] if devices_dir else [])]:
        ids.extend(device_ids(configs))
    try:
        result = secrets.init(folder, devices=ids, rotate=rotate, hosts=hosts)
        issued = [secrets.issue_client_certificate(folder, name) for name in client_cert]
    except (ValueError, secrets.MissingSecret) as exc:
        raise click.ClickException(str(exc)) from None
    for name in result.created:
        click.echo(f"created  {name}")
    for name in result.rotated:
        click.echo(f"rotated  {name}")
    for cert, _ in issued:
        click.echo(f"issued   {cert}")
    if not (result.created or result.rotated or issued):
        click.echo(f"every secret is already in {folder}")
    else:
        click.echo(f"\nsecrets in {folder} (mode 0700; read a password with: cat {folder}/grafana/admin)")
        if result.rotated:
            click.echo("restart the services using a rotated secret (docs/security.md)")


@cli.command()
@click.option("--dummy", is_flag=True, help="Start the simulated instruments and their device services")
@click.option(
    "--devices",
    "devices_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Also run a device service for every *.yaml in this folder",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path(".labdcs"),
    show_default=True,
    help="Broker and database data, logs",
)
@click.option("--mqtt-port", type=int, default=1883, show_default=True)
@click.option("--mqtt-tls-port", type=int, default=8883, show_default=True, help="MQTT over TLS (0: off)")
@secrets_dir_option
@click.option("--influx-port", type=int, default=8086, show_default=True)
@click.option("--no-influx", is_flag=True, help="Do not start InfluxDB even when it is installed")
@click.option("--nodered-port", type=int, default=1880, show_default=True)
@click.option("--no-nodered", is_flag=True, help="Do not start Node-RED even when it is installed")
@click.option(
    "--experiments-port",
    type=int,
    default=8000,
    show_default=True,
    help="Experiments manager (API and web UI)",
)
@click.option("--no-experiments", is_flag=True, help="Do not start the experiments manager")
@click.option(
    "--interlock",
    "interlock_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Run the interlock service with these rules (--dummy: dummy/interlock.yaml)",
)
def up(
    dummy: bool,
    devices_dir: Path | None,
    data_dir: Path,
    mqtt_port: int,
    mqtt_tls_port: int,
    secrets_dir: Path | None,
    influx_port: int,
    no_influx: bool,
    nodered_port: int,
    no_nodered: bool,
    experiments_port: int,
    no_experiments: bool,
    interlock_file: Path | None,
) -> None:
    """Start the stack natively, without Docker; Ctrl-C stops everything cleanly."""
    from labdcs.stack.processes import StartError
    from labdcs.stack.runner import Stack, StackOptions

    logs.configure("INFO")
    options = StackOptions(
        data_dir=data_dir.resolve(),
        dummy=dummy,
        devices_dir=devices_dir,
        mqtt_port=mqtt_port,
        mqtt_tls_port=mqtt_tls_port or None,
        secrets_dir=_secrets_dir(secrets_dir),
        influx_port=influx_port,
        influx=False if no_influx else None,
        nodered_port=nodered_port,
        nodered=False if no_nodered else None,
        experiments_port=None if no_experiments else experiments_port,
        interlock=interlock_file,
    )
    stack = Stack(options)
    signal.signal(signal.SIGTERM, lambda *_: stack.request_stop())
    signal.signal(signal.SIGINT, lambda *_: stack.request_stop())
    started = time.monotonic()
    try:
        stack.start()
    except StartError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"\nlabdcs stack up in {time.monotonic() - started:.1f} s:\n")
    click.echo(stack.summary())
    if stack.secrets_created:
        click.echo(
            f"\nFirst start: generated {len(stack.secrets_created)} secrets into {stack.secrets_dir}"
            " (mode 0700; docs/security.md). Passwords are read from there, never printed."
        )
    click.echo(f"\nMQTT      mqtt://127.0.0.1:{mqtt_port}   (try: labdcs status --port {mqtt_port})")
    if stack.influx_url:
        click.echo(f"InfluxDB  {stack.influx_url}   database 'labdcs'")
    if stack.nodered_url:
        _echo_nodered(stack.nodered_url, stack.nodered_logins, stack.nodered_first_start)
    if options.experiments_port is not None:
        click.echo(
            f"Experiments  http://127.0.0.1:{options.experiments_port}/   (API: /docs)  logins: admin, viewer"
            f"\n          passwords: {stack.secrets_dir / 'experiments'}/admin, .../viewer"
        )
    click.echo("\nPress Ctrl-C to stop.", err=False)
    sys.stdout.flush()
    try:
        stack.supervise()
    finally:
        click.echo("stopping ...")
        stack.stop()
        click.echo("stopped.")


def _echo_nodered(url: str, logins: list[Login], first_start: bool) -> None:
    from labdcs.nodered.runtime import DASHBOARD_PATH

    where = {"admin": f"{url}/   (flow editor)", "operator": f"{url}{DASHBOARD_PATH}   (control dashboard)"}
    for index, login in enumerate(logins):
        label = "Node-RED" if index == 0 else ""
        click.echo(f"{label:<9} {where.get(login.role, url)}  login: {login.user}")
    generated = [(login, login.password_file) for login in logins if login.password_file is not None]
    if first_start and generated:
        click.echo("          First start: passwords generated, shown this once (kept, mode 0600, in")
        click.echo(f"          {generated[0][1].parent}):")
        for login, _ in generated:
            click.echo(f"            {login.user:<10} {login.password()}")
    elif generated:
        for login, file in generated:
            click.echo(f"          password of {login.user}: {file}")


@cli.command()
@broker_host
@broker_port
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output")
@click.option("--timeout", type=float, default=3.0, show_default=True)
def status(host: str | None, port: int | None, as_json: bool, timeout: float) -> None:
    """Show every device: online or offline, and the last state of each channel."""
    devices = _snapshot(host, port, timeout)
    if as_json:
        click.echo(
            json.dumps(
                {
                    name: {
                        "online": snap.online.online if snap.online else None,
                        "meta": snap.meta.model_dump(mode="json") if snap.meta else None,
                        "states": {ch: st.model_dump(mode="json") for ch, st in snap.states.items()},
                        "alarms": {a: alarm.model_dump(mode="json") for a, alarm in snap.alarms.items()},
                    }
                    for name, snap in devices.items()
                },
                indent=2,
            )
        )
        return
    if not devices:
        click.echo("no devices on the broker")
        return
    now = time.time() * 1000
    for name, snap in devices.items():
        online = snap.online is not None and snap.online.online
        label = click.style("online", fg="green") if online else click.style("OFFLINE", fg="red")
        model = snap.meta.model if snap.meta else "?"
        click.echo(f"{name:<10} {label:<7}  {model}")
        for channel, state in sorted(snap.states.items()):
            age = (now - state.ts) / 1000
            click.echo(f"  {channel:<8} {_describe_state(state)}  ({age:.0f} s ago)")
        for alarm in sorted(snap.alarms.values(), key=lambda a: a.raised):
            if alarm.active:
                acknowledged = f" (acknowledged by {alarm.acknowledged_by})" if alarm.acknowledged_by else ""
                click.echo(f"  alarm {alarm.alarm} [{alarm.severity.value}]: {alarm.message}{acknowledged}")


def _snapshot(host: str | None, port: int | None, timeout: float) -> dict[str, Any]:
    """Every device's retained picture, or a clear error when the broker cannot be reached."""
    from labdcs.client import snapshot

    try:
        return dict(snapshot(_client_mqtt(host, port), timeout=timeout))
    except ConnectionError as exc:
        raise click.ClickException(str(exc)) from None


def _describe_state(state: PowerChannelState | SensorChannelState | RuleState) -> str:
    if isinstance(state, PowerChannelState):
        measured = (
            f"{state.v_mon:.4g} V  {state.i_mon:.4g} A"
            if state.v_mon is not None and state.i_mon is not None
            else "no readback"
        )
        setpoint = f"set {state.v_set:.4g} V (target {state.v_target:.4g} V)"
        detail = f"{state.status.value:<8} {setpoint}  {measured}"
        notes = [f"trip: {state.trip}"] if state.trip else []
        notes += [f"inhibited: {state.inhibit}"] if state.inhibit else []
    elif isinstance(state, RuleState):
        detail = f"{state.status.value:<8} {state.reason if state.active else state.detail}"
        notes = ["reset needed"] if state.status == "latched" else []
    else:
        values = "  ".join(f"{k} {v:.4g}" for k, v in state.values.items()) or "no values"
        detail = f"{state.status.value:<8} {values}"
        notes = []
    notes += [f"fault: {state.fault}"] if state.fault else []
    return detail + "".join(f"  {note}" for note in notes)


@cli.command(context_settings={"ignore_unknown_options": True})  # VALUE may be negative: -40
@click.argument("device_id")
@click.argument("channel")
@click.argument("verb")
@click.argument("value", required=False)
@broker_host
@broker_port
@command_user
@click.option("--timeout", type=float, default=5.0, show_default=True)
def cmd(
    device_id: str,
    channel: str,
    verb: str,
    value: str | None,
    host: str | None,
    port: int | None,
    user: str,
    timeout: float,
) -> None:
    """Send a command to a channel and print its ack (exit 1 unless accepted)."""
    from labdcs.client import ContractClient, NoAck

    parsed: float | bool | None = None
    if value is not None:
        lowered = value.lower()
        if lowered in ("true", "false"):
            parsed = lowered == "true"
        else:
            try:
                parsed = float(value)
            except ValueError:
                raise click.BadParameter(
                    f"{value!r} is not a number or true/false", param_hint="VALUE"
                ) from None
    try:
        with ContractClient(_client_mqtt(host, port)) as client:
            ack = client.command(device_id, channel, verb, parsed, timeout=timeout, user=user)
    except (ConnectionError, NoAck) as exc:
        raise click.ClickException(str(exc)) from None
    _report_ack(ack)


def _report_ack(ack: Any) -> None:
    click.echo(f"{ack.result.value}" + (f": {ack.reason}" if ack.reason else ""))
    if ack.result is not AckResult.ACCEPTED:
        sys.exit(1)


@cli.group()
def alarm() -> None:
    """Alarms of every device and service: list them, acknowledge them."""


@alarm.command("list")
@broker_host
@broker_port
@click.option("--all", "show_all", is_flag=True, help="Also the cleared ones (their latest transition)")
@click.option("--timeout", type=float, default=3.0, show_default=True)
def alarm_list(host: str | None, port: int | None, show_all: bool, timeout: float) -> None:
    """Active alarms, oldest first: device, alarm, severity, since when, acknowledged by whom."""
    devices = _snapshot(host, port, timeout)
    alarms = [a for snap in devices.values() for a in snap.alarms.values() if a.active or show_all]
    if not alarms:
        click.echo("no active alarms" if not show_all else "no alarms")
        return
    for item in sorted(alarms, key=lambda a: a.raised):
        raised = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item.raised / 1000))
        state = "ACTIVE " if item.active else "cleared"
        acknowledged = f"  acknowledged by {item.acknowledged_by}" if item.acknowledged_by else ""
        click.echo(
            f"{state} {item.device}/{item.alarm} [{item.severity.value}] since {raised}: {item.message}"
            f"{acknowledged}"
        )


@alarm.command("ack")
@click.argument("device_id")
@click.argument("alarm_id")
@broker_host
@broker_port
@command_user
@click.option("--timeout", type=float, default=5.0, show_default=True)
def alarm_ack(
    device_id: str, alarm_id: str, host: str | None, port: int | None, user: str, timeout: float
) -> None:
    """Acknowledge an alarm (exit 1 unless accepted)."""
    from labdcs.client import ContractClient, NoAck

    try:
        with ContractClient(_client_mqtt(host, port)) as client:
            ack = client.acknowledge_alarm(device_id, alarm_id, user, timeout=timeout)
    except (ConnectionError, NoAck) as exc:
        raise click.ClickException(str(exc)) from None
    _report_ack(ack)


@cli.command()
@click.option("--file", "health_file", type=click.Path(path_type=Path), required=True)
@click.option("--max-age", type=float, default=30.0, show_default=True, help="s")
def healthcheck(health_file: Path, max_age: float) -> None:
    """Exit 0 when the service's health file was touched within --max-age seconds (containers)."""
    try:
        age = time.time() - health_file.stat().st_mtime
    except OSError:
        click.echo(f"unhealthy: {health_file} does not exist", err=True)
        sys.exit(1)
    if age > max_age:
        click.echo(f"unhealthy: last loop {age:.0f} s ago", err=True)
        sys.exit(1)
    click.echo(f"healthy: last loop {age:.1f} s ago")


@cli.group()
def gen() -> None:
    """Generate committed files from the code (a test checks they are current)."""


@gen.command("asyncapi")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Default: docs/asyncapi.yaml in the project",
)
def gen_asyncapi(output: Path | None) -> None:
    """The AsyncAPI document of the MQTT contract."""
    from labdcs.contract import asyncapi

    _write_generated(output, "docs/asyncapi.yaml", asyncapi.render_yaml())


@gen.command("telegraf")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Default: telegraf/telegraf.conf in the project",
)
def gen_telegraf(output: Path | None) -> None:
    """Telegraf's configuration, from the time-series mapping."""
    from labdcs.ingest import telegraf

    _write_generated(output, "telegraf/telegraf.conf", telegraf.render())


@gen.command("influxdb")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="Default: influxdb/init/labdcs.iql in the project",
)
def gen_influxdb(output: Path | None) -> None:
    """InfluxDB's initialisation (database, retention policies, downsampling) for the compose stack."""
    from labdcs.ingest import retention

    _write_generated(output, "influxdb/init/labdcs.iql", retention.render_iql())


@gen.command("grafana")
@click.option(
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder; default: grafana/ in the project",
)
def gen_grafana(output: Path | None) -> None:
    """Grafana's provisioning (InfluxDB data source, dashboard provider) and the dashboards."""
    from labdcs.grafana import provisioning
    from labdcs.stack.paths import project_root

    for relative, text in provisioning.render_all().items():
        _write_generated(output / relative if output else None, f"grafana/{relative}", text)
    for stale in provisioning.stale_dashboards(output or project_root() / "grafana"):
        stale.unlink()
        click.echo(f"removed {stale} (no longer generated)")


def _write_generated(output: Path | None, default: str, text: str) -> None:
    from labdcs.stack.paths import project_root

    target = output or project_root() / default
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}")


@gen.command("nodered-flows")
def gen_nodered_flows() -> None:
    """nodered/flows.json with the code of its provisioned nodes taken from nodered/src/."""
    from labdcs.nodered.flows import FlowsError, generate
    from labdcs.nodered.runtime import nodered_dir

    folder = nodered_dir()
    try:
        changed = generate(folder / "flows.json", folder / "src")
    except FlowsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'wrote' if changed else 'unchanged:'} {folder / 'flows.json'}")


def main() -> None:
    cli()
