"""The Battery Data Format's CSV (``Test Time / s``, ``Voltage / V``, ``Current / A``, ...): our own
conventions, so nothing to adjust."""

from __future__ import annotations

from labdcs.experiments.formats import Format, number, scaled

_BDF_TIME = {
    "Test Time / s": number(),
    "test_time_second": number(),
    "Test Time / h": scaled(3600.0),
    "test_time_hour": scaled(3600.0),
    "Test Time / min": scaled(60.0),
    "test_time_minute": scaled(60.0),
}


class BdfCsv(Format):
    name = "bdf"
    vendor = "Battery Data Format"
    description = "Battery Data Format CSV (Test Time / s or / h, Voltage / V, Current / A)"
    candidates = {
        "time": _BDF_TIME,
        "voltage": {"Voltage / V": number(), "voltage_volt": number()},
        "current": {"Current / A": number(), "current_ampere": number()},
        "temperature": {"Temperature T1 / degC": number(), "temperature_t1_celsius": number(),
                        "Ambient Temperature / degC": number(), "ambient_temperature_celsius": number()},
        "cycle": {"Cycle Count / 1": number(), "cycle_count": number()},
        "step": {"Step Index / 1": number(), "step_index": number(), "Step Count / 1": number()},
        "unix_time": {"Unix Time / s": number(), "unix_time_second": number()},
        "charge_capacity": {"Charging Capacity / Ah": number(), "Charge Capacity / Ah": number(),
                            "charging_capacity_ah": number(), "charge_capacity_ah": number()},
        "discharge_capacity": {"Discharging Capacity / Ah": number(), "Discharge Capacity / Ah": number(),
                               "discharging_capacity_ah": number(), "discharge_capacity_ah": number()},
        "charge_energy": {"Charging Energy / Wh": number(), "charging_energy_wh": number()},
        "discharge_energy": {"Discharging Energy / Wh": number(), "discharging_energy_wh": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        first = head[0] if head else ""
        return any(name in first for name in _BDF_TIME)
