"""The ``labdcs`` command: one entry point for every service and tool of the stack.

One module per job: ``services`` (the long-running processes), ``stack`` (``init``, ``up``),
``operate`` (the operators' ``status``, ``cmd``, ``alarm``), ``experiments``, ``users`` (the
manager's people, teams and tokens) and ``generate``.
"""

from __future__ import annotations

import click

from labdcs import __version__
from labdcs.cli import experiments, generate, operate, services, stack, users


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """labdcs: slow control and telemetry for laboratory test benches."""


@cli.command()
def version() -> None:
    """Print the labdcs version and the contract version."""
    from labdcs.contract.models import CONTRACT

    click.echo(f"labdcs {__version__} (contract {CONTRACT})")


for command in (
    services.device,
    services.ingest,
    services.sim,
    services.interlock,
    services.healthcheck,
    experiments.experiments,
    experiments.harvest,
    stack.init,
    stack.up,
    operate.status,
    operate.cmd,
    operate.alarm,
    generate.gen,
    users.users,
):
    cli.add_command(command)


def main() -> None:
    cli()
