"""The device service against a real Mosquitto and a simulated Keithley 2410 over TCP."""

from __future__ import annotations

import itertools
import json
import signal
import time
from collections.abc import Callable
from typing import Any

from labdcs.contract import decode, now_ms, topics
from labdcs.contract.models import Ack, DeviceMeta, Online, PowerChannelState
from tests.devices.conftest import ScpiLink, hv_config
from tests.support import PROBE_USER, Broker, DeviceProcess, Probe, wait_until

STATE = topics.state("hv1", "ch1")
ACK = topics.ack("hv1")


def command(probe: Probe, verb: str, value: Any = None, command_id: str | None = None, **extra: Any) -> str:
    command_id = command_id or f"t-{verb}-{time.monotonic_ns()}"
    body: dict[str, Any] = {"id": command_id, "ts": now_ms(), **extra}
    if value is not None:
        body["value"] = value
    probe.publish(topics.command("hv1", "ch1", verb, PROBE_USER), json.dumps(body))
    return command_id


def ack_of(probe: Probe, command_id: str, timeout: float = 5.0) -> Ack:
    message = probe.wait_for(ACK, lambda a: a.get("id") == command_id, timeout=timeout)
    _, ack = decode(message.topic, message.payload)
    assert isinstance(ack, Ack)
    return ack


def last_state(probe: Probe) -> PowerChannelState:
    message = probe.on(STATE)[-1]
    _, state = decode(message.topic, message.payload)
    assert isinstance(state, PowerChannelState)
    return state


def started_device(
    scpi_sim: Callable[..., tuple[Any, ScpiLink]],
    device_process: Callable[..., DeviceProcess],
    probe: Callable[..., Probe],
    **overrides: Any,
) -> tuple[DeviceProcess, ScpiLink, Probe]:
    _, link = scpi_sim("keithley2410")
    watcher = probe(f"{topics.PREFIX}/hv1/#")
    device = device_process(hv_config(link.port, **overrides))
    watcher.wait_for(topics.online("hv1"), lambda m: m["online"], timeout=15)
    watcher.wait_for(STATE, lambda s: s["status"] != "fault", timeout=15)
    return device, link, watcher


def test_meta_online_and_state_are_retained_for_late_subscribers(scpi_sim, device_process, probe) -> None:
    started_device(scpi_sim, device_process, probe)
    late = probe(f"{topics.PREFIX}/hv1/#")
    meta_message = late.wait_for(topics.meta("hv1"), lambda m: m.get("identity") is not None)
    online_message = late.wait_for(topics.online("hv1"))
    state_message = late.wait_for(STATE)
    assert meta_message.retained and online_message.retained and state_message.retained
    _, meta = decode(meta_message.topic, meta_message.payload)
    assert isinstance(meta, DeviceMeta)
    assert meta.identity is not None and "2410" in meta.identity.model
    channel = meta.channels[0]
    assert channel.limits is not None and channel.limits.max_voltage == 500.0
    assert {c.verb for c in channel.commands} == {
        "set_voltage",
        "set_current_limit",
        "set_ramp_rate",
        "on",
        "off",
        "clear_trip",
    }
    _, online = decode(online_message.topic, online_message.payload)
    assert isinstance(online, Online) and online.online and online.boot == meta.boot
    _, state = decode(state_message.topic, state_message.payload)
    assert isinstance(state, PowerChannelState) and state.boot == meta.boot


def test_state_is_published_every_period_with_a_growing_sequence(scpi_sim, device_process, probe) -> None:
    _, _, watcher = started_device(scpi_sim, device_process, probe, publish_period=0.3)
    first = len(watcher.on(STATE))
    wait_until(lambda: len(watcher.on(STATE)) >= first + 5, 5, "five more state messages")
    states = [m.json() for m in watcher.on(STATE) if not m.retained]
    seqs = [s["seq"] for s in states]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    gaps = [b["ts"] - a["ts"] for a, b in itertools.pairwise(states)]
    assert max(gaps) < 300 * 2.5, gaps


def test_sigkill_sends_offline_through_the_last_will(scpi_sim, device_process, probe) -> None:
    device, _, watcher = started_device(scpi_sim, device_process, probe)
    keepalive = 2.0
    killed_at = time.monotonic()
    device.kill()
    offline = watcher.wait_for(topics.online("hv1"), lambda m: not m["online"], timeout=keepalive * 1.5 + 1)
    elapsed = offline.at - killed_at
    assert elapsed <= keepalive * 1.5, f"last will after {elapsed:.2f} s"
    assert offline.json()["reason"] == "connection lost"
    late = probe(topics.online("hv1"))
    assert late.wait_for(topics.online("hv1")).json()["online"] is False


