"""Native Mosquitto and InfluxDB: configurations rendered from the project's own files."""

from __future__ import annotations

import getpass
import shutil
from pathlib import Path

_NATIVE_KEYS = ("listener", "persistence_location", "log_dest", "user")


def render_mosquitto_conf(template: Path, *, port: int, data_dir: Path, bind: str = "127.0.0.1") -> str:
    """The project's ``mosquitto.conf`` with port, bind address, paths and user made local.

    Every other line is kept, so the native broker runs the compose stack's settings.
    """
    out: list[str] = [f"# Rendered by labdcs from {template}; edit that file, not this one."]
    listener_written = False
    for line in template.read_text(encoding="utf-8").splitlines():
        key = line.split(maxsplit=1)[0] if line.strip() and not line.lstrip().startswith("#") else ""
        if key not in _NATIVE_KEYS:
            out.append(line)
            continue
        if key == "persistence_location":
            out.append(f"persistence_location {data_dir}/")
        elif key == "log_dest":
            out.append("log_dest stdout")
        elif key == "listener" and not listener_written:
            out.append(f"listener {port} {bind}")
            listener_written = True
    # Mosquitto drops root privileges to user "mosquitto", which could not write our data folder.
    out.append(f"user {getpass.getuser()}")
    if not listener_written:
        out.append(f"listener {port} {bind}")
    return "\n".join(out) + "\n"


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).is_file()), None
    )


def influxd_binary() -> str | None:
    return shutil.which("influxd")


def render_influxdb_conf(*, port: int, rpc_port: int, data_dir: Path) -> str:
    """An InfluxDB 1.x configuration keeping everything under ``data_dir`` and on loopback only."""
    return f"""# Rendered by labdcs for a native InfluxDB 1.x.
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{data_dir}/meta"

[data]
  dir = "{data_dir}/data"
  wal-dir = "{data_dir}/wal"
  query-log-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{port}"
  log-enabled = false

[monitor]
  store-enabled = false
"""
