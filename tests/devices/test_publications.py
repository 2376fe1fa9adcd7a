"""Periodic states keep their cadence: a tick that wakes late does not push every later state back
(at 10 Hz a few ms per tick would otherwise cost a few percent of the states)."""

from __future__ import annotations

from labdcs.devices.publishing import Publications

PERIOD = 0.1
LATE = 0.004  # every tick wakes 4 ms after the state was due


def test_periodic_states_keep_the_cadence_when_ticks_wake_late() -> None:
    publications = Publications(["ch1"])
    now = 0.0
    publications.sent("ch1", now, PERIOD)  # the first state (dirty at start): the cadence starts here
    sent = 1
    while now < 10.0:
        now = publications.next_due(PERIOD) + LATE
        assert publications.due(now, PERIOD) == ["ch1"]
        publications.sent("ch1", now, PERIOD)
        sent += 1
    assert sent >= 100, f"{sent} states in {now:.2f} s at {1 / PERIOD:g} Hz"


def test_a_change_restarts_the_cadence_and_a_stall_does_not_cause_a_burst() -> None:
    publications = Publications(["ch1"])
    publications.sent("ch1", 0.0, PERIOD)
    publications.mark("ch1")
    publications.sent("ch1", 0.05, PERIOD)  # sent for a change: the next periodic one a period later
    assert publications.next_due(PERIOD) == 0.05 + PERIOD
    publications.sent("ch1", 0.15, PERIOD)
    publications.sent("ch1", 1.0, PERIOD)  # stalled for 0.85 s: no catching up state after state
    assert publications.due(1.0 + PERIOD / 2, PERIOD) == []
