"""Files generated from the code and committed (``labdcs gen``; a test checks they are current)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
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


@gen.command("nats")
def gen_nats() -> None:
    """The compose profile's nats-server configurations (nats/), the clustered broker."""
    from labdcs.cluster import nats

    for name, text in nats.render_compose_confs().items():
        _write_generated(None, f"nats/{name}", text)


@gen.command("nats-logins")
def gen_nats_logins() -> None:
    """The clustered broker's logins and permissions (<secrets>/nats/authorization.conf) from the
    broker logins of `labdcs init` (LABDCS_SECRETS_DIR, default ./secrets); bcrypt hashes only."""
    from labdcs.cluster import nats
    from labdcs.security import secrets

    path = nats.write_logins(secrets.SecretsDir(secrets.default_dir()))
    click.echo(f"wrote {path}")


def _write_generated(output: Path | None, default: str, text: str) -> None:
    from labdcs.stack.paths import project_root

    target = output or project_root() / default
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}")


@gen.command("manager-api")
def gen_manager_api() -> None:
    """docs/openapi.json and the typed client generated from it (labdcs.manager_api)."""
    from labdcs.experiments.client_gen import DOCUMENT, PACKAGE, GenerationError, generate
    from labdcs.stack.paths import project_root

    try:
        generate(project_root())
    except GenerationError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {project_root() / DOCUMENT} and {project_root() / PACKAGE}")


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
