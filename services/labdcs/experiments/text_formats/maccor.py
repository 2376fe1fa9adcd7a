"""Maccor text export (tab- or comma-separated, ``Today's Date`` preamble or none; ``Amps`` unsigned,
the sign from ``State``: C charge, D discharge)."""

from __future__ import annotations

import re

from labdcs.experiments.formats import (
    Column,
    Format,
    Layout,
    date_time,
    duration,
    header_value,
    number,
    pick,
    scaled,
)


class MaccorText(Format):
    name = "maccor"
    vendor = "Maccor"
    description = (
        "Maccor text export (Rec#/Rec, Cyc#/Cycle C, Test (Sec)/TestTime, Amps/Current [A], "
        "Volts/Voltage [V], State/Md; tab or comma separated, decimal point or comma, "
        "with or without a preamble)"
    )
    delimiter = "\t"
    candidates = {
        "time": {
            "Test (Sec)": number(),
            "TestTime": duration,
            "Test Time": duration,
            "Test (Min)": scaled(60.0),
            "Test Time [s]": number(),
        },
        "voltage": {"Volts": number(), "Voltage [V]": number(), "Voltage": number()},
        "current": {"Amps": number(), "Current [A]": number(), "Current": number()},
        "temperature": {"Temp 1": number(), "Temperature Cell [°C]": number()},
        "cycle": {"Cyc#": number(), "Cycle C": number()},
        "step": {"Step": number()},
        "unix_time": {"DPt Time": date_time, "DPT Time": date_time},
        "capacity": {"Amp-hr": number(), "Cap. [Ah]": number(), "Capacity": number()},
        "energy": {"Watt-hr": number(), "Ener. [Wh]": number(), "Energy": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        text = "\n".join(head[:40])
        if text.startswith("Today's Date") or ("Rec#" in text and "Cyc#" in text):
            return True
        return bool(re.search(r"^Rec[\t,]", text, re.M)) and bool(re.search(r"[\t,](Md|State)[\t,]", text))

    def detect_delimiter(self, head: list[str]) -> str:
        for line in head:
            if re.match(r"Rec#?[\t,]", line):
                return "\t" if "\t" in line else ","
        return "\t"

    def adjust(self, layout: Layout, header: list[str]) -> None:
        found = pick(header, {"State": number(), "Md": number()})
        if found is not None:
            index, name, _ = found
            layout.sign_column = Column("state", name, index, number())
            layout.sign = _maccor_sign
        layout.channel = header_value(layout, "Channel", "Tester Channel")
        layout.cell_id = header_value(layout, "Name", "Filename")


def _maccor_sign(state: str) -> float:
    """Maccor's ``Amps`` is a magnitude: D(ischarge) makes it negative; C, R, O, S keep it."""
    code = state.strip()[:1].upper()
    if code not in "CDROS" or not code:
        raise ValueError(state)
    return -1.0 if code == "D" else 1.0
