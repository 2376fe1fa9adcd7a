"""The secrets folder: what ``labdcs init`` generates once, and how services find it.

Layout (folder 0700, files 0600, outside git)::

    mqtt/<user>                     broker password of each service and each device (user = device id)
    mosquitto/passwd, mosquitto/acl the broker's password file (hashes) and ACL, derived from mqtt/
    influxdb/admin|writer|reader|experiments  InfluxDB users (admin: everything; writer: ingest, Telegraf;
                                    reader: Grafana; experiments: the experiments manager)
    mongodb/root|app                MongoDB root and the experiments manager's user
    grafana/admin|operator|secret-key
    experiments/admin|viewer        the experiments manager's logins (admin writes, viewer reads)
    nodered/                        Node-RED logins and credential secret (nodered/settings.js)
    tls/ca.crt|ca.key               the local CA (when the site brings none)
    tls/broker.crt|.key, tls/gateway.crt|.key   server certificates signed by it

A secret is never overwritten; ``rotate`` replaces named ones. Files a site puts there itself (its
own certificates) are kept as they are. The compose stack mounts the same files as Docker secrets
under the names of :data:`DOCKER_SECRETS`.
"""

from __future__ import annotations

import os
import secrets as random
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from labdcs.security import tls
from labdcs.security.mosquitto import SERVICE_USERS, Role, render_acl, render_password_file

DEFAULT_DIR = Path("secrets")
INIT_HINT = "run `labdcs init` (see docs/security.md)"

#: Passwords (and keys) generated as random text.
PASSWORDS = (
    "influxdb/admin",
    "influxdb/writer",
    "influxdb/reader",
    "influxdb/experiments",
    "mongodb/root",
    "mongodb/app",
    "grafana/admin",
    "grafana/operator",
    "grafana/secret-key",
    "experiments/admin",
    "experiments/viewer",
)
TLS_FILES = (
    "tls/ca.crt",
    "tls/ca.key",
    "tls/broker.crt",
    "tls/broker.key",
    "tls/gateway.crt",
    "tls/gateway.key",
)
SERVERS = ("broker", "gateway")

#: Docker secret name -> file in the secrets folder (docker-compose.yml mounts these).
DOCKER_SECRETS: dict[str, str] = {
    "mosquitto_passwd": "mosquitto/passwd",
    "mosquitto_acl": "mosquitto/acl",
    "ca_cert": "tls/ca.crt",
    "broker_cert": "tls/broker.crt",
    "broker_key": "tls/broker.key",
    "gateway_cert": "tls/gateway.crt",
    "gateway_key": "tls/gateway.key",
    **{name.replace("/", "_").replace("-", "_"): name for name in PASSWORDS},
    **{f"mqtt_{user}": f"mqtt/{user}" for user in SERVICE_USERS},
}


def default_dir() -> Path:
    """Where the secrets are unless a command is told otherwise: ``LABDCS_SECRETS_DIR``, else
    ``secrets/`` in the current folder (``labdcs init``, ``labdcs up`` and the operators' commands
    agree on it), as an absolute path."""
    return Path(os.environ.get("LABDCS_SECRETS_DIR") or DEFAULT_DIR).resolve()


class MissingSecret(RuntimeError):
    """A secret a service needs is not there: the message says how to create it."""


@dataclass
class InitResult:
    created: list[str] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SecretsDir:
    root: Path

    def path(self, name: str) -> Path:
        return self.root / name

    def require(self, name: str) -> Path:
        """The file of a secret, or :class:`MissingSecret` saying to run ``labdcs init``."""
        path = self.path(name)
        if not path.is_file():
            raise MissingSecret(f"secret {name} not found in {self.root}: {INIT_HINT}")
        return path

    def read(self, name: str) -> str:
        return self.require(name).read_text(encoding="utf-8").rstrip("\r\n")

    def mqtt_password_file(self, user: str) -> Path:
        return self.require(f"mqtt/{user}")

    def mqtt_users(self) -> dict[str, Role]:
        folder = self.root / "mqtt"
        names = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        return {name: SERVICE_USERS.get(name, Role.DEVICE) for name in names}

    def native_paths(self) -> dict[str, Path]:
        """Docker secret path -> file here, for rendering the compose configuration natively."""
        return {f"/run/secrets/{name}": self.path(rel) for name, rel in DOCKER_SECRETS.items()}


