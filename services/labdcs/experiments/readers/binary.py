"""Binary cycler files: recognised from their first bytes, read into a :class:`Table`, or named.

A binary file is never shown as its bytes: it is either one we read (BioLogic ``.mpr``, Arbin
``.res``, Neware ``.nda``/``.ndax``) or named for what it is with what to do instead.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from labdcs.experiments.formats import ImportFailed, Layout
from labdcs.experiments.readers import verify
from labdcs.experiments.readers.table import Table

if TYPE_CHECKING:
    from labdcs.experiments.importers import Plausible

SNIFF_BYTES = 4096


@dataclass(frozen=True)
class BinaryFormat:
    name: str
    """Our format name (``biologic-mpr``, ``arbin-res``, ``neware-nda``)."""
    label: str
    """For people: ``BioLogic .mpr (binary)``."""
    read: Callable[[Path], Table]


def _mpr(path: Path) -> Table:
    from labdcs.experiments.readers.biologic_mpr import read_mpr

    return read_mpr(path)


def _res(path: Path) -> Table:
    from labdcs.experiments.readers.arbin_res import read_res

    return read_res(path)


def _nda(path: Path) -> Table:
    from labdcs.experiments.readers.neware_nda import read_nda

    return read_nda(path)


MPR = BinaryFormat("biologic-mpr", "BioLogic .mpr (binary)", _mpr)
RES = BinaryFormat("arbin-res", "Arbin .res (binary, Access database)", _res)
NDA = BinaryFormat("neware-nda", "Neware .nda (binary)", _nda)
NDAX = BinaryFormat("neware-nda", "Neware .ndax (binary, zip)", _nda)
FORMATS = {f.name: f for f in (MPR, RES, NDA)}


def _zip_members(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return []


def sniff(path: Path, head: bytes | None = None) -> BinaryFormat | None:
    """The binary format we read that ``path`` is in, from its content; None for anything else."""
    if head is None:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    if head.startswith(b"BIO-LOGIC MODULAR FILE"):
        return MPR
    if head[4:19] == b"Standard Jet DB" or head[4:19] == b"Standard ACE DB":
        return RES
    if head.startswith(b"NEWARE"):
        return NDA
    if head.startswith(b"PK\x03\x04") and any(m.endswith(".ndc") for m in _zip_members(path)):
        return NDAX
    return None


def unsupported(path: Path, head: bytes) -> str | None:
    """A sentence naming a binary file we do not read and what to do; None when ``head`` is text."""
    if head.startswith(b"PK\x03\x04"):
        members = _zip_members(path)
        if any(m.startswith("xl/") for m in members):
            return "an Excel workbook (.xlsx, binary): save the sheet with the data as CSV and import that"
        return "a zip archive (binary): unpack it and import the data file inside"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "an old Excel or Office file (.xls, binary): save the data sheet as CSV and import that"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file (binary, e.g. cellpy or Arbin .h5): export it as CSV and import that"
    if head.startswith(b"PAR1"):
        return "a Parquet file (binary): import BDF Parquet via its CSV form"
    if b"\x00" in head[:1024]:
        return "a binary file of a format not recognised: export the test as CSV or text from its software"
    return None


def read_binary(path: Path, name: str | None = None) -> Table:
    """Read ``path`` as the binary format named (or recognised); ImportFailed with words otherwise."""
    fmt = FORMATS.get(name) if name else sniff(path)
    if fmt is None:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
        what = unsupported(path, head) or "not a binary cycler file we read"
        raise ImportFailed([f"{path.name}: {what}"])
    return fmt.read(path)


@dataclass
class BinaryReader:
    """A binary file for the importer, as :class:`~labdcs.experiments.importers.Reader` is for text:
    :meth:`read` gives the verified :class:`Table` (the same policies: exact duplicates dropped,
    ties and resets, the span, plausible values, the file's own accumulators against ours; the
    current is the cycler's own signed current, so swapped accumulators refuse the file)."""

    path: Path
    format: BinaryFormat
    plausible: Plausible
    layout: Layout = field(init=False)
    progress: float = 0.0
    rows: int = 0
    on_progress: Callable[[float], None] | None = None

    def __post_init__(self) -> None:
        self.layout = Layout(format=self.format.name, delimiter="", vendor=self.format.label)

    def read(self) -> Table:
        table = self.format.read(self.path)
        if len(table) == 0:
            raise ImportFailed([f"{self.format.label}: the file holds no data records"])
        if self.on_progress is not None:
            self.on_progress(0.5)
        verify.drop_duplicates(table)
        verify.fix_time(table)
        verify.check_span(table)
        p = self.plausible
        verify.plausible(table, self.layout, (p.v_min, p.v_max), p.i_abs, (p.t_min, p.t_max))
        verify.verify_accumulators(table, has_direction=True)
        table.check()
        self.rows, self.progress = len(table), 1.0
        return table
