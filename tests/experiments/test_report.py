"""The report's figures as people read them: plain decimals at every everyday scale (never
``2.09e-07``), durations as a clock shows them, a time axis in a unit that suits the run."""

from __future__ import annotations

from labdcs.experiments.report import duration, number, time_unit


def test_numbers_are_plain_decimals() -> None:
    assert [number(v) for v in (2.09e-7, 0.4172345, 3.8312, 12345.6, 0.000123456, -2.5, 0.0, None)] == [
        "0", "0.4172", "3.831", "12346", "0.000123", "-2.500", "0", "-",
    ]  # fmt: skip
    assert number(99.94012, 5) == "99.940"


def test_durations_read_as_a_clock() -> None:
    assert [duration(s) for s in (0.00075, 125, 3600, 100_000, None)] == [
        "0:00:00", "0:02:05", "1:00:00", "1 d 03:46:40", "-",
    ]  # fmt: skip


def test_the_time_axis_unit_suits_the_span() -> None:
    assert [time_unit(s)[1] for s in (60, 120, 3600, 7200, 86_400, 259_200, 30 * 86_400)] == [
        "s", "min", "min", "h", "h", "days", "days",
    ]  # fmt: skip
