"""Trips and alarms end to end: an over-current switches the channel off and latches until
`clear_trip`, also across a restart of the service; alarms are retained, acknowledged by command
(and with the CLI), and cleared."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

from labdcs.contract import topics
from labdcs.contract.models import AckResult
from tests.safety.conftest import Sim, Start, ack_of, command, hv, send
from tests.support import PROBE_USER

ALARM = topics.alarm("hv1", "ch1-trip")


def test_over_current_trips_the_channel_until_cleared_and_the_alarm_is_acknowledged(
    scpi_sim: Sim, device_process: Start, probe: Any, broker: Any
) -> None:
    _, bias = scpi_sim("keithley2410")
    watcher = probe("labdcs/v1/#")
    config = {**hv("hv1", bias.port, trip_current=5e-5), "on_exit": "keep"}
    device = device_process(config)
    watcher.wait_for(topics.state("hv1", "ch1"), lambda s: s["status"] == "off", timeout=30)
    assert command(watcher, "hv1", "ch1", "set_voltage", 10.0).result == "accepted"
    assert command(watcher, "hv1", "ch1", "on").result == "accepted"
    watcher.wait_for(
        topics.state("hv1", "ch1"), lambda s: s["v_set"] == 10.0 and not s["ramping"], timeout=10
    )

    shorted = time.monotonic()
    bias.write("SIM:LOAD 1e5")  # 10 V into 100 kOhm: 100 uA, above the 50 uA trip level
    tripped = watcher.wait_for(
        topics.state("hv1", "ch1"), lambda s: s["status"] == "tripped", after=shorted, timeout=10
    )
    assert tripped.json()["output"] is False and "over-current" in tripped.json()["trip"]
    assert tripped.json()["i_mon"] > 5e-5, "the state shows the reading that tripped it"
    assert bias.query(":OUTP?") in ("0", "OFF")
    alarm = watcher.wait_for(ALARM, lambda a: a["active"], timeout=5).json()
    assert alarm["severity"] == "error" and alarm["channel"] == "ch1"

    bias.write("SIM:LOAD 1e9")  # the cause is gone: the trip stays, the output stays off
    refused = command(watcher, "hv1", "ch1", "on")
    assert refused.result == "rejected" and "clear_trip" in (refused.reason or "")
    count = len(watcher.on(topics.state("hv1", "ch1")))
    watcher.wait_for(topics.state("hv1", "ch1"), lambda s: True, after=time.monotonic() + 0.5, timeout=5)
    later = [m.json() for m in watcher.on(topics.state("hv1", "ch1"))[count:]]
    assert later and all(s["status"] == "tripped" and not s["output"] for s in later)

    # Acknowledge: `user` is required; then the retained alarm says who and when.
    anonymous = ack_of(
        watcher, "hv1", send(watcher, topics.alarm_command("hv1", "ch1-trip", "acknowledge", PROBE_USER))
    )
    assert anonymous.result == "rejected" and "user" in (anonymous.reason or "")
    assert anonymous.channel == "alarm" and anonymous.alarm == "ch1-trip"
    unknown = ack_of(
        watcher,
        "hv1",
        send(watcher, topics.alarm_command("hv1", "nope", "acknowledge", PROBE_USER), user="bob"),
    )
    assert unknown.result == "rejected" and "no alarm 'nope'" in (unknown.reason or "")
    cli = [sys.executable, "-m", "labdcs", "alarm"]
    login = {**os.environ, **broker.env("cli")}  # the operators' broker user
    port = ["--port", str(broker.port)]
    acked = subprocess.run(
        [*cli, "ack", "hv1", "ch1-trip", "--user", "alice", *port], capture_output=True, text=True, env=login
    )
    assert acked.returncode == 0 and acked.stdout.strip() == "accepted", acked.stdout + acked.stderr
    acknowledged = watcher.wait_for(ALARM, lambda a: a.get("acknowledged_by") == "alice", timeout=5).json()
    assert acknowledged["active"] and acknowledged["raised"] == alarm["raised"]
    late = probe(topics.ALL_ALARMS).wait_for(ALARM, timeout=5)
    assert late.retained and late.json()["acknowledged_by"] == "alice", "a late subscriber sees it"
    listed = subprocess.run([*cli, "list", *port], capture_output=True, text=True, env=login)
    assert "hv1/ch1-trip [error]" in listed.stdout and "acknowledged by alice" in listed.stdout, listed.stdout

    # A restart of the service keeps the trip latched (and the alarm, with its times).
    device.kill()
    restarted = device_process(config)
    boot = tripped.json()["boot"]
    kept = watcher.wait_for(
        topics.state("hv1", "ch1"), lambda s: s["boot"] != boot and s["status"] != "fault", timeout=30
    )
    assert kept.json()["status"] == "tripped" and kept.json()["trip"] == tripped.json()["trip"]
    assert command(watcher, "hv1", "ch1", "on").result == "rejected"
    assert bias.query(":OUTP?") in ("0", "OFF")
    assert "trip latched by the previous run kept" in restarted.log_text()
    current = probe(ALARM).wait_for(ALARM, timeout=5).json()
    assert (
        current["active"] and current["raised"] == alarm["raised"] and current["acknowledged_by"] == "alice"
    )

    cleared_at = time.monotonic()
    assert command(watcher, "hv1", "ch1", "clear_trip", user="alice").result == AckResult.ACCEPTED
    off = watcher.wait_for(
        topics.state("hv1", "ch1"), lambda s: s["status"] == "off", after=cleared_at, timeout=5
    )
    assert "trip" not in off.json() and off.json()["output"] is False, "clearing switches nothing on"
    gone = watcher.wait_for(ALARM, lambda a: not a["active"], after=cleared_at, timeout=5).json()
    assert gone["cleared"] >= gone["raised"]
    assert command(watcher, "hv1", "ch1", "on").result == "accepted"
    on = watcher.wait_for(
        topics.state("hv1", "ch1"), lambda s: s["output"] and not s["ramping"], after=cleared_at, timeout=10
    )
    assert on.json()["status"] == "on" and on.json()["v_set"] == 10.0


def test_alarms_of_a_previous_run_that_no_longer_apply_are_cleared(
    scpi_sim: Sim, device_process: Start, probe: Any
) -> None:
    """A service that died with an active alarm clears it at its next start when it no longer applies."""
    _, bias = scpi_sim("keithley2410")
    watcher = probe("labdcs/v1/#")
    stale = (
        '{"alarm":"instrument","device":"hv1","severity":"error","message":"instrument not answering: '
        'timeout","active":true,"raised":1767225600000}'
    )
    watcher.publish(topics.alarm("hv1", "instrument"), stale, retain=True)
    device_process(hv("hv1", bias.port))
    cleared = watcher.wait_for(
        topics.alarm("hv1", "instrument"), lambda a: not a["active"], timeout=30
    ).json()
    assert cleared["raised"] == 1767225600000 and cleared["cleared"] > cleared["raised"]
