"""A trip does not wait for the publish period: the live output is read at the protection pace
(``protection_period``), the output switched off and the trip published at once."""

from __future__ import annotations

import time
from typing import Any

from labdcs.contract import topics
from tests.safety.conftest import Sim, Start, command, hv

PUBLISH_PERIOD_S = 10.0
PROTECTION_PERIOD_S = 0.05
#: Well under the publish period, generous for a loaded 2-core machine.
BOUND_S = 2.0


def test_an_over_current_trips_well_within_the_publish_period(
    scpi_sim: Sim, device_process: Start, probe: Any
) -> None:
    _, bias = scpi_sim("keithley2410")
    watcher = probe("labdcs/v1/hv1/#")
    config = {
        **hv("hv1", bias.port, trip_current=5e-5),
        "publish_period": PUBLISH_PERIOD_S,
        "protection_period": PROTECTION_PERIOD_S,
        "on_exit": "keep",
    }
    device_process(config)
    watcher.wait_for(topics.state("hv1", "ch1"), lambda s: s["status"] == "off", timeout=30)
    assert command(watcher, "hv1", "ch1", "set_voltage", 10.0).result == "accepted"
    assert command(watcher, "hv1", "ch1", "on").result == "accepted"
    settled = watcher.wait_for(
        topics.state("hv1", "ch1"), lambda s: s["v_set"] == 10.0 and not s["ramping"], timeout=10
    )

    shorted = time.monotonic()
    bias.write("SIM:LOAD 1e5")  # 10 V into 100 kOhm: 100 uA, above the 50 uA trip level
    tripped = watcher.wait_for(
        topics.state("hv1", "ch1"), lambda s: s["status"] == "tripped", after=shorted, timeout=15
    )
    elapsed = tripped.at - shorted
    body = tripped.json()
    assert elapsed < BOUND_S, (
        f"trip published {elapsed:.2f} s after the fault (publish period {PUBLISH_PERIOD_S} s)"
    )
    assert body["ts"] - settled.json()["ts"] < PUBLISH_PERIOD_S * 1000, "before the next periodic state"
    assert body["output"] is False and body["i_mon"] > 5e-5
    assert bias.query(":OUTP?") in ("0", "OFF"), "the output is off at the instrument"
