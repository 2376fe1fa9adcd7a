"""The broker's client-id plugin, built natively from mosquitto/plugin (the compose image builds the
same source): once per version of the source, and a clear error when it cannot be built."""

from __future__ import annotations

from pathlib import Path

import pytest

from labdcs.stack import brokers
from labdcs.stack.paths import project_root
from labdcs.stack.processes import StartError

SOURCE = project_root() / "mosquitto" / "plugin" / "labdcs_clientid.c"


def test_the_plugin_is_built_once_per_source(tmp_path: Path) -> None:
    built = brokers.clientid_plugin(SOURCE, cache=tmp_path)
    assert built.is_file() and built.parent == tmp_path
    stamp = built.stat().st_mtime_ns
    assert brokers.clientid_plugin(SOURCE, cache=tmp_path) == built
    assert built.stat().st_mtime_ns == stamp  # not rebuilt
    changed = tmp_path / "changed.c"
    changed.write_text(SOURCE.read_text() + "\n/* another version */\n")
    assert brokers.clientid_plugin(changed, cache=tmp_path) != built


def test_no_compiler_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(brokers.shutil, "which", lambda name: None)
    with pytest.raises(StartError, match=r"no C compiler.*run scripts/setup"):
        brokers.clientid_plugin(SOURCE, cache=tmp_path)


def test_the_native_broker_loads_the_plugin(tmp_path: Path) -> None:
    conf = brokers.render_mosquitto_conf(
        project_root() / "mosquitto" / "mosquitto.conf",
        port=1883,
        data_dir=tmp_path,
        secrets={
            f"/run/secrets/{name}": tmp_path / name
            for name in ("mosquitto_passwd", "mosquitto_acl", "broker_cert", "broker_key", "ca_cert")
        },
    )
    (plugin,) = [line.split()[1] for line in conf.splitlines() if line.startswith("plugin ")]
    assert Path(plugin).is_file() and Path(plugin).name.startswith("labdcs_clientid-")
