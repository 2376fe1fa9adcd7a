"""Small data files in each vendor's layout, generated from one synthetic cycling trace, and a
broken variant of each (the tests know the row and column that is wrong)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


@dataclass(frozen=True)
class Point:
    t: float
    v: float
    i: float
    temp: float
    cycle: int
    step: int


def trace(cycles: int = 3, period: float = 30.0, amps: float = 1.0, capacity: float = 1.0) -> Iterator[Point]:
    """Charge then discharge at ``amps`` between 0 and ``capacity`` Ah, ``cycles`` times."""
    t = 0.0
    half = capacity / amps * 3600
    for cycle in range(1, cycles + 1):
        for step, sign in ((1, 1.0), (2, -1.0)):
            for k in range(int(half / period)):
                soc = k * period / half if sign > 0 else 1 - k * period / half
                yield Point(
                    t, round(3.2 + 0.9 * soc + 0.05 * sign, 4), sign * amps, 25.0 + 2 * soc, cycle, step
                )
                t += period


def rows(**options: float) -> list[Point]:
    return list(trace(**options))  # type: ignore[arg-type]


def bdf(path: Path) -> Path:
    lines = ["Test Time / s,Voltage / V,Current / A,Temperature T1 / degC,Cycle Count / 1"]
    lines += [f"{p.t},{p.v},{p.i},{p.temp},{p.cycle}" for p in rows()]
    path.write_text("\n".join(lines) + "\n")
    return path


def arbin(path: Path) -> Path:
    head = ("Data_Point,Date_Time,Test_Time(s),Step_Time(s),Cycle_Index,Step_Index,Current(A),Voltage(V),"
            "Charge_Capacity(Ah),Discharge_Capacity(Ah),Aux_Temperature_1(C)")  # fmt: skip
    lines = [head]
    for n, p in enumerate(rows(), start=1):
        stamp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(START + p.t))
        lines.append(f"{n},{stamp},{p.t},0,{p.cycle},{p.step},{p.i},{p.v},0,0,{p.temp}")
    path.write_text("\n".join(lines) + "\n")
    return path


def maccor(path: Path) -> Path:
    lines = [
        "Today's Date\t11/20/2023\tDate of Test:\t11/14/2023\tFilename:\tcell7.001\t"
        "Procedure:\tcyc.000\tComment/Barcode:\t",
        "Rec#\tCyc#\tStep\tTest (Sec)\tStep (Sec)\tAmp-hr\tWatt-hr\tAmps\tVolts\tState\tES\tDPt Time",
    ]
    for n, p in enumerate(rows(), start=1):
        state = "C" if p.i > 0 else "D"
        stamp = time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(START + p.t))
        cells = [
            n,
            p.cycle - 1,
            p.step,
            f"{p.t:.2f}",
            0,
            0,
            0,
            f"{abs(p.i):.4f}",
            f"{p.v:.4f}",
            state,
            0,
            stamp,
        ]
        lines.append("\t".join(map(str, cells)))
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


def biologic(path: Path) -> Path:
    """EC-Lab text export as written on a machine with a decimal comma."""
    names = ["mode", "ox/red", "error", "control changes", "Ns changes", "counter inc.", "Ns", "time/s",
             "control/V/mA", "Ewe/V", "I/mA", "cycle number"]  # fmt: skip
    header = "\t".join(names)
    lines = [
        "EC-Lab ASCII FILE",
        "Nb header lines : 5",
        "",
        "Galvanostatic Cycling with Potential Limitation",
        header,
    ]
    for p in rows():
        fields = ["1", "1" if p.i > 0 else "0", "0", "0", "0", "0", str(p.step - 1), f"{p.t:.4f}",
                  f"{p.i * 1000:.3f}", f"{p.v:.5f}", f"{p.i * 1000:.4f}", f"{p.cycle - 1}"]  # fmt: skip
        lines.append("\t".join(f.replace(".", ",") for f in fields))
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    return path


def neware(path: Path) -> Path:
    lines = [
        "DataPoint,Cycle Index,Step Index,Step Type,Time,Total Time,Current(A),Voltage(V),Capacity(Ah),Date"
    ]
    for n, p in enumerate(rows(), start=1):
        total = f"{int(p.t // 3600)}:{int(p.t % 3600 // 60):02d}:{p.t % 60:06.3f}"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(START + p.t))
        kind = "CC Chg" if p.i > 0 else "CC DChg"
        lines.append(f"{n},{p.cycle},{p.step},{kind},00:00:00,{total},{p.i},{p.v},0,{stamp}")
    path.write_text("\n".join(lines) + "\n")
    return path


GENERIC_MAPPING = {"minutes": "time/min", "U": "voltage/V", "I_mA": "current/mA", "T": "temperature/degC"}


def generic(path: Path) -> Path:
    lines = ["sample;minutes;U;I_mA;T"]
    lines += [f"{n};{p.t / 60:.4f};{p.v};{p.i * 1000:.1f};{p.temp}" for n, p in enumerate(rows(), start=1)]
    path.write_text("\n".join(lines) + "\n")
    return path


WRITERS = {
    "bdf": bdf,
    "arbin": arbin,
    "maccor": maccor,
    "biologic": biologic,
    "neware": neware,
    "generic": generic,
}
SUFFIX = {
    "bdf": ".bdf.csv",
    "arbin": ".csv",
    "maccor": ".001.txt",
    "biologic": ".mpt",
    "neware": ".csv",
    "generic": ".csv",
}


def replace_line(path: Path, line_number: int, old: str, new: str, encoding: str = "utf-8") -> None:
    lines = path.read_text(encoding=encoding).split("\n")
    assert old in lines[line_number - 1], (line_number, lines[line_number - 1])
    lines[line_number - 1] = lines[line_number - 1].replace(old, new, 1)
    path.write_text("\n".join(lines), encoding=encoding)
