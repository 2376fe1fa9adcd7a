"""What ``labdcs up`` prints once the stack is up: where each service is, which login to use and
the file holding its password. A password is never printed, not even at the first start: the
terminal's scroll-back, a shared screen or a pasted log must not hold one; ``cat <file>`` shows it
to whoever is allowed to read the file (mode 0600)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from labdcs.nodered.runtime import DASHBOARD_PATH, ROLES
from labdcs.stack.runner import Stack
from labdcs.stack.state import STATE_FILE, default_data_dir

DEFAULT_MQTT_PORT = 1883


@dataclass(frozen=True)
class Access:
    service: str
    address: str
    login: str
    password: str
    """How to read the password (``cat <file>``), never the password."""


def shown(path: Path, cwd: Path | None = None) -> str:
    """A path as a person types it here: relative below the current folder, else absolute; quoted
    for the shell when it needs to be."""
    here = (cwd or Path.cwd()).resolve()
    path = path.resolve()
    text = str(path.relative_to(here)) if path.is_relative_to(here) else str(path)
    return shlex.quote(text)


def read_with(path: Path, cwd: Path | None = None) -> str:
    return f"cat {shown(path, cwd)}"


def mosquitto_sub(password_file: Path, port: int, cwd: Path | None = None) -> str:
    """The raw contract with Mosquitto's client, logged in as ``cli`` (the password from its file
    by the shell, so it is never on screen)."""
    option = "" if port == DEFAULT_MQTT_PORT else f" -p {port}"
    return f"mosquitto_sub -u cli -P \"$(cat {shown(password_file, cwd)})\"{option} -v -t 'labdcs/v1/#'"


def accesses(stack: Stack, cwd: Path | None = None) -> list[Access]:
    """One row per login of every service that runs."""
    assert stack.secrets is not None
    store = stack.secrets
    tls = f", mqtts://127.0.0.1:{stack.options.mqtt_tls_port}" if stack.options.mqtt_tls_port else ""
    rows = [
        Access(
            "MQTT",
            f"mqtt://127.0.0.1:{stack.options.mqtt_port}{tls}",
            "cli",
            read_with(store.path("mqtt/cli"), cwd),
        )
    ]
    if stack.influx_url:
        rows.append(
            Access(
                "InfluxDB",
                f"{stack.influx_url}  (database 'labdcs')",
                "reader",
                read_with(store.path("influxdb/reader"), cwd),
            )
        )
    if stack.nodered_url:
        pages = {
            "admin": ("Node-RED", "/   (flow editor)"),
            "operator": ("", f"{DASHBOARD_PATH}   (control dashboard)"),
        }
        for login in stack.nodered_logins:
            label, page = pages.get(login.role, ("Node-RED", "/"))
            password = (
                read_with(login.password_file, cwd)
                if login.password_file is not None
                else f"your own, {ROLES[login.role]}_PASSWORD_HASH"
            )
            rows.append(Access(label, f"{stack.nodered_url}{page}", login.user, password))
    if stack.experiments_url:
        for index, user in enumerate(("admin", "viewer")):
            address = f"{stack.experiments_url}   (API: /docs)" if index == 0 else ""
            label = "Experiments" if index == 0 else ""
            rows.append(Access(label, address, user, read_with(store.path(f"experiments/{user}"), cwd)))
    return rows


def process_table(stack: Stack) -> list[str]:
    """Every process the stack runs: name, pid, address, log file."""
    rows = [("service", "pid", "address", "log")]
    for process in [*stack.infrastructure, *(d.process for d in stack.devices)]:
        rows.append((process.name, str(process.pid or "-"), process.address, str(process.log_file)))
    if stack.interlock is not None:
        process = stack.interlock.process
        rows.append((process.name, str(process.pid or "-"), process.address, str(process.log_file)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def summary(stack: Stack, cwd: Path | None = None) -> list[str]:
    """The lines after the process table: logins, how the operators' commands find this stack, the
    raw contract, and how to stop."""
    rows = accesses(stack, cwd)
    header = Access("service", "address", "login", "password (never printed; read it with)")
    widths = [max(len(getattr(row, f)) for row in [header, *rows]) for f in ("service", "address", "login")]
    lines = []
    for row in [header, *rows]:
        cells = [row.service.ljust(widths[0]), row.address.ljust(widths[1]), row.login.ljust(widths[2])]
        lines.append("  ".join([*cells, row.password]).rstrip())
    data_dir = stack.options.data_dir
    state_file = data_dir / STATE_FILE
    where = (
        "from this folder"
        if data_dir == (cwd or Path.cwd()).joinpath(default_data_dir()).resolve()
        else f"with LABDCS_DATA_DIR={shown(data_dir, cwd)}"
    )
    assert stack.secrets is not None
    lines += [
        "",
        f"labdcs status, labdcs cmd and labdcs alarm use this stack {where} ({shown(state_file, cwd)}).",
        "The raw contract: " + mosquitto_sub(stack.secrets.path("mqtt/cli"), stack.options.mqtt_port, cwd),
    ]
    return lines