def test_a_hung_service_goes_offline_within_one_and_a_half_keepalives(
    scpi_sim, device_process, probe
) -> None:
    """SIGSTOP keeps the socket open: only the broker's keep-alive check can notice (a hung host).

    Mosquitto 2.0 runs that check every few seconds, so the bound is 1.5 x keep-alive plus its
    period (5 s); a killed process is faster (the closed socket fires the will at once, see above).
    """
    device, _, watcher = started_device(scpi_sim, device_process, probe)
    keepalive = 2.0
    assert device.process is not None
    last_packet = watcher.on(STATE)[-1].at
    device.process.send_signal(signal.SIGSTOP)
    try:
        offline = watcher.wait_for(
            topics.online("hv1"), lambda m: not m["online"], timeout=keepalive * 1.5 + 12
        )
        elapsed = offline.at - last_packet
        # Lower bound: the will comes from the keep-alive check, not from anything else; upper: 1.5 x
        # keep-alive + Mosquitto's check period (5 s) + slack for a loaded 2-core machine.
        assert keepalive * 1.5 - 1.0 <= elapsed <= keepalive * 1.5 + 8.0, f"will after {elapsed:.2f} s"
    finally:
        device.process.send_signal(signal.SIGCONT)


def test_out_of_range_command_is_rejected_with_the_limit_and_leaves_the_instrument_alone(
    scpi_sim, device_process, probe
) -> None:
    _, link, watcher = started_device(scpi_sim, device_process, probe)
    before = float(link.query(":SOUR:VOLT?"))
    ack = ack_of(watcher, command(watcher, "set_voltage", 1200.0))
    assert ack.result == "rejected"
    assert ack.reason is not None and "500.0 V" in ack.reason and "above" in ack.reason
    assert float(link.query(":SOUR:VOLT?")) == before
    assert link.query(":OUTP?") in ("0", "OFF")


def test_voltage_change_ramps_at_the_configured_rate(scpi_sim, device_process, probe) -> None:
    _, link, watcher = started_device(scpi_sim, device_process, probe)
    assert ack_of(watcher, command(watcher, "on")).result == "accepted"
    started = time.monotonic()
    assert ack_of(watcher, command(watcher, "set_voltage", 60.0)).result == "accepted"
    done = watcher.wait_for(
        STATE, lambda s: s["v_set"] == 60.0 and not s["ramping"], timeout=15, after=started
    )
    ramp = [m.json() for m in watcher.on(STATE) if started <= m.at <= done.at and m.json()["ramping"]]
    points = [(s["ts"] / 1000.0, s["v_set"]) for s in ramp if 6.0 <= s["v_set"] <= 54.0]
    assert len(points) >= 10, "the ramp should be visible step by step in the state"
    (t0, v0), (t1, v1) = points[0], points[-1]
    rate = (v1 - v0) / (t1 - t0)
    assert 20.0 * 0.85 <= rate <= 20.0 * 1.15, f"measured ramp rate {rate:.1f} V/s, configured 20 V/s"
    assert all(b[1] >= a[1] for a, b in itertools.pairwise(points)), "monotonic ramp"
    wait_until(lambda: abs(float(link.query(":SOUR:VOLT?")) - 60.0) < 1e-6, 5, "instrument setpoint 60 V")
    final = watcher.wait_for(
        STATE, lambda s: s["v_mon"] is not None and abs(s["v_mon"] - 60.0) < 0.5, after=done.at
    )
    assert final.json()["output"] is True


def test_malformed_json_is_answered_logged_and_survived(scpi_sim, device_process, probe) -> None:
    device, _, watcher = started_device(scpi_sim, device_process, probe)
    watcher.publish(topics.command("hv1", "ch1", "set_voltage", PROBE_USER), b"{not json")
    bad = watcher.wait_for(ACK, lambda a: a["result"] == "rejected" and "malformed JSON" in a["reason"])
    assert bad.json().get("id") is None
    salvaged = ack_of(watcher, command(watcher, "set_voltage", "ten", command_id="typed-1"))
    assert salvaged.result == "rejected" and salvaged.reason is not None and "value" in salvaged.reason
    unknown = ack_of(watcher, command(watcher, "explode"))
    assert unknown.result == "rejected" and "unknown verb 'explode'" in (unknown.reason or "")
    assert device.alive()
    assert ack_of(watcher, command(watcher, "set_voltage", 5.0)).result == "accepted"
    log = device.log_text()
    assert "malformed JSON" in log and "explode" in log


def test_unknown_channel_and_expired_commands_are_rejected(scpi_sim, device_process, probe) -> None:
    _, _, watcher = started_device(scpi_sim, device_process, probe)
    watcher.publish(topics.command("hv1", "ch9", "on", PROBE_USER), json.dumps({"id": "c-9", "ts": now_ms()}))
    ack = ack_of(watcher, "c-9")
    assert ack.result == "rejected" and "unknown channel 'ch9'" in (ack.reason or "")
    old = int(time.time() * 1000) - 60_000
    expired = ack_of(watcher, command(watcher, "on", ts=old))
    assert expired.result == "rejected" and "expired" in (expired.reason or "")
    assert last_state(watcher).output is False


