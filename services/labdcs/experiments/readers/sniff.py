"""What a file is, from its first bytes: binary cycler formats and other non-tables are named, with
what to do instead, and never printed (their bytes mean nothing to a person and may be anything)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

SNIFF_BYTES = 8192

#: (magic test, name, what to do) of binary formats labs produce.
_BINARY: list[tuple[str, str, str]] = [
    (
        "BIO-LOGIC MODULAR FILE",
        "BioLogic .mpr (binary)",
        "export it from EC-Lab as text (Export as Text: .mpt) and import the .mpt",
    ),
    (
        "Standard Jet DB",
        "Arbin .res (binary, MS Access)",
        "export it as CSV from Arbin MITS Pro / Data Watcher and import the CSV",
    ),
    (
        "Standard ACE DB",
        "Arbin .res (binary, MS Access)",
        "export it as CSV from Arbin MITS Pro / Data Watcher and import the CSV",
    ),
    ("NEWARE", "Neware .nda (binary)", "export it as CSV from Neware BTSDA and import the CSV"),
    ("PAR1", "Parquet (binary)", "import it as BDF CSV"),
    ("\xd0\xcf\x11\xe0", "an Excel .xls workbook (binary)", "save the sheet as CSV and import the CSV"),
]


def binary_kind(path: Path) -> tuple[str, str] | None:
    """(name, what to do) when the file is not text; None for text."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    text = head.decode("latin-1")
    for magic, name, advice in _BINARY:
        if magic in text[:64]:
            return name, advice
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            names = []
        if any((n.endswith(".xml") and "step" in n.lower()) or n.startswith("data") for n in names) or (
            path.suffix.lower() == ".ndax"
        ):
            return "Neware .ndax (binary)", "export it as CSV from Neware BTSDA and import the CSV"
        if any(n.startswith("xl/") for n in names):
            return "an Excel .xlsx workbook", "save the sheet as CSV and import the CSV"
        return "a ZIP archive", "unpack it and import the data file inside"
    if b"\x00" in head:
        return (
            "a binary file of an unknown format",
            "export the test as CSV or text from the cycler's software",
        )
    return None


def unrecognised(path: Path, head: list[str]) -> str:
    """Why a text file's format was not recognised, in words, with its first column names."""
    lines = [line for line in head if line.strip()]
    if not lines:
        return "format not recognised: the file holds no text lines"
    if any(re.search(r"freq/Hz|Re\(Z\)|-Im\(Z\)", line) for line in lines[:120]) and not any(
        "time/s" in line for line in lines
    ):
        return (
            "an impedance (EIS) test: impedance spectra are not imported as cycling data "
            "(import the cycling test's file)"
        )
    header = max(lines[-10:], key=lambda line: max(line.count(d) for d in ",;\t"))
    delimiter = max(",;\t", key=header.count)
    cells = [c.strip().strip('"') for c in header.split(delimiter)][:8]
    shown = ", ".join(repr(c[:30]) for c in cells if c.isprintable())
    return (
        f"format not recognised: no known cycler layout in the first {len(head)} lines "
        f"(columns seen: {shown}); name the format, or give a column mapping such as "
        '{"t": "time/s", "U": "voltage/V", "I": "current/mA"}'
    )
