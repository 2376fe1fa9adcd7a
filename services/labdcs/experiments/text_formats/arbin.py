"""Arbin MITS CSV export (``Test_Time(s)``, ``Voltage(V)``, ``Current(A)``, ... and the newer
``Test Time (s)`` dialect); the binary ``.res`` is :mod:`labdcs.experiments.readers.arbin_res`."""

from __future__ import annotations

from labdcs.experiments.formats import Format, date_time, number


class ArbinCsv(Format):
    name = "arbin"
    vendor = "Arbin"
    description = "Arbin MITS CSV export (Test_Time(s), Voltage(V), Current(A), Cycle_Index, ...)"
    candidates = {
        "time": {"Test_Time(s)": number(), "Test Time (s)": number(), "Test_Time": number()},
        "voltage": {"Voltage(V)": number(), "Voltage (V)": number(), "Voltage": number()},
        "current": {"Current(A)": number(), "Current (A)": number(), "Current": number()},
        "temperature": {
            "Aux_Temperature_1(C)": number(),
            "Aux_Temperature_1 (C)": number(),
            "Temperature": number(),
        },
        "cycle": {"Cycle_Index": number(), "Cycle Index": number()},
        "step": {"Step_Index": number(), "Step Index": number()},
        "unix_time": {"Date_Time": date_time, "Date Time": date_time, "DateTime": number()},
        "charge_capacity": {"Charge_Capacity(Ah)": number(), "Charge Capacity (Ah)": number()},
        "discharge_capacity": {"Discharge_Capacity(Ah)": number(), "Discharge Capacity (Ah)": number()},
        "charge_energy": {"Charge_Energy(Wh)": number(), "Charge Energy (Wh)": number()},
        "discharge_energy": {"Discharge_Energy(Wh)": number(), "Discharge Energy (Wh)": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        first = head[0] if head else ""
        return ("Test_Time(s)" in first or "Data_Point" in first or "Test Time (s)" in first) and (
            "Step Type" not in first
        )
