"""Where the project's configuration folders are, for a source checkout or an installed package."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import labdcs


def project_root() -> Path:
    """The checkout holding ``mosquitto/``, ``dummy/`` etc. (``LABDCS_HOME`` overrides)."""
    configured = os.environ.get("LABDCS_HOME")
    if configured:
        return Path(configured).resolve()
    source = Path(labdcs.__file__).resolve().parents[2]
    if (source / "mosquitto" / "mosquitto.conf").is_file():
        return source
    cwd = Path.cwd()
    for candidate in (cwd, *cwd.parents):
        if (candidate / "mosquitto" / "mosquitto.conf").is_file():
            return candidate
    raise FileNotFoundError(
        "cannot find the labdcs project folder (with mosquitto/mosquitto.conf); "
        "run from a checkout or set LABDCS_HOME"
    )


def dummy_devices_dir() -> Path:
    return project_root() / "dummy" / "devices"


def dummy_interlock_file() -> Path:
    return project_root() / "dummy" / "interlock.yaml"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def device_ids(folder: Path) -> list[str]:
    """The device ids of the configurations (``*.yaml``) in a folder (broker users of `labdcs init`)."""
    import yaml

    ids = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("device"), str):
            ids.append(data["device"])
    return ids
