"""Running the stack: ``init`` (the secrets) and ``up`` (every service as a local process)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from labdcs import logs
from labdcs.cli.signals import stop_on_signals

secrets_dir_option = click.option(
    "--secrets-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the stack's secrets are (default: LABDCS_SECRETS_DIR or ./secrets; keep it out of git)",
)


def _secrets_dir(option: Path | None) -> Path:
    from labdcs.security.secrets import default_dir

    return option.resolve() if option else default_dir()


@click.command()
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


@click.command()
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
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Broker and database data, logs, stack.json (default: LABDCS_DATA_DIR or ./.labdcs)",
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
    data_dir: Path | None,
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
    from labdcs.cli import access
    from labdcs.stack.processes import StartError
    from labdcs.stack.runner import Stack, StackOptions
    from labdcs.stack.state import default_data_dir

    logs.configure("INFO")
    options = StackOptions(
        data_dir=(data_dir or default_data_dir()).resolve(),
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
    stop_on_signals(stack.request_stop)
    started = time.monotonic()
    try:
        stack.start()
    except StartError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"\nlabdcs stack up in {time.monotonic() - started:.1f} s:\n")
    for line in access.process_table(stack):
        click.echo(line)
    if stack.secrets_created:
        click.echo(
            f"\nFirst start: generated {len(stack.secrets_created)} secrets into {stack.secrets_dir}"
            " (mode 0700; docs/security.md)."
        )
    click.echo("")
    for line in access.summary(stack):
        click.echo(line)
    click.echo(f"\nPress Ctrl-C to stop (or, from another terminal: kill {os.getpid()}).")
    sys.stdout.flush()
    try:
        stack.supervise()
    finally:
        click.echo("stopping ...")
        stack.stop()
        click.echo("stopped.")
