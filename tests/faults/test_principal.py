"""The audit names the authenticated principal, never a claim alone (issue 12, point 5): a command
topic ends in the sender's broker login, which the broker's ACL pins to the login, so a device
records who really sent a command next to the person the command claims (``cli (claims alice)``).

The forged topics are written out literally, as an attacker would, not with the contract's builders."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from labdcs.client import ContractClient
from labdcs.contract import Ack, decode, now_ms, topics
from labdcs.security.mosquitto import SERVICE_USERS, Role, render_acl
from tests.support import Broker, DeviceProcess, Probe, ScpiLink, hv_config

ACK = topics.ack("hv1")
STATE = topics.state("hv1", "ch1")


def _hv1(
    scpi_sim: Callable[..., tuple[Any, ScpiLink]],
    device_process: Callable[..., DeviceProcess],
    probe: Callable[..., Probe],
) -> tuple[DeviceProcess, Probe]:
    """hv1 running, and the harness's own eyes on everything under it (commands included: the
    ``probe`` login reads everything, so a command the broker delivered would show here)."""
    _, link = scpi_sim("keithley2410")
    watcher = probe(f"{topics.PREFIX}/hv1/#")
    device = device_process(hv_config(link.port))
    watcher.wait_for(STATE, lambda s: s["status"] != "fault", timeout=15)
    return device, watcher


def _ack_ids(watcher: Probe) -> set[str | None]:
    ids = set()
    for message in watcher.on(ACK):
        _, ack = decode(message.topic, message.payload)
        assert isinstance(ack, Ack)
        ids.add(ack.id)
    return ids


def _body(command_id: str, value: float | None = None, user: str | None = None) -> str:
    body: dict[str, Any] = {"id": command_id, "ts": now_ms()}
    if value is not None:
        body["value"] = value
    if user is not None:
        body["user"] = user
    return json.dumps(body)


def test_a_login_cannot_send_under_another_logins_name(
    broker: Broker, scpi_sim, device_process, probe, fault_report
) -> None:
    device, watcher = _hv1(scpi_sim, device_process, probe)
    attacker = probe(username="cli")
    forged = {
        # Node-RED's name in the sender level, claiming its operator.
        **{f"as-nodered-{n}": "labdcs/v1/hv1/ch1/cmd/set_voltage/nodered" for n in range(10)},
        "ack-as-nodered": "labdcs/v1/hv1/alarm/watchdog/cmd/acknowledge/nodered",
        # The 1.x form, without any sender level, claiming to be nodered in the payload.
        **{f"old-form-{n}": "labdcs/v1/hv1/ch1/cmd/set_voltage" for n in range(5)},
        "old-form-ack": "labdcs/v1/hv1/alarm/watchdog/cmd/acknowledge",
    }
    for command_id, topic in forged.items():
        attacker.publish(topic, _body(command_id, None if "ack" in command_id else 123.0, "nodered"))
    # Delivery works: the same login under its own name is carried out, and audited as itself. The
    # broker took the forged ones first (each publish waited for its PUBACK) and the device answers
    # in order, so once this ack is in, a forged command it delivered would have been seen and acked.
    with ContractClient(broker.mqtt("cli")) as client:
        ack = client.command("hv1", "ch1", "set_voltage", 20.0, user="nodered")
    assert (ack.result, ack.principal, ack.user) == ("accepted", "cli", "nodered")
    watcher.wait_for(ACK, lambda a: a.get("id") == ack.id)
    delivered = [m.topic for m in watcher.messages if "/cmd/" in m.topic and not m.topic.endswith("/cli")]
    assert delivered == [], "the broker delivered a forged command"
    answered = _ack_ids(watcher) & set(forged)
    assert answered == set(), "the device answered a forged command"
    log = device.log_text()
    assert "by cli (claims nodered) -> accepted" in log
    assert " by nodered" not in log, "something was audited as nodered"
    assert all(m.json()["v_target"] != 123.0 for m in watcher.on(STATE))
    fault_report(
        "`cli` login sends commands under `nodered`'s name (sender level) and on the 1.x topic form",
        f"{len(forged)} sent ({sum('nodered' in t for t in forged.values())} with sender `nodered`, "
        f"{sum(t.endswith(('set_voltage', 'acknowledge')) for t in forged.values())} in the 1.x form): "
        "0 delivered, 0 acks, 0 audit lines naming nodered; the same login under its own name: "
        "accepted, audited `cli (claims nodered)`",
    )


def test_a_claimed_user_is_audited_next_to_the_login_it_came_through(
    broker: Broker, scpi_sim, device_process, probe, fault_report
) -> None:
    device, watcher = _hv1(scpi_sim, device_process, probe)
    with ContractClient(broker.mqtt("cli")) as client:
        claimed = client.command("hv1", "ch1", "set_voltage", 30.0, user="alice")
        unnamed = client.command("hv1", "ch1", "set_ramp_rate", 10.0)
        refused = client.command("hv1", "ch1", "set_voltage", 900.0, user="alice")
    assert (claimed.result, claimed.principal, claimed.user) == ("accepted", "cli", "alice")
    assert (unnamed.result, unnamed.principal, unnamed.user) == ("accepted", "cli", None)
    assert (refused.result, refused.principal, refused.user) == ("rejected", "cli", "alice")
    log = device.log_text()
    lines = {
        command.id: next((line for line in log.splitlines() if f"command id={command.id} " in line), "")
        for command in (claimed, unnamed, refused)
    }
    assert "set_voltage value=30.0 by cli (claims alice) -> accepted" in lines[claimed.id]
    assert "set_ramp_rate value=10.0 by cli -> accepted" in lines[unnamed.id]
    assert "by cli (claims alice) -> rejected" in lines[refused.id]
    assert not any(" user=alice" in line or " by alice" in line for line in log.splitlines())
    assert watcher.on(ACK), "the acks are published for every client to read"
    fault_report(
        "`cli` sends commands claiming `alice` (and one naming nobody)",
        "3 commands: audited `cli (claims alice)` (accepted and rejected) and `cli`; acks carry "
        "`principal: cli` and `user: alice`; no audit line names alice alone",
    )


def test_a_device_login_cannot_command_another_device(
    broker: Broker, scpi_sim, device_process, probe, fault_report
) -> None:
    _, watcher = _hv1(scpi_sim, device_process, probe)
    barrier = probe(f"{topics.PREFIX}/hv1/#", f"{topics.PREFIX}/hv2/#")
    hv2 = probe(username="hv2")
    attempts = {
        "hv2-own-name": "labdcs/v1/hv1/ch1/cmd/on/hv2",
        "hv2-as-cli": "labdcs/v1/hv1/ch1/cmd/on/cli",
        "hv2-as-nodered": "labdcs/v1/hv1/ch1/cmd/on/nodered",
        "hv2-old-form": "labdcs/v1/hv1/ch1/cmd/on",
        "hv2-ack-alarm": "labdcs/v1/hv1/alarm/watchdog/cmd/acknowledge/hv2",
    }
    for command_id, topic in attempts.items():
        hv2.publish(topic, _body(command_id, user="alice"))
    hv2.publish(topics.state("hv2", "ch1"), b'{"own": true}')  # allowed: proves delivery works
    # In order on one connection: anything the broker took from hv2 before is in by then ...
    barrier.wait_for(topics.state("hv2", "ch1"), timeout=10)
    # ... and hv1 answers in order: a command it got from hv2 would be acked before this one.
    with ContractClient(broker.mqtt("cli")) as client:
        last = client.command("hv1", "ch1", "set_ramp_rate", 10.0)
    watcher.wait_for(ACK, lambda a: a.get("id") == last.id)
    delivered = [m.topic for m in barrier.messages if "/cmd/" in m.topic and not m.topic.endswith("/cli")]
    assert delivered == []
    assert _ack_ids(watcher) & set(attempts) == set()
    assert all(m.json()["output"] is False for m in watcher.on(STATE))
    fault_report(
        "device login `hv2` commands `hv1` (own name, a commander's name, the 1.x form, an alarm)",
        f"{len(attempts)} sent: 0 delivered, 0 acks, hv1/ch1 stayed off",
    )


def test_the_acl_lets_each_commander_write_commands_under_its_own_name_only() -> None:
    """Literal lines per commander: a ``pattern`` line would apply to devices too, and Mosquitto
    2.0.11 does not substitute ``%u`` in a user's ``topic`` lines."""
    users = {**SERVICE_USERS, "hv1": Role.DEVICE}
    acl = render_acl(users).splitlines()
    blocks: dict[str, list[str]] = {}
    for line in acl:
        if line.startswith("user "):
            current = blocks.setdefault(line.split()[1], [])
        elif line.startswith("topic ") and blocks:
            current.append(line)
    for user, role in users.items():
        writes = [
            line.split()[2] for line in blocks.get(user, []) if line.split()[1] in ("write", "readwrite")
        ]
        if role is Role.COMMANDER:
            assert writes == [topics.command("+", "+", "+", user), topics.alarm_command("+", "+", "+", user)]
        else:
            assert writes == [], user
    patterns = [line.split()[2] for line in acl if line.startswith("pattern ") and "write" in line.split()[1]]
    assert not any(
        "/cmd/" in pattern or ("%u" not in pattern and "%c" not in pattern) for pattern in patterns
    )
