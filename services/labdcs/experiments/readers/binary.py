"""Binary cycler files we read: recognised from their first bytes, read into a :class:`Table`.

A binary file is never shown as its bytes: it is either one we read (BioLogic ``.mpr``, Arbin
``.res``, Neware ``.nda``/``.ndax``) or named for what it is with what to do instead
(:mod:`labdcs.experiments.readers.sniff`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from labdcs.experiments.formats import ImportFailed, Layout
from labdcs.experiments.readers import verify
from labdcs.experiments.readers.sniff import binary_kind
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
RES = BinaryFormat("arbin-res", "Arbin .res (binary, MS Access)", _res)
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


def read_binary(path: Path, name: str | None = None) -> Table:
    """Read ``path`` as the binary format named (or recognised); ImportFailed with words otherwise."""
    fmt = FORMATS.get(name) if name else sniff(path)
    if fmt is None:
        kind = binary_kind(path)
        what = f"{kind[0]}: {kind[1]}" if kind else "a text file, not a binary cycler file"
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
