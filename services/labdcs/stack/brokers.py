"""Native Mosquitto and InfluxDB: configurations rendered from the project's own files."""

from __future__ import annotations

import getpass
import hashlib
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from labdcs.contract.limits import KIB, MAX_MESSAGE_BYTES
from labdcs.stack.processes import StartError

#: Room for the topic and the MQTT header in a packet carrying the largest message.
PACKET_OVERHEAD = 64 * KIB


def size_limits() -> dict[str, int]:
    """The broker's size settings, derived from the contract (mosquitto.conf carries these figures;
    tests/faults/test_broker_limits.py checks they agree)."""
    return {"max_packet_size": MAX_MESSAGE_BYTES + PACKET_OVERHEAD, "message_size_limit": MAX_MESSAGE_BYTES}


_NATIVE_KEYS = ("listener", "persistence_location", "log_dest", "user")
_TLS_LISTENER_KEYS = ("certfile", "keyfile", "cafile", "capath", "require_certificate", "tls_version")
TLS_PORT = "8883"
#: The broker plugin that gives each client id of the form ``<user>:...`` to its user alone
#: (``mosquitto/plugin/labdcs_clientid.c``); where the compose image has it.
CLIENTID_PLUGIN = "/usr/lib/labdcs_clientid.so"
_PLUGIN_SOURCE = Path("plugin") / "labdcs_clientid.c"
_SETUP_HINT = "run scripts/setup (apt-get install gcc mosquitto-dev)"


def clientid_plugin(source: Path, cache: Path | None = None) -> Path:
    """The client-id plugin built for this machine from ``source`` (once per version of the source,
    in ``~/.cache/labdcs``): the native broker loads the same code as the compose image."""
    code = source.read_bytes()
    folder = cache or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "labdcs"
    built = folder / f"labdcs_clientid-{hashlib.sha256(code).hexdigest()[:16]}.so"
    if built.is_file():
        return built
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None or not Path("/usr/include/mosquitto_plugin.h").is_file():
        raise StartError(
            f"cannot build the broker's client-id plugin (no C compiler or headers): {_SETUP_HINT}"
        )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = built.with_name(f".{built.name}.{os.getpid()}")
    result = subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-Wall", "-o", str(partial), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StartError(f"building {source} failed ({_SETUP_HINT}):\n{result.stderr.strip()}")
    os.replace(partial, built)
    return built


def render_mosquitto_conf(
    template: Path,
    *,
    port: int,
    data_dir: Path,
    secrets: Mapping[str, Path],
    tls_port: int | None = None,
    bind: str = "127.0.0.1",
) -> str:
    """The project's ``mosquitto.conf`` with ports, bind address, paths and user made local.

    ``secrets`` maps the Docker secret paths (``/run/secrets/...``) to local files (see
    :meth:`labdcs.security.secrets.SecretsDir.native_paths`); the TLS listener is left out when
    ``tls_port`` is None. Every other line is kept, so the native broker runs the compose settings.
    """
    out: list[str] = [f"# Rendered by labdcs from {template}; edit that file, not this one."]
    in_tls_listener = False
    for line in template.read_text(encoding="utf-8").splitlines():
        words = line.split() if line.strip() and not line.lstrip().startswith("#") else []
        key = words[0] if words else ""
        if key == "listener":
            in_tls_listener = words[1:2] == [TLS_PORT]
            if in_tls_listener and tls_port is None:
                continue
            out.append(f"listener {tls_port if in_tls_listener else port} {bind}")
            continue
        if in_tls_listener and tls_port is None and key in _TLS_LISTENER_KEYS:
            continue
        if words == ["plugin", CLIENTID_PLUGIN]:
            out.append(f"plugin {clientid_plugin(template.parent / _PLUGIN_SOURCE)}")
        elif len(words) == 2 and words[1].startswith("/run/secrets/"):
            if words[1] not in secrets:
                raise ValueError(f"{template}: no local file for {words[1]}")
            out.append(f"{key} {secrets[words[1]]}")
        elif key not in _NATIVE_KEYS:
            out.append(line)
        elif key == "persistence_location":
            out.append(f"persistence_location {data_dir}/")
        elif key == "log_dest":
            out.append("log_dest stdout")
    # Mosquitto drops root privileges to user "mosquitto", which could not write our data folder.
    out.append(f"user {getpass.getuser()}")
    return "\n".join(out) + "\n"


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).is_file()), None
    )


def influxd_binary() -> str | None:
    return shutil.which("influxd")


def render_influxdb_conf(*, port: int, rpc_port: int, data_dir: Path) -> str:
    """An InfluxDB 1.x configuration keeping everything under ``data_dir`` and on loopback only,
    with authentication on (users: :mod:`labdcs.security.influx`)."""
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
  auth-enabled = true

[monitor]
  store-enabled = false
"""