def test_broker_restart_loses_no_subscription_and_no_sequence_number(
    scpi_sim, device_process, probe, broker: Broker
) -> None:
    started_device(scpi_sim, device_process, probe, publish_period=0.2)
    # A persistent-session subscriber (as the ingester will be): the broker keeps its queue across
    # the restart, so every state the device sends must arrive, with consecutive sequence numbers.
    durable = probe(STATE, client_id="durable-probe", clean_session=False)
    wait_until(lambda: len([m for m in durable.on(STATE) if not m.retained]) >= 3, 5, "states before restart")
    broker.restart()
    wait_until(durable.connected.is_set, 15, "probe reconnect")
    count = len(durable.on(STATE))
    wait_until(lambda: len(durable.on(STATE)) >= count + 5, 15, "states after the restart")
    live = [m.json() for m in durable.on(STATE) if not m.retained]
    seqs = sorted({s["seq"] for s in live if s["boot"] == live[0]["boot"]})
    assert seqs == list(range(seqs[0], seqs[-1] + 1)), f"gap in sequence: {seqs}"
    commander = probe(ACK)
    ack = ack_of(commander, command(commander, "set_voltage", 3.0), timeout=10)
    assert ack.result == "accepted", "the command subscription must be back after the restart"


def test_instrument_not_answering_is_a_fault_with_an_alarm_and_recovers(
    scpi_sim, device_process, probe
) -> None:
    device, link, watcher = started_device(scpi_sim, device_process, probe)
    link.write("SIM:MUTE ON", confirm=False)
    fault = watcher.wait_for(STATE, lambda s: s["status"] == "fault", timeout=10)
    assert "fault" in fault.json() and fault.json().get("v_mon") is None
    alarm = watcher.wait_for(topics.alarm("hv1", "instrument"), lambda a: a["active"], timeout=5)
    assert alarm.json()["severity"] == "error"
    late = probe(topics.alarm("hv1", "+"))
    assert late.wait_for(topics.alarm("hv1", "instrument")).retained, "active alarms are retained"
    rejected = ack_of(watcher, command(watcher, "on"))
    assert rejected.result == "rejected" and "device offline" in (rejected.reason or "")
    link.write("SIM:MUTE OFF")
    recovered = watcher.wait_for(STATE, lambda s: s["status"] != "fault", timeout=15, after=fault.at)
    assert recovered.json()["output"] is False
    watcher.wait_for(topics.alarm("hv1", "instrument"), lambda a: not a["active"], timeout=5)
    cleared = probe(topics.alarm("hv1", "+")).wait_for(topics.alarm("hv1", "instrument"))
    assert (
        cleared.retained
        and cleared.json()["active"] is False
        and cleared.json()["cleared"] >= alarm.json()["raised"]
    )
    assert device.alive()


def test_restart_never_switches_an_output_on_and_adopts_the_instrument(
    scpi_sim, device_process, probe
) -> None:
    device, link, watcher = started_device(scpi_sim, device_process, probe, on_exit="keep")
    first_boot = last_state(watcher).boot
    assert ack_of(watcher, command(watcher, "on")).result == "accepted"
    assert ack_of(watcher, command(watcher, "set_voltage", 10.0)).result == "accepted"
    watcher.wait_for(STATE, lambda s: s["v_set"] == 10.0 and not s["ramping"], timeout=10)
    device.kill()
    second = device_process(hv_config(link.port, on_exit="keep"))
    adopted = watcher.wait_for(
        STATE, lambda s: s["boot"] != first_boot and s["status"] != "fault", timeout=15
    )
    assert adopted.json()["output"] is True and adopted.json()["v_set"] == 10.0, (
        "output kept as the instrument has it"
    )
    assert adopted.json()["seq"] == 0, "a new boot starts its sequence at 0"
    # A channel that is off stays off across a restart.
    assert ack_of(watcher, command(watcher, "off")).result == "accepted"
    wait_until(lambda: link.query(":OUTP?") in ("0", "OFF"), 15, "output off after the ramp-down")
    second_boot = last_state(watcher).boot
    second.kill()
    third = device_process(hv_config(link.port, on_exit="keep"))
    restarted = watcher.wait_for(STATE, lambda s: s["boot"] not in (first_boot, second_boot), timeout=15)
    assert restarted.json()["output"] is False
    assert link.query(":OUTP?") in ("0", "OFF")
    assert third.alive()


def test_sigterm_ramps_hv_down_and_switches_off(scpi_sim, device_process, probe) -> None:
    device, link, watcher = started_device(scpi_sim, device_process, probe)
    assert ack_of(watcher, command(watcher, "on")).result == "accepted"
    assert ack_of(watcher, command(watcher, "set_voltage", 20.0)).result == "accepted"
    watcher.wait_for(STATE, lambda s: s["v_set"] == 20.0 and not s["ramping"], timeout=10)
    stopping = time.monotonic()
    assert device.terminate(timeout=30) == 0
    took = time.monotonic() - stopping
    assert took >= 20.0 / 20.0 * 0.8, f"ramp-down took only {took:.2f} s: not ramped"
    assert link.query(":OUTP?") in ("0", "OFF")
    assert abs(float(link.query(":SOUR:VOLT?"))) < 1e-6
    offline = watcher.wait_for(topics.online("hv1"), lambda m: not m["online"], timeout=5)
    assert offline.json()["reason"] == "service stopped"
