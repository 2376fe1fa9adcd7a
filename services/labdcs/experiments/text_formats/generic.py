"""Any delimited text with a column mapping ``{"column": "quantity/unit"}``, e.g.
``{"t": "time/min", "U": "voltage/V", "I": "current/mA"}``."""

from __future__ import annotations

from labdcs.experiments.formats import (
    REQUIRED,
    Column,
    Format,
    ImportFailed,
    Layout,
    date_time,
    find_data_line,
    find_header,
    preamble,
    scaled,
    split_cells,
)

#: quantity -> {unit: factor to SI}; what a generic mapping may name.
UNITS: dict[str, dict[str, float]] = {
    "time": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "h": 3600.0, "d": 86400.0},
    "voltage": {"V": 1.0, "mV": 1e-3, "kV": 1e3},
    "current": {"A": 1.0, "mA": 1e-3, "uA": 1e-6, "µA": 1e-6},
    "temperature": {"degC": 1.0, "C": 1.0, "°C": 1.0},
    "cycle": {"1": 1.0},
    "step": {"1": 1.0},
    "unix_time": {"s": 1.0, "ms": 1e-3, "date": 0.0},
    "charge_capacity": {"Ah": 1.0, "mAh": 1e-3, "C": 1 / 3600, "As": 1 / 3600},
    "discharge_capacity": {"Ah": 1.0, "mAh": 1e-3, "C": 1 / 3600, "As": 1 / 3600},
    "charge_energy": {"Wh": 1.0, "mWh": 1e-3, "kWh": 1e3, "J": 1 / 3600},
    "discharge_energy": {"Wh": 1.0, "mWh": 1e-3, "kWh": 1e3, "J": 1 / 3600},
    "resistance": {"Ohm": 1.0, "mOhm": 1e-3, "kOhm": 1e3, "Ω": 1.0, "mΩ": 1e-3, "kΩ": 1e3},
}
"""A generic mapping's target is ``quantity/unit``; a current may add its sign convention after a
space: ``"current/mA +discharge"`` (positive while discharging; the default is ``+charge``, the BDF's).
``resistance`` columns are accepted and not stored; ``unix_time/date`` is a wall-clock date column
(``2024-04-30 14:33:19``, ``04/30/2024 14:33:19``, ... taken as UTC)."""


class GenericCsv(Format):
    name = "generic"
    description = 'Delimited text with a column mapping {"column": "quantity/unit"}'

    def sniff(self, head: list[str]) -> bool:
        return False

    def detect_delimiter(self, head: list[str]) -> str:
        """The delimiter that splits the last lines of the head into the same number (>1) of
        cells: a preamble (Basytec's 12 lines) says nothing about the table below it."""
        tail = [line for line in head[-10:] if line.strip()] or head[:1]
        best, best_cells = ",", 0
        for delimiter in (",", ";", "\t"):
            counts = {line.count(delimiter) for line in tail}
            if len(counts) == 1 and (cells := counts.pop()) > best_cells:
                best, best_cells = delimiter, cells
        if best_cells == 0:
            first = head[0] if head else ""
            return max((",", ";", "\t"), key=first.count)
        return best

    def layout(self, head: list[str], mapping: dict[str, str] | None = None) -> Layout:
        if not mapping:
            raise ImportFailed(['generic CSV needs a column mapping, e.g. {"t": "time/s", "U": "voltage/V"}'])
        problems = []
        targets: dict[str, tuple[str, float]] = {}
        sign = "+charge"
        for column, target in mapping.items():
            target, _, convention = target.strip().partition(" ")
            quantity, _, unit = target.partition("/")
            units = UNITS.get(quantity)
            if convention and (quantity != "current" or convention not in ("+charge", "+discharge")):
                problems.append(
                    f"mapping of column '{column}': '{convention}' is not a sign convention; "
                    "only a current takes one, +charge or +discharge"
                )
            elif units is None:
                problems.append(
                    f"mapping of column '{column}': unknown quantity '{quantity}' ({', '.join(UNITS)})"
                )
            elif unit not in units:
                problems.append(
                    f"mapping of column '{column}': unit '{unit}' is not one of {', '.join(units)}"
                )
            elif quantity != "resistance":
                targets[quantity] = (column, units[unit])
                if convention:
                    sign = convention
        for quantity in REQUIRED:
            if quantity not in targets:
                problems.append(f"mapping: no column mapped to {quantity}")
        if problems:
            raise ImportFailed(problems)
        delimiter = self.detect_delimiter(head)
        wanted = {column for column, _ in targets.values()}
        line = find_header(head, delimiter, lambda cells: wanted <= set(cells))
        if line is None:
            first = split_cells(head[0], delimiter) if head else []
            missing = sorted(wanted - set(first))
            raise ImportFailed(
                [
                    f"row 1: missing column{'s' if len(missing) > 1 else ''} {missing}; "
                    f"the file has {first[:12]}"
                ]
            )
        header = split_cells(head[line], delimiter)
        layout = Layout(format=self.name, delimiter=delimiter, header_line=line, current_sign=sign)
        for quantity, (column, factor) in targets.items():
            index = header.index(column)
            parse = date_time if quantity == "unix_time" and factor == 0.0 else scaled(factor)
            layout.columns[quantity] = Column(quantity, column, index, parse)
        find_data_line(layout, head)
        layout.header = preamble(head[:line])
        return layout
