"""The cycler text formats we read, one module per vendor, and their detection from a file's first
lines (what a format is: :mod:`labdcs.experiments.formats`):

- ``bdf``: Battery Data Format CSV (``Test Time / s``, ``Voltage / V``, ``Current / A``, ...);
- ``arbin``: Arbin MITS CSV export (``Test_Time(s)``, ``Voltage(V)``, ``Current(A)``, ... and the
  newer ``Test Time (s)`` dialect);
- ``maccor``: Maccor text export (tab-separated, ``Today's Date`` preamble; ``Amps`` unsigned, the
  sign from ``State``: C charge, D discharge);
- ``biologic``: BioLogic EC-Lab ``.mpt`` text (``Nb header lines : N``; ``I/mA``; decimal commas);
- ``neware``: Neware BTS CSV export (``Total Time``/``Cumulative Time`` as ``h:mm:ss.fff``), and
  ``neware-regular``, its nested export;
- ``generic``: any delimited text with a column mapping ``{"column": "quantity/unit"}``, e.g.
  ``{"t": "time/min", "U": "voltage/V", "I": "current/mA"}``.
"""

from __future__ import annotations

from labdcs.experiments.formats import Format
from labdcs.experiments.text_formats.arbin import ArbinCsv
from labdcs.experiments.text_formats.bdf import BdfCsv
from labdcs.experiments.text_formats.biologic import BiologicMpt
from labdcs.experiments.text_formats.generic import GenericCsv
from labdcs.experiments.text_formats.maccor import MaccorText
from labdcs.experiments.text_formats.neware import NewareCsv, NewareRegular

#: Detection order: the first whose ``sniff`` recognises the head (the nested Neware export before
#: the flat one, whose markers it shares).
FORMATS: dict[str, Format] = {
    f.name: f
    for f in (BdfCsv(), ArbinCsv(), MaccorText(), BiologicMpt(), NewareRegular(), NewareCsv(), GenericCsv())
}


def detect(head: list[str]) -> Format | None:
    for fmt in FORMATS.values():
        if fmt.sniff(head):
            return fmt
    return None
