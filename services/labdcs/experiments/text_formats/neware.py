"""Neware BTS CSV exports: the flat one (``Total Time``/``Cumulative Time`` as ``h:mm:ss.fff``) and the
nested "regular" one; the binary ``.nda``/``.ndax`` is :mod:`labdcs.experiments.readers.neware_nda`."""

from __future__ import annotations

from labdcs.experiments.formats import (
    REQUIRED,
    Column,
    Format,
    ImportFailed,
    Layout,
    date_time,
    duration,
    number,
    pick,
    scaled,
    split_cells,
)


class NewareCsv(Format):
    name = "neware"
    vendor = "Neware BTS"
    description = "Neware BTS CSV export (Total Time h:mm:ss, Current(A), Voltage(V), Cycle Index, Step Type)"
    candidates = {
        "time": {"Total Time": duration, "Cumulative Time": duration, "Total Time(s)": number()},
        "voltage": {"Voltage(V)": number()},
        "current": {"Current(A)": number(), "Current(mA)": scaled(1e-3)},
        "temperature": {"Temperature(C)": number(), "T1(℃)": number(), "Temperature(°C)": number(),
                        "T1(?)": number()},
        "cycle": {"Cycle Index": number(), "Cycle ID": number()},
        "step": {"Step Index": number(), "Step ID": number()},
        "unix_time": {"Date": date_time, "Realtime": date_time},
        "charge_capacity": {"Chg. Cap.(Ah)": number(), "Chg. Cap.(mAh)": scaled(1e-3)},
        "discharge_capacity": {"DChg. Cap.(Ah)": number(), "DChg. Cap.(mAh)": scaled(1e-3)},
        "charge_energy": {"Chg. Energy(Wh)": number()},
        "discharge_energy": {"DChg. Energy(Wh)": number()},
        "capacity": {"Capacity(Ah)": number(), "Capacity(mAh)": scaled(1e-3)},
        "energy": {"Energy(Wh)": number()},
    }  # fmt: skip

    def sniff(self, head: list[str]) -> bool:
        first = head[0] if head else ""
        return "DataPoint" in first or "Step Type" in first or "Total Time" in first or "Realtime" in first

    def adjust(self, layout: Layout, header: list[str]) -> None:
        found = pick(header, {"Step Type": number()})
        if found is not None:
            layout.sign_column = Column("state", found[1], found[0], number())


class NewareRegular(NewareCsv):
    """Neware's "regular" export: a cycle row, its step rows (one empty cell first), their record
    rows (two empty cells first); three header lines, one per level. Only record rows are data."""

    name = "neware-regular"
    description = "Neware BTS nested 'regular' export (cycle, step and record rows; three header lines)"

    def sniff(self, head: list[str]) -> bool:
        return (
            len(head) > 3
            and head[0].startswith("Cycle Index,")
            and head[1].startswith(",Step Index")
            and head[2].startswith(",,DataPoint")
        )

    def layout(self, head: list[str], mapping: dict[str, str] | None = None) -> Layout:
        records = split_cells(head[2], ",")
        layout = Layout(format=self.name, delimiter=",", header_line=2, vendor=self.vendor)
        for quantity, options in self.candidates.items():
            found = pick(records, options)
            if found is not None:
                layout.columns[quantity] = Column(quantity, found[1], found[0], found[2],
                                                  quantity in self.optional_quantities)  # fmt: skip
        for quantity in REQUIRED:
            if quantity not in layout.columns:
                raise ImportFailed([f"row 3: the record header has no {quantity} column ({records[:12]})"])
        layout.filter_columns = [0, 1]
        layout.data_line = 3
        # The cycle and step of a record are on the rows above it: the index from the step rows.
        layout.columns.pop("cycle", None)
        layout.columns.pop("step", None)
        return layout
