"""The long-running processes of the stack: device services, the ingester, simulated instruments,
the interlock service, and the containers' health check."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from labdcs import logs
from labdcs.cli.signals import stop_on_signals


@click.group()
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
    _skip_dnspython()
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
    stop_on_signals(service.stop)
    service.run()


def _skip_dnspython() -> None:
    """Keep paho from importing dnspython in a device service (~5 MB of private memory per process).

    paho imports ``dns.resolver`` only for ``connect_srv`` (DNS SRV lookup of the broker), which no
    device service uses: it connects to the configured host. A ``None`` entry makes that optional
    import fail as if dnspython were not installed; nothing else in a device service imports it.
    """
    if "dns" not in sys.modules:
        sys.modules["dns"] = None  # type: ignore[assignment]


# --- ingest ---------------------------------------------------------------------------------------


@click.command()
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
    from labdcs.ingest.spool import SpoolInUse

    try:
        settings = IngestSettings.load(config_path)
    except ValueError as exc:
        raise click.ClickException(f"configuration error: {exc}") from None
    logs.configure(settings.log_level)
    try:
        ingester = Ingester(settings)
    except SpoolInUse as exc:
        raise click.ClickException(str(exc)) from None
    stop_on_signals(ingester.stop)
    ingester.run()


# --- simulators ---------------------------------------------------------------------------------


@click.group()
def sim() -> None:
    """Simulated instruments (the dummy twins of real hardware)."""


@sim.command("scpi", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def sim_scpi(ctx: click.Context) -> None:
    """Serve a simulated SCPI instrument over TCP (options: see --help of the simulator)."""
    from labdcs_dummy.scpi_server import main as serve

    sys.exit(serve(list(ctx.args)))


# --- interlock ----------------------------------------------------------------------------------


@click.group()
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
    stop_on_signals(service.stop)
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


@click.command()
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
