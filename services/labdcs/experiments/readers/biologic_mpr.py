"""BioLogic EC-Lab ``.mpr`` (binary) files: our own reader of the module layout (Apache-2.0).

Why our own: the readers the field keeps (galvani, yadg, eclabfiles) are GPL-3.0, which an
Apache-2.0 project cannot ship as a dependency; batterydf reads only the ``.mpt`` text export. The
layout below is small, and every column id we decode was checked value by value against the
``.mpt`` that EC-Lab exported from the same run (``gcpl.issue_211.mpr``/``.mpt``: 2767 records,
18 columns, differences below float32 rounding) and on ``GCPL-0.mpr`` (EC-Lab 11.50). A column id
we have not checked is refused by number, never guessed: the way out is EC-Lab's text export.

Layout (little-endian):

- file header: ``BIO-LOGIC MODULAR FILE\\x1a``, padded to 52 bytes;
- modules, each ``MODULE``, a 10-byte short name (``VMP Set   ``, ``VMP data  ``, ``VMP LOG   ``), a
  25-byte long name, then ``uint32`` 0xFFFFFFFF, ``uint32`` body length, ``uint32`` 0, ``uint32``
  version, 8 bytes of date text (``06/05/25``), then the body;
- ``VMP data`` body: ``uint32`` record count, ``uint16`` column count, that many ``uint16`` column ids,
  then the records, packed, at the body's end (body length minus count x record size). The flag
  columns (1 mode, 2 ox/red, 3 error, 21 control changes, 31 Ns changes, 65 counter inc.) share one
  leading byte: mode = bits 0-1, ox/red = bit 2;
- ``VMP LOG`` body (version 10): the acquisition start at offset 0x249, an OLE automation date
  (days since 1899-12-30, float64), the ``Acquisition started on`` of the ``.mpt``.

EC-Lab stores no current column for galvanostatic techniques: the current is the charge per record,
``dq/mA.h`` over the record's time step (what the ``.mpt`` export shows as ``<I>/mA``).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from labdcs.experiments.formats import ImportFailed
from labdcs.experiments.readers.arbin_res import ole_to_unix_ns
from labdcs.experiments.readers.table import Floats, Meta, Table

MAGIC = b"BIO-LOGIC MODULAR FILE\x1a"
FLAG_IDS = frozenset({1, 2, 3, 21, 31, 65})
COLUMNS: dict[int, tuple[str, str]] = {
    4: ("time/s", "<f8"),
    5: ("control/V/mA", "<f4"),
    6: ("Ewe/V", "<f4"),
    7: ("dq/mA.h", "<f8"),
    8: ("I/mA", "<f4"),
    9: ("Ece/V", "<f4"),
    13: ("(Q-Qo)/mA.h", "<f8"),
    39: ("I Range", "<u2"),
    70: ("P/W", "<f4"),
    123: ("Energy charge/W.h", "<f8"),
    124: ("Energy discharge/W.h", "<f8"),
    131: ("Ns", "<u2"),
    467: ("Q charge/discharge/mA.h", "<f8"),
    468: ("half cycle", "<u4"),
}
"""Column id -> (the ``.mpt`` name, numpy type): only ids checked against a real ``.mpt``."""
LOG_START_OFFSET = 0x249
WHAT_TO_DO = "export the run as text from EC-Lab (File > Export as text, .mpt) and import that"


def _modules(data: bytes) -> dict[str, tuple[int, int, int]]:
    """Short name -> (body offset, body length, version)."""
    found: dict[str, tuple[int, int, int]] = {}
    at = data.find(b"MODULE", len(MAGIC))
    while at >= 0:
        head = at + 6
        if head + 59 > len(data):
            break
        name = data[head : head + 10].decode("latin-1").strip()
        _, length, _, version = struct.unpack_from("<IIII", data, head + 35)
        body = head + 35 + 24
        if body + length > len(data):
            raise ImportFailed([f"BioLogic .mpr (binary): module {name!r} is cut short (file truncated?)"])
        found.setdefault(name, (body, length, version))
        at = data.find(b"MODULE", body + length)
    return found


def read_mpr(path: Path) -> Table:
    """The ``VMP data`` module as a :class:`Table`; ImportFailed naming what is not supported."""
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise ImportFailed(["not a BioLogic .mpr file (no 'BIO-LOGIC MODULAR FILE' header)"])
    modules = _modules(data)
    if "VMP data" not in modules:
        raise ImportFailed([f"BioLogic .mpr (binary) without a data module; {WHAT_TO_DO}"])
    body, length, version = modules["VMP data"]
    count, n_columns = struct.unpack_from("<IH", data, body)
    ids = struct.unpack_from(f"<{n_columns}H", data, body + 6)
    unknown = [i for i in ids if i not in FLAG_IDS and i not in COLUMNS]
    if unknown:
        raise ImportFailed(
            [
                f"BioLogic .mpr (binary) with column id{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(str, unknown))} that this reader does not know (data module version "
                f"{version}); {WHAT_TO_DO}"
            ]
        )
    fields: list[tuple[str, str]] = []
    if any(i in FLAG_IDS for i in ids):
        fields.append(("flags", "u1"))
    fields += [COLUMNS[i] for i in ids if i not in FLAG_IDS]
    record = np.dtype(fields)
    start = body + length - count * record.itemsize
    if start < body + 6 + 2 * n_columns:
        fit = f"{count} records of {record.itemsize} bytes do not fit its data module (version {version})"
        raise ImportFailed([f"BioLogic .mpr (binary): {fit}; {WHAT_TO_DO}"])
    records = np.frombuffer(data, record, count=count, offset=start)
    names = set(record.names or ())
    if "time/s" not in names or "Ewe/V" not in names:
        raise ImportFailed([f"BioLogic .mpr (binary) without time or Ewe columns; {WHAT_TO_DO}"])
    seconds = records["time/s"].astype(np.float64)
    current: Floats
    if "I/mA" in names:
        current = records["I/mA"].astype(np.float64) / 1000.0
        sign = "signed in the file ('I/mA')"
    elif "dq/mA.h" in names:
        step = np.diff(seconds, prepend=seconds[0])
        dq = records["dq/mA.h"].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            current = np.where(step > 0, dq * 3.6 / step, 0.0)  # mA.h / s -> A: x 3600 / 1000
        sign = "charge per record 'dq/mA.h' over its time step (EC-Lab's '<I>/mA')"
    else:
        raise ImportFailed([f"BioLogic .mpr (binary) without a current or charge column; {WHAT_TO_DO}"])
    meta = Meta(source_format="biologic-mpr", vendor="BioLogic EC-Lab", current_sign=sign)
    if "VMP LOG" in modules:
        log_body, log_length, _ = modules["VMP LOG"]
        if log_length >= LOG_START_OFFSET + 8:
            (days,) = struct.unpack_from("<d", data, log_body + LOG_START_OFFSET)
            if 32874 < days < 73051:  # 1990..2100: anything else is not this field
                meta.start_ns = ole_to_unix_ns(days)
                meta.start_source = "log module 'Acquisition started on'"
    table = Table(
        meta=meta,
        row=np.arange(1, count + 1, dtype=np.int64),
        time_ns=np.round(seconds * 1e6).astype(np.int64) * 1000,
        voltage=records["Ewe/V"].astype(np.float64),
        current=current,
    )
    if "half cycle" in names:
        table.cycle = records["half cycle"].astype(np.int64) // 2
    if "Ns" in names:
        table.step = records["Ns"].astype(np.int64)
    if "Q charge/discharge/mA.h" in names:
        q = records["Q charge/discharge/mA.h"].astype(np.float64) / 1000.0
        table.charge_capacity = np.where(q > 0, q, 0.0)
        table.discharge_capacity = np.where(q < 0, -q, 0.0)
    if "Energy charge/W.h" in names:
        table.charge_energy = records["Energy charge/W.h"].astype(np.float64)
    if "Energy discharge/W.h" in names:
        table.discharge_energy = records["Energy discharge/W.h"].astype(np.float64)
    table.check()
    return table