def _write_private(path: Path, data: bytes, *, replace: bool) -> None:
    """Write with mode 0600 from the first byte (never readable by others, even for a moment)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    if not replace and path.exists():
        temporary.unlink()
        return
    os.replace(temporary, path)


def new_password() -> str:
    return random.token_urlsafe(24)


def init(
    root: Path,
    *,
    devices: Iterable[str] = (),
    rotate: Iterable[str] = (),
    hosts: Iterable[str] = (),
) -> InitResult:
    """Create every missing secret under ``root`` (never overwriting one), replace those named in
    ``rotate``, and regenerate the broker's password file and ACL from ``mqtt/``."""
    store = SecretsDir(root)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    result = InitResult()
    rotating = set(rotate)
    users = dict.fromkeys([*SERVICE_USERS, *devices, *store.mqtt_users()])
    wanted = [*PASSWORDS, *(f"mqtt/{user}" for user in users)]
    unknown = rotating - set(wanted) - set(TLS_FILES) - {"tls"}
    if unknown:
        raise ValueError(f"nothing to rotate named {', '.join(sorted(unknown))}")
    for name in wanted:
        path = store.path(name)
        if name in rotating:
            _write_private(path, new_password().encode(), replace=True)
            result.rotated.append(name)
        elif not path.exists():
            _write_private(path, new_password().encode(), replace=False)
            result.created.append(name)
    (root / "nodered").mkdir(mode=0o700, exist_ok=True)
    _init_tls(store, result, rotate_all="tls" in rotating or bool(rotating & set(TLS_FILES)), hosts=hosts)
    render_broker_files(store)
    return result


def _init_tls(store: SecretsDir, result: InitResult, *, rotate_all: bool, hosts: Iterable[str]) -> None:
    ca_cert, ca_key = store.path("tls/ca.crt"), store.path("tls/ca.key")
    if rotate_all or not ca_cert.exists():
        if ca_cert.exists() and not ca_key.exists() and not rotate_all:
            return  # the site's own CA: its certificates are the site's to provide
        ca = tls.make_ca()
        _write_private(ca_cert, ca.cert_pem, replace=True)
        _write_private(ca_key, ca.key_pem, replace=True)
        (result.rotated if rotate_all else result.created).append("tls/ca")
        rotate_all = True  # a new CA must sign new server certificates
    if not ca_key.exists():
        return
    ca = tls.KeyPair(ca_cert.read_bytes(), ca_key.read_bytes())
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname(), *hosts]
    for server in SERVERS:
        cert, key = store.path(f"tls/{server}.crt"), store.path(f"tls/{server}.key")
        if cert.exists() and not rotate_all:
            continue
        pair = tls.issue(ca, f"labdcs {server}", hosts=[server, "mosquitto", *names])
        _write_private(cert, pair.cert_pem, replace=True)
        _write_private(key, pair.key_pem, replace=True)
        result.created.append(f"tls/{server}")


LOCAL_ACL = "mosquitto/acl.local"
"""The site's own additions to the generated ACL (e.g. a monitoring user), kept across inits."""


def render_broker_files(store: SecretsDir) -> None:
    """The broker's password file and ACL from ``mqtt/`` and :data:`LOCAL_ACL` (a running broker
    reloads them on SIGHUP)."""
    users = store.mqtt_users()
    passwords = {user: store.read(f"mqtt/{user}") for user in users}
    local = store.path(LOCAL_ACL)
    extra = (
        ["# From acl.local:", *local.read_text(encoding="utf-8").splitlines(), ""] if local.is_file() else []
    )
    _write_private(store.path("mosquitto/passwd"), render_password_file(passwords).encode(), replace=True)
    _write_private(store.path("mosquitto/acl"), render_acl(users, extra).encode(), replace=True)


def add_mqtt_user(root: Path, user: str, password: str | None = None) -> bool:
    """A broker user (a new device) with a generated password; False when it exists already."""
    store = SecretsDir(root)
    path = store.path(f"mqtt/{user}")
    if path.exists():
        return False
    _write_private(path, (password or new_password()).encode(), replace=False)
    return True


def issue_client_certificate(root: Path, name: str) -> tuple[Path, Path]:
    """A client certificate for a remote device (mutual TLS), signed by the local CA."""
    store = SecretsDir(root)
    ca = tls.KeyPair(store.require("tls/ca.crt").read_bytes(), store.require("tls/ca.key").read_bytes())
    pair = tls.issue(ca, name, client=True)
    cert, key = store.path(f"tls/clients/{name}.crt"), store.path(f"tls/clients/{name}.key")
    _write_private(cert, pair.cert_pem, replace=True)
    _write_private(key, pair.key_pem, replace=True)
    return cert, key
