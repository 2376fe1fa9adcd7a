"""``labdcs init``: every secret once, private, never overwritten; rotation replaces one."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from labdcs.security import secrets
from labdcs.security.mosquitto import hash_password


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_everything_privately_once_and_rotates_on_request(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    first = secrets.init(folder, devices=["hv1"])
    assert {"mqtt/hv1", "mqtt/ingest", "influxdb/admin", "grafana/admin", "tls/ca"} <= set(first.created)
    assert mode(folder) == 0o700
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files and all(mode(p) == 0o600 for p in files), [p for p in files if mode(p) != 0o600]
    before = {p: p.read_bytes() for p in files if "mosquitto" not in p.parts}
    again = secrets.init(folder, devices=["hv1"])
    assert again.created == [] and all(p.read_bytes() == data for p, data in before.items())
    old = (folder / "mqtt" / "hv1").read_text()
    rotated = secrets.init(folder, rotate=["mqtt/hv1"])  # a device known from an earlier init
    assert rotated.rotated == ["mqtt/hv1"] and (folder / "mqtt" / "hv1").read_text() != old
    assert (folder / "mqtt" / "ingest").read_bytes() == before[folder / "mqtt" / "ingest"]
    passwd = (folder / "mosquitto" / "passwd").read_text()
    assert "hv1:$7$101$" in passwd and old not in passwd


def test_password_hash_has_the_mosquitto_passwd_format() -> None:
    hashed = hash_password("secret", salt=b"0123456789ab")
    _, kind, iterations, salt, digest = hashed.split("$")
    assert (kind, iterations, salt) == ("7", "101", "MDEyMzQ1Njc4OWFi") and len(digest) == 88


def test_cli_init_refuses_an_unknown_rotation(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "labdcs", "init", "--secrets-dir", str(tmp_path / "s")]
    assert subprocess.run(command, capture_output=True, text=True).returncode == 0
    refused = subprocess.run([*command, "--rotate", "mqtt/nobody"], capture_output=True, text=True)
    assert refused.returncode != 0 and "nothing to rotate named mqtt/nobody" in refused.stderr
