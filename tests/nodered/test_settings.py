"""nodered/settings.js on its own (loaded by node as Node-RED loads it): secrets from the
environment or generated once at the first start, clear errors, broker credentials as references."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from labdcs.nodered.runtime import nodered_dir
from tests.nodered.conftest import bcrypt_hash, node_binary

SETTINGS = nodered_dir() / "settings.js"
BROKER_NODE_ID = "1abdc5b70c3e0001"

# Loads the settings like red.js (argv: node <script> --userDir DIR) and reports what Node-RED
# would get; checks the generated admin password against its hash with Node-RED's own bcryptjs.
PROBE = """
const fs = require('fs'), path = require('path'), crypto = require('crypto')
const settings = require(process.env.SETTINGS)
const bcrypt = require(require.resolve('bcryptjs', { paths: [path.dirname(process.env.SETTINGS)] }))
const secrets = process.env.NODERED_SECRETS_DIR
const generated = secrets && path.join(secrets, 'admin-password')
const adminOk = generated && fs.existsSync(generated)
  ? bcrypt.compareSync(fs.readFileSync(generated, 'utf8').trim(), settings.adminAuth.users[0].password)
  : null
let credentials = null
const credFile = path.join(settings.userDir, 'flows_cred.json')
if (fs.existsSync(credFile)) {
  const stored = JSON.parse(fs.readFileSync(credFile, 'utf8')).$
  const key = crypto.createHash('sha256').update(settings.credentialSecret).digest()
  const decipher = crypto.createDecipheriv('aes-256-ctr', key, Buffer.from(stored.slice(0, 32), 'hex'))
  credentials = JSON.parse(decipher.update(stored.slice(32), 'base64', 'utf8') + decipher.final('utf8'))
}
console.log('RESULT ' + JSON.stringify({
  userDir: settings.userDir, flowFile: settings.flowFile, uiHost: settings.uiHost,
  admin: settings.adminAuth.users[0].username, adminHash: settings.adminAuth.users[0].password,
  adminOk, secret: settings.credentialSecret, credentials,
  mqtt: [process.env.LABDCS_MQTT__HOST, process.env.LABDCS_MQTT__PORT, process.env.LABDCS_MQTT__PASSWORD]
}))
"""


def load(tmp_path: Path, **env: str) -> tuple[dict[str, Any] | None, str]:
    """(what Node-RED would get, the output); None when settings.js refused to load."""
    script = tmp_path / "probe.js"
    script.write_text(PROBE)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("NODERED_", "LABDCS_MQTT__"))}
    result = subprocess.run(
        [node_binary(), str(script), "--userDir", str(tmp_path / "userdir")],
        env={**clean, "SETTINGS": str(SETTINGS), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    output = result.stdout + result.stderr
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :]), output
    return None, output


def test_first_start_generates_logins_and_secret_once_with_private_modes(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    first, output = load(tmp_path, NODERED_SECRETS_DIR=str(secrets))
    assert first is not None, output
    names = {"admin-password", "admin-password-hash", "operator-password", "operator-password-hash"}
    assert {p.name for p in secrets.iterdir()} == names | {"credential-secret"}
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    for path in secrets.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert first["admin"] == "admin" and first["adminOk"] is True
    assert (secrets / "admin-password").read_text().strip() not in output, "a password in the log"
    assert "generated the Node-RED admin login 'admin'" in output

    again, output = load(tmp_path, NODERED_SECRETS_DIR=str(secrets))
    assert again is not None, output
    assert again["adminHash"] == first["adminHash"] and again["secret"] == first["secret"]
    assert "generated" not in output
    assert again["uiHost"] == "127.0.0.1" and again["flowFile"] == str(nodered_dir() / "flows.json")
    assert again["userDir"] == str(tmp_path / "userdir")
    assert again["mqtt"] == ["localhost", "1883", None]
    assert again["credentials"] == {}, "no broker login configured: nothing provisioned"


def test_configured_logins_and_secret_need_no_secrets_folder(tmp_path: Path) -> None:
    (tmp_path / "hash").write_text(bcrypt_hash("correct horse") + "\n")
    settings, output = load(
        tmp_path,
        NODERED_ADMIN_USER="root-of-bench",
        NODERED_ADMIN_PASSWORD_HASH_FILE=str(tmp_path / "hash"),
        NODERED_OPERATOR_PASSWORD_HASH=bcrypt_hash("battery staple"),
        NODERED_CREDENTIAL_SECRET="s3cret-key-material",
    )
    assert settings is not None, output
    assert settings["admin"] == "root-of-bench"
    assert settings["adminHash"] == (tmp_path / "hash").read_text().strip()
    assert settings["secret"] == "s3cret-key-material"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "NODERED_ADMIN_PASSWORD_HASH is not set and NODERED_SECRETS_DIR"),
        (
            {"NODERED_ADMIN_PASSWORD_HASH": "x", "NODERED_ADMIN_PASSWORD_HASH_FILE": "/nonexistent"},
            "both NODERED_ADMIN_PASSWORD_HASH and NODERED_ADMIN_PASSWORD_HASH_FILE are set",
        ),
        ({"NODERED_ADMIN_PASSWORD_HASH": "plain-text"}, "NODERED_ADMIN_PASSWORD_HASH is not a bcrypt hash"),
        (
            {"NODERED_ADMIN_PASSWORD_HASH_FILE": "/nonexistent/hash"},
            "cannot read NODERED_ADMIN_PASSWORD_HASH_FILE",
        ),
        (
            {"NODERED_SECRETS_DIR": "SECRETS", "LABDCS_MQTT__PASSWORD": "p"},
            "an MQTT password is set but no LABDCS_MQTT__USERNAME",
        ),
        (
            {"NODERED_SECRETS_DIR": "SECRETS", "NODERED_OPERATOR_USER": "admin"},
            "NODERED_ADMIN_USER and NODERED_OPERATOR_USER must differ",
        ),
    ],
)
def test_bad_configuration_is_refused_with_a_clear_error(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    env = {name: str(tmp_path / "secrets") if value == "SECRETS" else value for name, value in env.items()}
    settings, output = load(tmp_path, **env)
    assert settings is None
    assert f"labdcs Node-RED settings: {message}" in output


def test_broker_credentials_are_references_to_the_environment(tmp_path: Path) -> None:
    (tmp_path / "mqtt-password").write_text("broker-pass\n")
    env = {
        "NODERED_SECRETS_DIR": str(tmp_path / "secrets"),
        "LABDCS_MQTT__HOST": "mosquitto",
        "LABDCS_MQTT__PORT": "8883",
        "LABDCS_MQTT__USERNAME": "nodered",
        "LABDCS_MQTT__PASSWORD_FILE": str(tmp_path / "mqtt-password"),
    }
    settings, output = load(tmp_path, **env)
    assert settings is not None, output
    assert settings["mqtt"] == ["mosquitto", "8883", "broker-pass"]
    references = {"user": "${LABDCS_MQTT__USERNAME}", "password": "${LABDCS_MQTT__PASSWORD}"}
    assert settings["credentials"] == {BROKER_NODE_ID: references}
    stored = (tmp_path / "userdir" / "flows_cred.json").read_text()
    assert "broker-pass" not in stored and "nodered" not in stored
    assert stat.S_IMODE((tmp_path / "userdir" / "flows_cred.json").stat().st_mode) == 0o600

    del env["LABDCS_MQTT__USERNAME"], env["LABDCS_MQTT__PASSWORD_FILE"]
    settings, output = load(tmp_path, **env)
    assert settings is not None and settings["credentials"] == {}, output
