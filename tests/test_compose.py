"""Static checks of the container deployment: the Compose files and the Dockerfile.

Needs no Docker engine. Every Compose file, and every supported combination of them merged, is
parsed by the strict compose_spec parser (Rust `compose_spec` crate); on top of that the files
are held to our own policy: pinned images, health checks everywhere, health-gated start order, no
published ports in production, bind mounts that exist, device services that share the production
hardening and stop contract. Where a Docker engine is reachable, `docker compose config` checks
the combinations as well.

How the files are read, mirroring Compose:
  * YAML anchors and `<<` merge keys are resolved (PyYAML; the strict parser with apply_merge).
    The strict parser does not resolve a merge inside a merged block, so the files avoid chains.
  * Interpolation: every `${VAR}` must carry a default (`${VAR:-x}`), so the stack comes up with
    no .env file; the tests use the defaults. A bare `$NAME` is refused (write `$$` for a `$`).
  * Several files are merged following the Compose specification's merge rules (see `merge`).
"""

from __future__ import annotations

import copy
import json
import posixpath
import re
import shutil
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose, PyOptions, parse_duration

ROOT = Path(__file__).resolve().parents[1]
BASE = "docker-compose.yml"
DEV = "docker-compose.dev.yml"
DUMMY = "docker-compose.dummy.yml"
COMPOSE_FILES = (BASE, DEV, DUMMY)
# The combinations the docs tell people to run.
STACKS: dict[str, tuple[str, ...]] = {
    "base": (BASE,),
    "base+dev": (BASE, DEV),
    "base+dummy": (BASE, DUMMY),
    "base+dev+dummy": (BASE, DEV, DUMMY),
}
FULL = "base+dev+dummy"

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
DUMMY_DEVICES = ROOT / "dummy" / "devices"
# Where the Dockerfile puts dummy/ in the image.
IMAGE_DUMMY_DIR = "/app/dummy"
HEALTH_FILE = "/tmp/labdcs.health"
HEALTHCHECK_CMD = ["labdcs", "healthcheck", "--file", HEALTH_FILE, "--max-age", "30"]
BROKER_IMAGE = "labdcs-mosquitto"
BROKER_BUILD = "./mosquitto"
MIN_DEVICE_GRACE_S = 120.0

# `depends_on` with `condition: service_started`, allowed only where the dependency cannot have
# a health check; each entry says why. None so far.
STARTED_OK: dict[tuple[str, str], str] = {}

# Settings every device service shares with x-labdcs-device in docker-compose.yml.
DEVICE_CONTRACT_KEYS = (
    "image",
    "build",
    "init",
    "restart",
    "logging",
    "networks",
    "stop_signal",
    "stop_grace_period",
    "read_only",
    "tmpfs",
    "cap_drop",
    "security_opt",
)


# ---------------------------------------------------------------------------------------------
# Reading: interpolation, loading, merging
# ---------------------------------------------------------------------------------------------

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<name>" + _NAME + r")(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>" + _NAME + r"))"
)
_BRACED_WITH_DEFAULT = re.compile(r"\$\{" + _NAME + r":?-(?P<default>[^}]*)\}")


