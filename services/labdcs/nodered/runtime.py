"""How to run Node-RED with the project's settings and flows: the command, its environment, the
logins ``nodered/settings.js`` generates at the first start, and a readiness probe."""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from labdcs.settings import MqttSettings
from labdcs.stack.paths import project_root

#: Roles of the logins settings.js knows, with the environment prefix that configures each.
ROLES = {"admin": "NODERED_ADMIN", "operator": "NODERED_OPERATOR"}
DASHBOARD_PATH = "/dashboard/control"


def nodered_dir() -> Path:
    return project_root() / "nodered"


def red_js() -> Path | None:
    """Node-RED's start script as installed by ``scripts/setup`` (``npm ci`` in nodered/)."""
    script = nodered_dir() / "node_modules" / "node-red" / "red.js"
    return script if script.is_file() else None


def node_binary() -> str | None:
    return shutil.which("node")


def installed() -> bool:
    return red_js() is not None and node_binary() is not None


def command(*, user_dir: Path, port: int) -> list[str]:
    script, node = red_js(), node_binary()
    if script is None or node is None:
        raise FileNotFoundError("Node-RED is not installed: run scripts/setup (npm ci in nodered/)")
    settings = nodered_dir() / "settings.js"
    return [node, str(script), "--settings", str(settings), "--userDir", str(user_dir), "--port", str(port)]


def environment(*, mqtt: MqttSettings, secrets_dir: Path, identity_url: str | None = None) -> dict[str, str]:
    """What settings.js reads: the broker (the project's LABDCS_MQTT__* names), where the
    generated secrets go and the experiments manager whose people log in (``identity_url``). Logins
    and the credential secret already in the environment win, and so does NODERED_HOST (loopback
    unless set, e.g. to 0.0.0.0 for a trusted bench network)."""
    env = {
        "LABDCS_MQTT__HOST": mqtt.host,
        "LABDCS_MQTT__PORT": str(mqtt.port),
        "NODERED_SECRETS_DIR": str(secrets_dir),
        "NODERED_HOST": os.environ.get("NODERED_HOST", "127.0.0.1"),
    }
    if identity_url is not None:
        env["LABDCS_IDENTITY_URL"] = identity_url
    if mqtt.username is not None:
        env["LABDCS_MQTT__USERNAME"] = mqtt.username
    if mqtt.password_file is not None:
        env["LABDCS_MQTT__PASSWORD_FILE"] = str(mqtt.password_file)
    elif mqtt.password is not None:
        env["LABDCS_MQTT__PASSWORD"] = mqtt.password.get_secret_value()
    return env


@dataclass(frozen=True)
class Login:
    role: str
    user: str
    password_file: Path | None
    """Where the generated password is kept; None when the hash comes from the environment."""

    def password(self) -> str | None:
        if self.password_file is None or not self.password_file.is_file():
            return None
        return self.password_file.read_text(encoding="utf-8").rstrip("\r\n")


def logins(secrets_dir: Path, environ: dict[str, str] | None = None) -> list[Login]:
    """The editor (admin) and dashboard (operator) logins a Node-RED started with ``secrets_dir`` has."""
    environ = dict(os.environ) if environ is None else environ
    found = []
    for role, prefix in ROLES.items():
        configured = f"{prefix}_PASSWORD_HASH" in environ or f"{prefix}_PASSWORD_HASH_FILE" in environ
        found.append(
            Login(
                role=role,
                user=environ.get(f"{prefix}_USER", role),
                password_file=None if configured else secrets_dir / f"{role}-password",
            )
        )
    return found


def ready(url: str, timeout: float = 2.0) -> bool:
    """Node-RED's HTTP server answers: ``/auth/login`` is public and says which login it wants."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/auth/login", timeout=timeout) as response:
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return isinstance(body, dict) and body.get("type") == "credentials"
