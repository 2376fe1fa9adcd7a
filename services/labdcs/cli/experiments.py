"""The battery experiments manager (``experiments serve``) and the data-file harvester."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from labdcs import logs
from labdcs.cli.signals import stop_on_signals
from labdcs.contract.codec import describe_validation_error


def _experiments_settings(**overrides: Any) -> Any:
    from labdcs.experiments.settings import ExperimentsSettings

    try:
        settings = ExperimentsSettings()
    except ValidationError as exc:
        raise click.ClickException(f"settings: {describe_validation_error(exc)}") from None
    return settings.model_copy(update={k: v for k, v in overrides.items() if v is not None})


@click.group()
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


@click.command()
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
@click.option(
    "--manager",
    "manager_url",
    default=None,
    help="Upload to the experiments manager at this URL with a token (LABDCS_TOKEN_FILE or --token-file) "
    "instead of writing the database",
)
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The harvester's token",
)
@click.option(
    "--live/--no-live",
    default=True,
    show_default=True,
    help="Import a file that grows while watched as it grows (the experiment running); else wait",
)
def harvest(
    folders: tuple[Path, ...],
    stable: float,
    interval: float,
    cell: str | None,
    database_url: str | None,
    once: bool,
    manager_url: str | None,
    token_file: Path | None,
    live: bool,
) -> None:
    """Import the data files cyclers write into folders: each once it has stopped growing, or, while
    it grows (--live, writing the database), its new rows as they arrive."""
    from labdcs.experiments.harvester import Harvester
    from labdcs.experiments.manager_client import ManagerError, find_manager
    from labdcs.experiments.series import ExperimentSeries
    from labdcs.ingest.influx import InfluxClient

    settings = _experiments_settings(database_url=database_url)
    logs.configure(settings.log_level)
    store = None
    if manager_url is not None or token_file is not None:
        try:
            manager = find_manager(manager_url, token_file, admin=False)
        except ManagerError as exc:
            raise click.ClickException(str(exc)) from None
        harvester = Harvester(None, None, list(folders), stable_s=stable, interval=interval, cell=cell,
                              manager=manager)  # fmt: skip
    else:
        store = settings.open_store()
        store.prepare()
        harvester = Harvester(
            store, ExperimentSeries(InfluxClient(settings.influx)), list(folders), stable_s=stable,
            interval=interval, cell=cell, live=live,
        )  # fmt: skip
    stop_on_signals(harvester.stop)
    try:
        if once:
            deadline = time.monotonic() + stable + 2 * interval
            while time.monotonic() < deadline:
                harvester.scan()
                time.sleep(min(interval, 0.5))
            click.echo(
                f"imported {harvester.imported}, failed {harvester.failed}, skipped {harvester.skipped}"
            )
        else:
            harvester.run()
    finally:
        if store is not None:
            store.close()