def interpolate(value: str) -> str:
    """Compose interpolation with an empty environment: `${VAR:-default}` gives the default."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$$"  # left escaped, as written; Compose turns it into one `$`
        if match["bare"]:
            raise AssertionError(f"bare ${match['bare']} in {value!r}: write $$ for a literal $")
        if match["op"] in (":-", "-"):
            return match["arg"]
        raise AssertionError(f"${{{match['name']}}} in {value!r} has no default (${{VAR:-default}})")

    return _VAR.sub(substitute, value)


def _interpolate_tree(node: Any) -> Any:
    if isinstance(node, str):
        return interpolate(node)
    if isinstance(node, list):
        return [_interpolate_tree(item) for item in node]
    if isinstance(node, dict):
        return {key: _interpolate_tree(item) for key, item in node.items()}
    return node


def read_text(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def load(name: str) -> dict[str, Any]:
    """One Compose file as Compose sees it: anchors and merge keys resolved, values interpolated."""
    data = yaml.safe_load(read_text(name))
    assert isinstance(data, dict), f"{name} is not a YAML mapping"
    return _interpolate_tree(data)  # type: ignore[no-any-return]


def _as_mapping(key: str, value: Any) -> dict[str, Any]:
    """The list forms of environment/labels/depends_on/networks, as Compose normalises them."""
    if isinstance(value, dict):
        return value
    if key in ("environment", "labels"):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in value)
    if key == "depends_on":
        return {item: {"condition": "service_started"} for item in value}
    return {item: None for item in value}  # networks


def _port_key(entry: Any) -> Any:
    if isinstance(entry, dict):
        return (entry.get("host_ip"), entry.get("target"), entry.get("published"), entry.get("protocol"))
    return str(entry)


def _mount_target(entry: Any) -> Any:
    if isinstance(entry, dict):
        return entry.get("target")
    parts = str(entry).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _merge_unique(base: list[Any], override: list[Any], key: Callable[[Any], Any]) -> list[Any]:
    merged = {key(entry): entry for entry in base}
    merged.update({key(entry): entry for entry in override})
    return list(merged.values())


_REPLACED = {"command", "entrypoint"}
_AS_MAPPING = {"environment", "labels", "depends_on", "networks"}
_UNIQUE: dict[str, Callable[[Any], Any]] = {
    "ports": _port_key,
    "volumes": _mount_target,
    "secrets": lambda entry: entry.get("target", entry.get("source")) if isinstance(entry, dict) else entry,
    "configs": lambda entry: entry.get("target", entry.get("source")) if isinstance(entry, dict) else entry,
}


def _merge_service(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in out or key in _REPLACED:
            out[key] = copy.deepcopy(value)
        elif key in _AS_MAPPING:
            out[key] = _merge_mappings(_as_mapping(key, out[key]), _as_mapping(key, value))
        elif key in _UNIQUE and isinstance(value, list):
            out[key] = _merge_unique(out[key], value, _UNIQUE[key])
        elif key == "healthcheck" and isinstance(value, dict):
            out[key] = {**out[key], **copy.deepcopy(value)}  # `test` is replaced, not appended
        else:
            out[key] = _merge_value(out[key], value)
    return out


def _merge_mappings(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = _merge_value(out[key], value) if key in out else copy.deepcopy(value)
    return out


def _merge_value(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return _merge_mappings(base, override)
    if isinstance(base, list) and isinstance(override, list):
        return copy.deepcopy(base) + [item for item in override if item not in base]
    return copy.deepcopy(override)


def merge(*documents: dict[str, Any]) -> dict[str, Any]:
    """Merge Compose documents in order, following the Compose specification's merge rules.

    Mappings merge recursively; sequences append; `command`, `entrypoint` and `healthcheck.test`
    are replaced; `ports`, `volumes`, `secrets`, `configs` are unique by their key (ports by the
    whole entry, mounts by target); list forms of `environment`, `labels`, `depends_on` and
    `networks` are normalised to mappings first. Only the keys these files use need to be right.
    """
    out: dict[str, Any] = {}
    for document in documents:
        for key, value in document.items():
            if key == "services":
                services = out.setdefault("services", {})
                for name, service in (value or {}).items():
                    services[name] = _merge_service(services[name], service) if name in services else service
            elif key in out:
                out[key] = _merge_value(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def stack(name: str) -> dict[str, Any]:
    return merge(*(load(file) for file in STACKS[name]))


def services(model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return model.get("services") or {}


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return command.split() if isinstance(command, str) else list(command)


def is_device(service: dict[str, Any]) -> bool:
    return command_of(service)[:2] == ["device", "run"]


def is_simulator(service: dict[str, Any]) -> bool:
    return command_of(service)[:2] == ["sim", "scpi"]


def option(command: list[str], flag: str) -> str:
    assert flag in command, f"{flag} missing from {command}"
    index = command.index(flag) + 1
    assert index < len(command), f"{flag} has no value in {command}"
    return command[index]


def image_is_pinned(reference: str) -> bool:
    """An exact version tag (x.y.z, optionally with a suffix) or a digest; never `latest`."""
    if re.search(r"@sha256:[0-9a-f]{64}$", reference):
        return True
    name, _, tag = reference.rpartition(":")
    if not name or "/" in tag:  # no tag at all ("influxdb", "registry:5000/influxdb")
        return False
    return tag != "latest" and re.fullmatch(r"v?\d+\.\d+\.\d+([.+_-][\w.-]+)?", tag) is not None


def project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


# ---------------------------------------------------------------------------------------------
# Dockerfile reading
# ---------------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in stage:
        if keyword == "ENV":
            for pair in arguments.split():
                key, _, value = pair.partition("=")
                env[key] = value.strip('"')
    return env


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list), f"not the exec (JSON) form: {arguments}"
    return [str(item) for item in value]


def image_healthcheck() -> list[str] | None:
    for keyword, arguments in final_stage():
        if keyword == "HEALTHCHECK":
            assert " CMD " in f" {arguments} ", f"HEALTHCHECK without CMD: {arguments}"
            return exec_form(arguments.split("CMD", 1)[1].strip())
    return None


# ---------------------------------------------------------------------------------------------
# The readers themselves (so that a broken helper cannot make the policy tests pass vacuously)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "pinned"),
    [
        ("eclipse-mosquitto:2.0.22", True),
        ("influxdb:1.11.8", True),
        ("labdcs:0.1.0", True),
        ("eclipse-mosquitto:2.0.22-openssl", True),
        ("influxdb@sha256:" + "a" * 64, True),
        ("influxdb", False),
        ("influxdb:latest", False),
        ("influxdb:1.11", False),
        ("eclipse-mosquitto:2", False),
        ("registry.local:5000/influxdb", False),
    ],
)
def test_image_pin_rule(reference: str, pinned: bool) -> None:
    assert image_is_pinned(reference) is pinned


def test_interpolation_rule() -> None:
    assert interpolate("${BIND:-127.0.0.1}:1883:1883") == "127.0.0.1:1883:1883"
    assert interpolate("${BIND-0.0.0.0}") == "0.0.0.0"
    assert interpolate("$$SYS/broker/uptime") == "$$SYS/broker/uptime"
    with pytest.raises(AssertionError, match="no default"):
        interpolate("${BIND}:1883:1883")
    with pytest.raises(AssertionError, match="bare"):
        interpolate("$SYS/broker/uptime")


def test_merge_follows_compose_rules() -> None:
    base = {
        "name": "p",
        "services": {
            "a": {
                "image": "x:1.0.0",
                "command": ["run", "--fast"],
                "environment": ["A=1", "B=2"],
                "ports": ["127.0.0.1:1883:1883"],
                "volumes": ["data:/data", "./conf:/conf:ro"],
                "cap_drop": ["ALL"],
                "depends_on": ["b"],
                "healthcheck": {"test": ["CMD", "true"], "interval": "10s"},
            }
        },
        "volumes": {"data": None},
    }
    override = {
        "services": {
            "a": {
                "command": ["run"],
                "environment": {"B": "3", "C": "4"},
                "ports": ["127.0.0.1:1883:1883", "127.0.0.1:8883:8883"],
                "volumes": ["./other:/conf:ro"],
                "cap_drop": ["ALL", "NET_RAW"],
                "depends_on": {"c": {"condition": "service_healthy"}},
                "healthcheck": {"test": ["CMD", "false"]},
            },
            "c": {"image": "y:2.0.0"},
        }
    }
    merged = merge(base, override)
    a = merged["services"]["a"]
    assert a["command"] == ["run"]
    assert a["environment"] == {"A": "1", "B": "3", "C": "4"}
    assert a["ports"] == ["127.0.0.1:1883:1883", "127.0.0.1:8883:8883"]
    assert a["volumes"] == ["data:/data", "./other:/conf:ro"]
    assert a["cap_drop"] == ["ALL", "NET_RAW"]
    assert a["depends_on"] == {"b": {"condition": "service_started"}, "c": {"condition": "service_healthy"}}
    assert a["healthcheck"] == {"test": ["CMD", "false"], "interval": "10s"}
    assert merged["services"]["c"] == {"image": "y:2.0.0"}
    assert merged["volumes"] == {"data": None} and merged["name"] == "p"
    assert base["services"]["a"]["command"] == ["run", "--fast"], "merge must not modify its input"


# ---------------------------------------------------------------------------------------------
# Strict parsing
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_file_parses_strictly(name: str) -> None:
    # The file's own text, anchors and merge keys applied by the strict parser itself; the
    # `${VAR:-default}` references replaced by their defaults first (the parser does not
    # interpolate, and refuses `${...}` in typed fields such as ports).
    text = _BRACED_WITH_DEFAULT.sub(lambda match: match["default"], read_text(name))
    PyOptions(apply_merge=True).from_yaml(text)
    # And the file as Compose reads it (interpolation rules enforced), through PyCompose.from_yaml.
    document = load(name)
    assert "version" not in document, f"{name}: the top-level `version` key is obsolete"
    parsed = PyCompose.from_yaml(yaml.safe_dump(document, sort_keys=False))
    assert set(parsed.service_names()) == set(document["services"])


@pytest.mark.parametrize("name", STACKS)
def test_stack_parses_and_validates(name: str) -> None:
    model = stack(name)
    parsed = PyCompose.from_yaml(yaml.safe_dump(model, sort_keys=False))
    parsed.validate()  # networks, volumes, secrets and configs referenced are declared
    assert parsed.name == "labdcs"
    assert {"mosquitto", "influxdb", "nodered", "nodered-modules"} <= set(parsed.service_names())
    if DUMMY in STACKS[name]:
        expected = {"sim-hv1", "sim-hv2", "sim-lv1", "sim-env1", "hv1", "hv2", "lv1", "env1", "can1"}
        assert expected <= set(parsed.service_names())


def test_commented_device_example_is_valid() -> None:
    """The commented real-hardware example in docker-compose.yml works once uncommented."""
    lines = read_text(BASE).splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("# Example device service"))
    end = start + 1
    while end < len(lines) and lines[end].startswith("  #"):
        end += 1
    example = [line[4:].rstrip() if line.startswith("  # ") else "" for line in lines[start + 1 : end]]
    assert any(line.strip() for line in example), "the example device service is missing"
    text = "\n".join([*lines[: start + 1], *("  " + line if line else "" for line in example), *lines[end:]])
    parsed = PyOptions(apply_merge=True).from_yaml(text)
    parsed.validate()
    model = yaml.safe_load(text)
    uncommented = load(BASE)
    (name,) = set(model["services"]) - set(uncommented["services"])
    service = model["services"][name]
    assert is_device(service), f"{name}: the example must run `device run --config ...`"
    assert service["environment"].get("LABDCS_MQTT__HOST") == "mosquitto"
    assert "LABDCS_DRIVER__RESOURCE" in service["environment"]
    for key in DEVICE_CONTRACT_KEYS:
        assert service.get(key) == model["x-labdcs-device"].get(key), (
            f"{name}.{key} differs from x-labdcs-device"
        )
    assert option(command_of(service), "--config").startswith("/app/devices/")


# ---------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------


def _all_services() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for file in COMPOSE_FILES:
        for name, service in services(load(file)).items():
            yield file, name, service


def test_images_are_pinned() -> None:
    seen = 0
    for file, name, service in _all_services():
        if "image" in service:
            seen += 1
            assert image_is_pinned(service["image"]), (
                f"{file}: {name} image {service['image']!r} is not pinned"
            )
    assert seen >= 2


def test_labdcs_services_share_one_image() -> None:
    """Every built service builds the one Dockerfile under one tag, which follows the version."""
    built = {
        name: service
        for name, service in services(stack(FULL)).items()
        if "build" in service and service["build"] != BROKER_BUILD  # the broker: mosquitto/Dockerfile
    }
    assert built, "no service builds the labdcs image"
    version = project_version()
    for name, service in built.items():
        assert service["build"] in (".", {"context": "."}), f"{name}: build context must be the repo root"
        assert service.get("image") == f"labdcs:{version}", f"{name}: image must be labdcs:{version}"
    stage_args = dict(
        arguments.partition("=")[::2] for keyword, arguments in final_stage() if keyword == "ARG"
    )
    assert stage_args.get("VERSION") == version, "Dockerfile ARG VERSION must match pyproject.toml"


@pytest.mark.parametrize("name", STACKS)
def test_long_running_services_have_a_healthcheck(name: str) -> None:
    image_check = image_healthcheck()
    for service_name, service in services(stack(name)).items():
        restart = service.get("restart")
        assert restart in ("unless-stopped", "always", "on-failure", "no"), f"{service_name}: set `restart`"
        if restart == "no":  # a one-shot job
            continue
        healthcheck = service.get("healthcheck")
        if healthcheck is not None:
            assert not healthcheck.get("disable"), f"{service_name}: health check disabled"
            test = healthcheck.get("test")
            assert test and test not in (["NONE"], "NONE"), f"{service_name}: empty health check"
        else:
            assert "build" in service, f"{service_name}: no healthcheck, and its image gives none"
            assert image_check, f"{service_name}: relies on the Dockerfile HEALTHCHECK, which is missing"


@pytest.mark.parametrize("name", STACKS)
def test_depends_on_waits_for_health(name: str) -> None:
    model = stack(name)
    all_services = services(model)
    for service_name, service in all_services.items():
        for dependency, spec in _as_mapping("depends_on", service.get("depends_on") or {}).items():
            assert dependency in all_services, f"{service_name} depends on unknown service {dependency}"
            condition = (spec or {}).get("condition", "service_started")
            if condition == "service_completed_successfully":
                assert all_services[dependency].get("restart") == "no", (
                    f"{service_name} waits for {dependency} to complete, but it is not a one-shot job"
                )
                continue
            if condition == "service_started":
                assert (service_name, dependency) in STARTED_OK, (
                    f"{service_name} -> {dependency}: use condition: service_healthy "
                    "(or justify service_started in STARTED_OK)"
                )
                continue
            assert condition == "service_healthy", f"{service_name} -> {dependency}: {condition}"
            target = all_services[dependency]
            assert "healthcheck" in target or ("build" in target and image_healthcheck()), (
                f"{service_name} waits for {dependency} to be healthy, but it has no health check"
            )


def test_production_publishes_only_the_gateway() -> None:
    for name, service in services(load(BASE)).items():
        if name == "gateway":
            assert sorted(service["ports"]) == ["443:8443", "8883:8883"]
            continue
        assert "ports" not in service, f"{BASE}: {name} publishes ports; put them in {DEV}"
        assert service.get("network_mode") != "host", f"{BASE}: {name} uses the host network"
    assert not any("ports" in service for service in services(load(DUMMY)).values()), (
        f"{DUMMY} publishes ports"
    )


def test_dev_ports_bind_loopback_by_default() -> None:
    published = [
        (name, port) for name, service in services(load(DEV)).items() for port in service.get("ports", [])
    ]
    # MQTT, InfluxDB, Grafana, MongoDB, Node-RED.
    assert {port.rsplit(":", 1)[-1] for _, port in published} == {
        "1883",
        "8086",
        "3000",
        "27017",
        "1880",
        "8000",
    }
    for name, port in published:
        assert isinstance(port, str), f"{DEV}: {name} port {port!r} must be a quoted string"
        assert port.startswith("127.0.0.1:"), f"{DEV}: {name} publishes {port} beyond loopback by default"


def test_one_private_network() -> None:
    model = stack(FULL)
    assert set(model["networks"]) == {"backend"}
    assert not model["networks"]["backend"].get("external")
    for name, service in services(model).items():
        assert set(_as_mapping("networks", service.get("networks") or {})) == {"backend"}, (
            f"{name} must join the backend network (only)"
        )


def _mounts(service: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(type, source) of each volume entry; short syntax: a path source means a bind mount."""
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            yield entry.get("type", "volume"), str(entry.get("source", ""))
        else:
            source = str(entry).split(":")[0]
            kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            yield kind, source


