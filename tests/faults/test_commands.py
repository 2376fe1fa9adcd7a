"""Commands that cannot be replayed (issue 12, point 5): ``ts`` is required, a repeated id is answered
with its first ack and not carried out again, and every rejection reason is a sentence."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from labdcs.contract import Ack, AckResult, Command, decode, now_ms, topics
from labdcs.mqtt import MqttConnection
from labdcs.participant import Acknowledger, RecentCommands, decode_command
from tests.support import PROBE_USER, Broker, DeviceProcess, Probe, ScpiLink, hv_config, wait_until

SET_VOLTAGE = topics.command("hv1", "ch1", "set_voltage", PROBE_USER)
ACK = topics.ack("hv1")
STATE = topics.state("hv1", "ch1")


def _hv1(
    scpi_sim: Callable[..., tuple[Any, ScpiLink]],
    device_process: Callable[..., DeviceProcess],
    probe: Callable[..., Probe],
    **overrides: Any,
) -> tuple[DeviceProcess, Probe]:
    _, link = scpi_sim("keithley2410")
    watcher = probe(f"{topics.PREFIX}/hv1/#")
    device = device_process(hv_config(link.port, **overrides))
    watcher.wait_for(STATE, lambda s: s["status"] != "fault", timeout=15)
    return device, watcher


def _acks(watcher: Probe, command_id: str) -> list[Ack]:
    found = []
    for message in watcher.on(ACK):
        _, ack = decode(message.topic, message.payload)
        assert isinstance(ack, Ack)
        if ack.id == command_id:
            found.append(ack)
    return found


def _first_ack(watcher: Probe, command_id: str) -> Ack:
    return wait_until(lambda: next(iter(_acks(watcher, command_id)), None), 10, f"the ack of {command_id}")


def test_a_command_without_ts_is_refused_with_a_sentence(
    scpi_sim, device_process, probe, fault_report
) -> None:
    _, watcher = _hv1(scpi_sim, device_process, probe)
    refused = {
        "op-no-ts": ({"id": "op-no-ts", "value": 50.0}, "the command has no ts"),
        "op-text": (
            {"id": "op-text", "value": "100", "ts": now_ms()},
            'value must be a number or a boolean (true or false) (got "100")',
        ),
        "op-typo": (
            {"id": "op-typo", "valeu": 50.0, "ts": now_ms()},
            "the command has an unknown field 'valeu'",
        ),
    }
    for body, _ in refused.values():
        watcher.publish(SET_VOLTAGE, json.dumps(body))
    for command_id, (_, reason) in refused.items():
        ack = _first_ack(watcher, command_id)
        assert (ack.result, ack.reason) == ("rejected", reason)
    # Nothing was carried out: the target is still where the device started.
    states = [m.json() for m in watcher.on(STATE)]
    assert all(s["v_target"] == states[0]["v_target"] != 50.0 for s in states)
    fault_report(
        "command without `ts` (and other malformed commands) to hv1",
        f"{len(refused)} sent, {len(refused)} rejected, 0 carried out; reasons: "
        + "; ".join(f"'{reason}'" for _, reason in refused.values()),
    )


def test_a_replayed_command_gets_its_first_ack_and_is_not_carried_out_again(
    scpi_sim, device_process, probe, fault_report
) -> None:
    device, watcher = _hv1(scpi_sim, device_process, probe, max_command_age_s=3.0)
    captured = json.dumps({"id": "op-a", "value": 10.0, "user": "alice", "ts": now_ms()})
    watcher.publish(SET_VOLTAGE, captured)
    first = _first_ack(watcher, "op-a")
    assert first.result == "accepted" and first.repeat is None
    watcher.publish(SET_VOLTAGE, json.dumps({"id": "op-b", "value": 20.0, "ts": now_ms()}))
    assert _first_ack(watcher, "op-b").result == "accepted"
    watcher.wait_for(STATE, lambda s: s["v_target"] == 20.0)

    # The captured command again and again, and its id with another value: the first ack comes back.
    replays = 20
    for _ in range(replays):
        watcher.publish(SET_VOLTAGE, captured)
    watcher.publish(SET_VOLTAGE, json.dumps({"id": "op-a", "value": 30.0, "ts": now_ms()}))
    wait_until(lambda: len(_acks(watcher, "op-a")) == replays + 2, 10, "an ack for every replay")
    repeats = _acks(watcher, "op-a")[1:]
    assert all(ack == first.model_copy(update={"repeat": True}) for ack in repeats), repeats[0]
    # The target stayed at op-b's 20 V through the replays (states are published every 0.5 s).
    answered = watcher.on(ACK)[-1].at
    watcher.wait_for(STATE, after=answered + 0.6)
    targets = [m.json()["v_target"] for m in watcher.on(STATE)]
    assert set(targets[targets.index(20.0) :]) == {20.0}, targets
    carried_out = re.findall(r"command id=op-a .* -> accepted$", device.log_text(), re.MULTILINE)
    assert len(carried_out) == 1, device.log_text()

    # Once the window is over the id is forgotten, and the copy is refused as expired.
    ts = json.loads(captured)["ts"]
    wait_until(lambda: now_ms() > ts + 3_000, 10, "the max age to pass")
    watcher.publish(SET_VOLTAGE, captured)
    wait_until(lambda: len(_acks(watcher, "op-a")) == replays + 3, 10, "the late copy's ack")
    late = _acks(watcher, "op-a")[-1]
    assert late.result == "rejected" and late.repeat is None and "command expired" in (late.reason or "")
    fault_report(
        "replayed command (the same id) to hv1",
        f"{replays} copies and 1 same-id command within the max age (3 s): {len(repeats)} first acks again "
        "(`repeat: true`), 0 carried out again (audit: 1 accepted); a copy after the window: rejected as "
        "expired",
    )


def test_the_id_memory_is_bounded_by_age_and_count(broker: Broker, probe, fault_report) -> None:
    # By age: an id is kept until its command would be refused as expired, not longer.
    recent = RecentCommands(max_age_s=1.0, limit=3)
    ack = Ack(id="x", device="hv1", channel="ch1", verb="on", result="accepted", ts=now_ms())
    recent.remember(Command(id="old", ts=now_ms() - 1_500), ack)
    recent.remember(Command(id="new", ts=now_ms()), ack)
    assert recent.first_ack("old") is None and recent.first_ack("new") == ack
    assert len(recent) == 1

    # By count: past the cap a participant refuses new commands (and still acks them) rather than
    # forget an id that could then be replayed.
    watcher = probe(ACK)
    connection = MqttConnection(broker.mqtt("hv1"), client_id="test-hv1-intake")
    connection.start()
    try:
        assert connection.wait_connected(5)
        intake = Acknowledger(connection, "hv1", max_age_s=10.0)
        intake.recent.limit = 3
        carried_out = []
        for number in range(5):
            payload = json.dumps({"id": f"n-{number}", "ts": now_ms()}).encode()
            command = decode_command(
                topics.command("hv1", "ch1", "on", PROBE_USER), payload, "ch1", "on", intake
            )
            if command is not None:
                carried_out.append(command.id)
                intake(command.id, "ch1", "on", None, AckResult.ACCEPTED, None)
        wait_until(lambda: len(watcher.on(ACK)) == 5, 10, "five acks")
    finally:
        connection.stop()
    assert carried_out == ["n-0", "n-1", "n-2"] and len(intake.recent) == 3
    refused = [m.json() for m in watcher.on(ACK)][3:]
    assert all(
        a["result"] == "rejected" and a["reason"].startswith("device busy: 3 commands") for a in refused
    )
    fault_report(
        "more command ids within the max age than a device keeps",
        "cap 3 (10,000 in service): 5 sent, 3 carried out, 2 refused 'device busy' (none forgotten); "
        "an id whose command is older than the max age is dropped",
    )
