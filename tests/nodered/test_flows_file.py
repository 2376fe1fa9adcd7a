"""The provisioned Node-RED folder as committed: flows without credentials, generated from their
sources, function code that compiles, exact package pins."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from labdcs.nodered import flows
from labdcs.nodered.runtime import nodered_dir
from tests.nodered.conftest import node_binary

FOLDER = nodered_dir()
FLOWS = FOLDER / "flows.json"


def test_flows_carry_no_credentials() -> None:
    assert flows.credential_problems(flows.load(FLOWS)) == []
    tracked = subprocess.run(
        ["git", "ls-files", "nodered"], cwd=FOLDER.parent, capture_output=True, text=True, check=False
    )
    if tracked.returncode == 0:  # in a git checkout: no credentials file is committed either
        assert not [name for name in tracked.stdout.split() if name.endswith("_cred.json")]


def test_credential_check_finds_credentials() -> None:
    """The check above can fail: an exported flow with credentials, a literal password."""
    planted = [
        {"id": "a", "type": "mqtt-broker", "credentials": {"user": "u", "password": "p"}},
        {"id": "b", "type": "http request", "password": "hunter2"},
        {"id": "c", "type": "http request", "password": "${WEBHOOK_PASSWORD}"},
        {"id": "d", "type": "function", "token": ""},
    ]
    problems = flows.credential_problems(planted)
    assert len(problems) == 2
    assert "node a" in problems[0] and "carries credentials" in problems[0]
    assert "node b" in problems[1] and "'password'" in problems[1]


def test_broker_node_takes_everything_from_the_environment() -> None:
    (broker,) = [node for node in flows.load(FLOWS) if node["type"] == "mqtt-broker"]
    assert broker["broker"] == "${LABDCS_MQTT__HOST}" and broker["port"] == "${LABDCS_MQTT__PORT}"
    settings = (FOLDER / "settings.js").read_text(encoding="utf-8")
    assert f"const BROKER_NODE_ID = '{broker['id']}'" in settings, "settings.js provisions another node"
    assert all(
        node.get("broker") == broker["id"] for node in flows.load(FLOWS) if node["type"].startswith("mqtt ")
    )


def test_flows_are_generated_from_their_sources() -> None:
    current = flows.load(FLOWS)
    named = flows.sources(current)
    assert set(named.values()) == {path.name for path in (FOLDER / "src").iterdir()}, "a source is unused"
    assert flows.dump(flows.with_sources(current, FOLDER / "src")) == FLOWS.read_text(encoding="utf-8"), (
        "nodered/flows.json differs from nodered/src/: run `labdcs gen nodered-flows`"
    )


def test_generation_replaces_only_the_marked_code(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.js").write_text("return msg\n")
    path = tmp_path / "flows.json"
    nodes = [
        {"id": "1", "type": "function", "func": "old", "info": "Source: nodered/src/a.js"},
        {"id": "2", "type": "function", "func": "mine", "info": "an engineer's own node"},
    ]
    path.write_text(flows.dump(nodes))
    assert flows.generate(path, tmp_path / "src") is True
    assert [node["func"] for node in flows.load(path)] == ["return msg\n", "mine"]
    assert flows.generate(path, tmp_path / "src") is False
    nodes[0]["info"] = "Source: nodered/src/missing.js"
    path.write_text(flows.dump(nodes))
    with pytest.raises(flows.FlowsError, match=r"missing\.js"):
        flows.generate(path, tmp_path / "src")


@pytest.mark.parametrize("source", sorted(p.name for p in (FOLDER / "src").glob("*.js")))
def test_function_sources_compile(source: str) -> None:
    """As Node-RED runs a function node: the body of a function of msg, node, context, flow, env."""
    script = (
        "const code = require('fs').readFileSync(process.argv[1], 'utf8');"
        "new Function('msg', 'node', 'context', 'flow', 'global', 'env', 'RED', code);"
    )
    result = subprocess.run(
        [node_binary(), "-e", script, str(FOLDER / "src" / source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_packages_are_pinned_exactly() -> None:
    package = json.loads((FOLDER / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((FOLDER / "package-lock.json").read_text(encoding="utf-8"))
    pinned = {**package["dependencies"], **package["peerDependencies"]}
    assert pinned["node-red"].startswith("4.") and pinned["@flowfuse/node-red-dashboard"].startswith("1.")
    for name, version in pinned.items():
        assert version[0].isdigit(), f"{name} {version} is a range, not a pin"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, f"lock disagrees on {name}"
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
