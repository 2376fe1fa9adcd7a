"""Arbin MITS Pro ``.res`` files (Microsoft Access / Jet 4 databases) through Debian's ``mdbtools``.

``mdb-export`` (package ``mdbtools``, a command; its library is LGPL, we only run it) writes a table as
CSV; we read two of them, as the Arbin layout has them (checked on ``20160805_test001_45_cc_01.res``,
MITS Pro 4.32, and cellpy's reader of the same tables):

- ``Global_Table``: one row per test: ``Test_ID``, ``Test_Name``, ``Channel_Index``,
  ``Start_DateTime`` (OLE automation date: days since 1899-12-30, local time of the cycler's PC);
- ``Channel_Normal_Table``: one row per record: ``Test_ID``, ``Data_Point``, ``Test_Time`` (s),
  ``Step_Index``, ``Cycle_Index``, ``Current`` (A, positive while charging), ``Voltage`` (V),
  ``Charge_Capacity``/``Discharge_Capacity`` (Ah) and ``Charge_Energy``/``Discharge_Energy`` (Wh),
  Arbin's accumulators (reset at each cycle).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from labdcs.experiments.formats import ImportFailed
from labdcs.experiments.readers.table import Meta, Table

OLE_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
MDB_EXPORT_TIMEOUT_S = 300.0
INSTALL_HINT = "install Debian's mdbtools (apt-get install mdbtools), or export the test as CSV from MITS Pro"


def _export(path: Path, table: str) -> bytes:
    tool = shutil.which("mdb-export")
    if tool is None:
        raise ImportFailed([f"Arbin .res (binary) needs the mdb-export command: {INSTALL_HINT}"])
    try:
        done = subprocess.run(
            [tool, str(path), table], capture_output=True, timeout=MDB_EXPORT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise ImportFailed([f"Arbin .res: mdb-export took over {MDB_EXPORT_TIMEOUT_S:g} s"]) from None
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ImportFailed(
            [f"Arbin .res: table {table} could not be read ({reason[-1] if reason else 'no reason given'})"]
        )
    return done.stdout


def ole_to_unix_ns(days: float) -> int:
    """An OLE automation date (days since 1899-12-30) in Unix nanoseconds."""
    moment = OLE_EPOCH + timedelta(days=days)
    return round(moment.timestamp() * 1e6) * 1000


def read_res(path: Path) -> Table:
    """The file's first test as a :class:`Table`; ImportFailed when it is not an Arbin database."""
    global_csv = _export(path, "Global_Table")
    normal_csv = _export(path, "Channel_Normal_Table")
    tests = pl.read_csv(io.BytesIO(global_csv), infer_schema_length=0)
    if tests.height == 0:
        raise ImportFailed(["Arbin .res: Global_Table is empty (no test in the file)"])
    data = pl.read_csv(io.BytesIO(normal_csv), infer_schema_length=10_000)
    required = {"Test_ID", "Data_Point", "Test_Time", "Current", "Voltage"}
    missing = required - set(data.columns)
    if missing:
        raise ImportFailed([f"Arbin .res: Channel_Normal_Table without {', '.join(sorted(missing))}"])
    test_id = int(tests.get_column("Test_ID")[0])
    data = data.filter(pl.col("Test_ID") == test_id).sort("Data_Point")
    if data.height == 0:
        raise ImportFailed([f"Arbin .res: no records of test {test_id}"])
    first = tests.row(0, named=True)
    meta = Meta(
        source_format="arbin-res",
        vendor="Arbin MITS Pro",
        current_sign="signed in the file (Arbin: positive while charging)",
        channel=first.get("Channel_Index"),
        cell_id=first.get("Test_Name"),
        header={k: str(v) for k, v in first.items() if v is not None},
    )
    start = first.get("Start_DateTime")
    if start:
        meta.start_ns = ole_to_unix_ns(float(start))
        meta.start_source = "Global_Table 'Start_DateTime' (the cycler PC's clock, taken as UTC)"

    def floats(name: str) -> np.ndarray:
        values: np.ndarray = data.get_column(name).cast(pl.Float64).to_numpy()
        return values

    table = Table(
        meta=meta,
        row=data.get_column("Data_Point").cast(pl.Int64).to_numpy(),
        time_ns=np.round(floats("Test_Time") * 1e6).astype(np.int64) * 1000,
        voltage=floats("Voltage"),
        current=floats("Current"),
    )
    if "Cycle_Index" in data.columns:
        table.cycle = data.get_column("Cycle_Index").cast(pl.Int64).to_numpy()
    if "Step_Index" in data.columns:
        table.step = data.get_column("Step_Index").cast(pl.Int64).to_numpy()
    for attribute, column in (
        ("charge_capacity", "Charge_Capacity"),
        ("discharge_capacity", "Discharge_Capacity"),
        ("charge_energy", "Charge_Energy"),
        ("discharge_energy", "Discharge_Energy"),
    ):
        if column in data.columns:
            setattr(table, attribute, floats(column))
    table.check()
    return table