def test_mounts_exist() -> None:
    model = stack(FULL)
    declared = set(model.get("volumes") or {})
    mounts = 0
    for name, service in services(model).items():
        for kind, source in _mounts(service):
            mounts += 1
            if kind == "bind":
                assert not source.startswith(("/", "~")), (
                    f"{name}: absolute host path {source} is not portable"
                )
                assert (ROOT / source).exists(), f"{name}: bind-mounted {source} does not exist in the repo"
            elif kind == "volume":
                assert source in declared, f"{name}: named volume {source} is not declared"
    assert mounts >= 3


def test_read_only_services_can_write_their_health_file() -> None:
    health_dir = posixpath.dirname(env_of(final_stage())["LABDCS_HEALTH_FILE"])
    for name, service in services(stack(FULL)).items():
        if "build" in service and service.get("read_only"):
            tmpfs = [entry.split(":")[0] for entry in service.get("tmpfs", [])]
            assert health_dir in tmpfs, f"{name}: read-only, but {health_dir} is not a tmpfs"


def test_device_services_follow_the_production_contract() -> None:
    """Dummy device services carry x-labdcs-device's settings: hardening and stop grace."""
    contract = load(BASE)["x-labdcs-device"]
    assert parse_duration(contract["stop_grace_period"]) >= MIN_DEVICE_GRACE_S
    assert contract["read_only"] is True and contract["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in contract["security_opt"]
    assert contract["depends_on"]["mosquitto"]["condition"] == "service_healthy"
    devices = {name: service for name, service in services(stack(FULL)).items() if is_device(service)}
    assert set(devices) >= {"hv1", "hv2", "lv1", "env1", "can1"}
    for name, service in devices.items():
        for key in DEVICE_CONTRACT_KEYS:
            assert service.get(key) == contract.get(key), f"{name}.{key} differs from x-labdcs-device"


def test_dummy_devices_are_wired_to_their_simulators() -> None:
    all_services = services(stack(FULL))
    devices = {name: service for name, service in all_services.items() if is_device(service)}
    simulators = {name for name, service in all_services.items() if is_simulator(service)}
    wired = set()
    for name, service in devices.items():
        env = _as_mapping("environment", service.get("environment") or {})
        depends_on = _as_mapping("depends_on", service.get("depends_on") or {})
        broker = env.get("LABDCS_MQTT__HOST")
        assert broker in all_services, f"{name}: LABDCS_MQTT__HOST={broker} is not a service"
        assert str(all_services[broker].get("image", "")).startswith(BROKER_IMAGE + ":")
        assert env.get("LABDCS_MQTT__PORT") == "1883", f"{name}: broker port"
        assert broker in depends_on, f"{name} must depend on the broker"
        resource = env.get("LABDCS_DRIVER__RESOURCE")
        if resource is None:
            continue  # e.g. can1: the simulated CAN node runs in-process
        match = re.fullmatch(r"TCPIP\d*::(?P<host>[\w.-]+)::(?P<port>\d+)::SOCKET", resource)
        assert match, f"{name}: unexpected resource {resource}"
        host = match["host"]
        assert host in simulators, f"{name}: {host} is not a simulator service"
        assert option(command_of(all_services[host]), "--port") == match["port"], f"{name}: port mismatch"
        assert option(command_of(all_services[host]), "--host") == "0.0.0.0", f"{host} must listen on all"
        assert depends_on.get(host, {}).get("condition") == "service_healthy", f"{name} must wait for {host}"
        wired.add(host)
    assert wired == simulators, f"simulators nobody uses: {simulators - wired}"


def _dummy_device_configs() -> dict[str, tuple[dict[str, Any], Path]]:
    """Device service name -> (service, the configuration file in the repo it runs)."""
    found = {}
    for name, service in services(stack(FULL)).items():
        if is_device(service):
            path = option(command_of(service), "--config")
            assert path.startswith(IMAGE_DUMMY_DIR + "/devices/"), (
                f"{name}: {path} is not a dummy configuration"
            )
            found[name] = (service, ROOT / "dummy" / Path(path).relative_to(IMAGE_DUMMY_DIR))
    assert found, "no device services"
    return found


def test_device_config_files_exist() -> None:
    configs = _dummy_device_configs()
    if not DUMMY_DEVICES.is_dir():
        pytest.skip("dummy/devices/ does not exist yet (device configurations are being written)")
    for name, (_, local) in configs.items():
        assert local.is_file(), f"{name}: {local.relative_to(ROOT)} does not exist"


def test_the_compose_dummy_bench_runs_every_dummy_device_labdcs_up_runs() -> None:
    """`labdcs up --dummy` and the compose dummy stack are the same bench (station1 was missing)."""
    if not DUMMY_DEVICES.is_dir():
        pytest.skip("dummy/devices/ does not exist")
    native = {yaml.safe_load(path.read_text())["device"] for path in DUMMY_DEVICES.glob("*.yaml")}
    assert set(_dummy_device_configs()) == native


def test_device_configs_match_their_services() -> None:
    """Service name = device id; the simulator model = the driver; the stop grace outlasts the
    service's own exit ramp-down timeout, so Docker never kills an HV supply mid-ramp."""
    config_module = pytest.importorskip("labdcs.devices.config")
    default_exit_timeout = config_module.DeviceConfig.model_fields["exit_timeout_s"].default
    all_services = services(stack(FULL))
    configs = {name: entry for name, entry in _dummy_device_configs().items() if entry[1].is_file()}
    if not configs:
        pytest.skip("no dummy device configuration written yet")
    for name, (service, local) in configs.items():
        config = yaml.safe_load(local.read_text(encoding="utf-8"))
        assert config["device"] == name, f"{local.name}: device id {config['device']!r} != service {name!r}"
        exit_timeout = float(config.get("exit_timeout_s", default_exit_timeout))
        grace = parse_duration(service["stop_grace_period"])
        assert grace >= exit_timeout + 10, (
            f"{name}: stop_grace_period {grace} s <= exit ramp-down {exit_timeout} s"
        )
        env = _as_mapping("environment", service.get("environment") or {})
        resource = env.get("LABDCS_DRIVER__RESOURCE")
        if resource is not None:
            simulator = resource.split("::")[1]
            model = option(command_of(all_services[simulator]), "--model")
            assert model == config["driver"]["name"], (
                f"{name}: driver {config['driver']['name']}, {simulator} {model}"
            )


def test_nodered_runs_the_project_folder_in_the_pinned_official_image() -> None:
    """The official image of the Node-RED version nodered/package.json pins, with ./nodered mounted:
    its settings, its flows and the one-shot job installing its node packages."""
    package = json.loads((ROOT / "nodered" / "package.json").read_text(encoding="utf-8"))
    version = package["peerDependencies"]["node-red"]
    all_services = services(stack("base"))
    nodered, modules = all_services["nodered"], all_services["nodered-modules"]
    for service in (nodered, modules):
        image = service["image"]
        assert image.startswith(f"nodered/node-red:{version}-") or image == f"nodered/node-red:{version}", (
            f"{image} is not Node-RED {version}, the version nodered/package.json pins"
        )
        mounts = {str(entry).split(":")[1]: str(entry).split(":")[0] for entry in service["volumes"]}
        assert mounts.get("/labdcs/nodered") == "./nodered" and mounts.get("/data") == "nodered-data"
    env = _as_mapping("environment", nodered["environment"])
    assert env["FLOWS"] == "/labdcs/nodered/flows.json"
    assert option(command_of(nodered), "--settings") == "/labdcs/nodered/settings.js"
    assert env["LABDCS_MQTT__HOST"] == "mosquitto" and env["NODERED_SECRETS_DIR"].startswith("/data/")
    assert not any("PASSWORD" in key and not key.endswith("_FILE") for key in env), "a secret in the file"
    assert modules["entrypoint"][-1] == "/labdcs/nodered/install-modules.sh"
    for name in ("settings.js", "flows.json", "install-modules.sh", "package-lock.json"):
        assert (ROOT / "nodered" / name).is_file(), f"nodered/{name} is missing"
    assert nodered["depends_on"]["nodered-modules"]["condition"] == "service_completed_successfully"


def test_dockerfile() -> None:
    instructions = dockerfile_instructions()
    keywords = [keyword for keyword, _ in instructions]
    assert keywords.count("FROM") >= 1
    args = {
        arguments.partition("=")[0]: arguments.partition("=")[2]
        for keyword, arguments in instructions[: keywords.index("FROM")]
        if keyword == "ARG"
    }
    base = args.get("PYTHON_IMAGE", "")
    assert base.startswith("python:3.11-slim-bookworm"), f"base image {base!r}"

    stage = final_stage()
    entrypoint = [arguments for keyword, arguments in stage if keyword == "ENTRYPOINT"]
    assert entrypoint and exec_form(entrypoint[-1]) == ["labdcs"]
    assert image_healthcheck() == HEALTHCHECK_CMD
    env = env_of(stage)
    assert env.get("LABDCS_HEALTH_FILE") == HEALTH_FILE
    assert env.get("PYTHONUNBUFFERED") == "1"
    users = [arguments for keyword, arguments in stage if keyword == "USER"]
    assert users, "the runtime stage must switch to a non-root user"
    assert users[-1].split(":")[0] not in ("root", "0"), f"runs as {users[-1]}"
    labels = " ".join(arguments for keyword, arguments in stage if keyword == "LABEL")
    for label in ("title", "version", "revision", "licenses"):
        assert f"org.opencontainers.image.{label}=" in labels, f"OCI label {label} missing"
    # /app/dummy/devices/*.yaml, used by the dummy stack, is in the image.
    workdir = "/"
    copied: list[str] = []
    for keyword, arguments in stage:
        if keyword == "WORKDIR":
            workdir = posixpath.join(workdir, arguments)
        elif keyword == "COPY" and not arguments.startswith("--from"):
            source, destination = arguments.split()[-2:]
            if source.rstrip("/") == "dummy":
                copied.append(posixpath.normpath(posixpath.join(workdir, destination)))
    assert IMAGE_DUMMY_DIR in copied, f"the runtime stage must copy dummy/ to {IMAGE_DUMMY_DIR}"


def test_dockerignore_keeps_the_context_clean() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for unwanted in (".git", ".venv", ".labdcs", "__pycache__", "node_modules", "secrets", ".env"):
        assert unwanted in patterns or f"**/{unwanted}" in patterns, f".dockerignore must exclude {unwanted}"
    if "*" in patterns:  # an allowlist: everything the Dockerfile copies must be let back in
        copied = {
            source.rstrip("/")
            for keyword, arguments in dockerfile_instructions()
            if keyword == "COPY" and not arguments.startswith("--from")
            for source in arguments.split()[:-1]
        }
        allowed = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
        left_out = {
            source
            for source in copied
            if not any(source == path or source.startswith(path + "/") for path in allowed)
        }
        assert not left_out, f".dockerignore leaves out {left_out}, which the Dockerfile copies"


# ---------------------------------------------------------------------------------------------
# With a Docker engine: the real parser
# ---------------------------------------------------------------------------------------------


def _docker_engine_reachable() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return (
            subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.docker
@pytest.mark.parametrize("name", STACKS)
def test_docker_compose_config(name: str) -> None:
    if not _docker_engine_reachable():
        pytest.skip("no Docker engine reachable")
    version = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=20, check=False)
    if version.returncode != 0:
        pytest.skip("the docker compose plugin is not installed")
    files = [argument for file in STACKS[name] for argument in ("-f", file)]
    result = subprocess.run(
        ["docker", "compose", *files, "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------------------
# Secrets (docs/security.md)
# ---------------------------------------------------------------------------------------------


def test_secrets_come_from_files_that_labdcs_init_makes() -> None:
    from labdcs.security.secrets import DOCKER_SECRETS

    model = load(BASE)
    declared = model["secrets"]
    for name, secret in declared.items():
        assert set(secret) == {"file"}, f"secret {name}: a file made by labdcs init"
        assert DOCKER_SECRETS.get(name) and secret["file"] == f"./secrets/{DOCKER_SECRETS[name]}", name
    for name, service in services(model).items():
        for secret in service.get("secrets", []):
            assert secret in declared, f"{name} uses the undeclared secret {secret}"
        for key, value in (service.get("environment") or {}).items():
            if ("PASSWORD" in key or "SECRET" in key) and not key.endswith("_DIR"):
                assert key.endswith("_FILE") and str(value).startswith("/run/secrets/"), f"{name}: {key}"
                assert str(value).removeprefix("/run/secrets/") in service.get("secrets", []), (
                    f"{name}: {key}"
                )


def test_no_default_credentials_and_every_client_logs_in() -> None:
    model = load(BASE)
    grafana = model["services"]["grafana"]["environment"]
    assert (
        grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
        and grafana["GF_USERS_AUTO_ASSIGN_ORG_ROLE"] == "Viewer"
    )
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE" in grafana and "GF_SECURITY_ADMIN_PASSWORD" not in grafana
    assert model["services"]["influxdb"]["environment"]["INFLUXDB_HTTP_AUTH_ENABLED"] == "true"
    assert "MONGO_INITDB_ROOT_PASSWORD_FILE" in model["services"]["mongodb"]["environment"]
    conf = read_text("mosquitto/mosquitto.conf")
    anonymous = re.findall(r"^allow_anonymous\s+(\S+)", conf, re.M)
    assert anonymous == ["false"], f"the broker must refuse anonymous clients, once: {anonymous}"
    assert (
        "password_file /run/secrets/mosquitto_passwd" in conf
        and "acl_file /run/secrets/mosquitto_acl" in conf
    )
    # The client-id plugin (a client id <user>:... belongs to that user): loaded, and where the
    # broker image built from mosquitto/Dockerfile puts it.
    assert re.findall(r"^plugin\s+(\S+)", conf, re.M) == ["/usr/lib/labdcs_clientid.so"]
    assert "COPY --from=build /src/labdcs_clientid.so /usr/lib/labdcs_clientid.so" in read_text(
        "mosquitto/Dockerfile"
    )
    assert services(model)["mosquitto"].get("build") == BROKER_BUILD
    for name, service in services(model).items():
        env = service.get("environment") or {}
        if env.get("LABDCS_MQTT__HOST") == "mosquitto":
            assert (
                env.get("LABDCS_MQTT__PASSWORD_FILE") == f"/run/secrets/mqtt_{env['LABDCS_MQTT__USERNAME']}"
            ), name


def test_the_experiments_manager_logs_in_to_mongodb_as_the_user_the_init_script_creates() -> None:
    model = load(BASE)
    mongodb, experiments = model["services"]["mongodb"], model["services"]["experiments"]
    env = experiments["environment"]
    script = read_text("mongodb/init/10-app-user.js")
    assert "./mongodb/init:/docker-entrypoint-initdb.d:ro" in mongodb["volumes"]
    assert f'user: "{env["LABDCS_DATABASE_USERNAME"]}"' in script
    assert 'role: "readWrite", db: "labdcs"' in script
    assert env["LABDCS_DATABASE_URL"].endswith("/labdcs")
    password = env["LABDCS_DATABASE_PASSWORD_FILE"]
    assert password.startswith("/run/secrets/") and password in script
    assert password.removeprefix("/run/secrets/") in mongodb["secrets"]
    # The API and UI do not start without their logins; the healthcheck asks the one open path.
    assert env["LABDCS_AUTH__ADMIN_PASSWORD_FILE"] == "/run/secrets/experiments_admin"
    assert "/healthz" in " ".join(experiments["healthcheck"]["test"])
