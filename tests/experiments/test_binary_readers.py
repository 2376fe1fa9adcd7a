"""The binary cycler files labs produce, read from the real files in ``../shared/vendor-files``:
each reproduces its own charge/discharge capacity and energy accumulators from its current and
voltage (within :data:`TOLERANCE`), and NewareNDA, the other Neware reader, where installed, agrees
with fastnda on every record; other binary files are named, never printed.

Tolerance: 0.5 % of the file's total throughput. Measured: BioLogic 4e-6, Arbin 1.2e-4, Neware
2.7e-5 (TestFile.nda), 1.1e-3 -- the largest -- on test_2.ndax (its records are 1 s apart at
3 mA; the cycler integrates faster than it logs).
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from labdcs.experiments.formats import ImportFailed
from labdcs.experiments.harvester import Harvester
from labdcs.experiments.importing import ImportRequest, import_file
from labdcs.experiments.readers import binary
from labdcs.experiments.readers.table import Floats, Table
from labdcs.experiments.series import ExperimentSeries
from labdcs.experiments.store import Store
from labdcs.ingest import retention
from labdcs.security import influx as influx_auth
from tests.support import Influx, wait_until

VENDOR = Path(__file__).resolve().parents[2].parent / "shared" / "vendor-files"
needs_vendor = pytest.mark.skipif(
    not VENDOR.is_dir(), reason=f"the real cycler files are not here ({VENDOR} absent)"
)
needs_mdbtools = pytest.mark.skipif(
    shutil.which("mdb-export") is None, reason="mdbtools not installed (scripts/setup installs it)"
)
TOLERANCE = 0.005

# file, format, records (the MANIFEST's peer reader's count), cycles (max index), start (UTC, ISO)
BINARY = [
    ("biologic/gcpl.issue_211.mpr", "biologic-mpr", 2767, 4, "2025-05-28T14:23:16.145000"),
    ("biologic/GCPL-0.mpr", "biologic-mpr", 4, 0, "2024-09-02T13:49:32.494000"),
    ("arbin/20160805_test001_45_cc_01.res", "arbin-res", 10261, 18, "2016-08-05T16:16:23"),
    ("neware/TestFile.nda", "neware-nda", 6670, 3, "2024-05-27T08:02:53.960000"),
    ("neware/test_2.ndax", "neware-nda", 108563, 54, "2025-03-26T08:22:55.474000"),
    ("neware/20260302_IFE_BTS85_2_9_8_1.ndax", "neware-nda", 252951, 1, "2026-02-27T10:17:33.977000"),
]


def throughput(accumulator: Floats) -> float:
    """The total an accumulator counted, whatever it resets at (a drop is a reset to 0)."""
    step = np.diff(accumulator, prepend=0.0)
    return float(np.where(step < 0, accumulator, step).clip(min=0).sum())


def integrated(table: Table, values: Floats) -> tuple[float, float]:
    """Trapezoid integral of ``values`` over time in hours, split by sign: (positive, negative)."""
    hours = np.diff(table.time_ns.astype(np.float64) / 1e9) / 3600
    area = (values[1:] + values[:-1]) / 2 * hours
    return float(area.clip(min=0).sum()), float((-area).clip(min=0).sum())


def energies(table: Table) -> tuple[float, float]:
    """Trapezoid integral of V x I in Wh, split by the direction of the current (charging or not)."""
    hours = np.diff(table.time_ns.astype(np.float64) / 1e9) / 3600
    power = table.current * table.voltage
    area = (power[1:] + power[:-1]) / 2 * hours
    current = table.current[1:] + table.current[:-1]
    return float(area[current > 0].sum()), float(-area[current < 0].sum())


def agrees(ours: float, theirs: float) -> bool:
    return abs(ours - theirs) <= TOLERANCE * max(abs(theirs), 1e-9)


@needs_vendor
@needs_mdbtools
@pytest.mark.parametrize(("name", "fmt", "records", "cycles", "start"), BINARY)
def test_binary_file_reproduces_its_own_accumulators(
    name: str, fmt: str, records: int, cycles: int, start: str
) -> None:
    path = VENDOR / name
    found = binary.sniff(path)
    assert found is not None and found.name == fmt
    table = binary.read_binary(path)
    table.check()
    assert len(table) == records and table.meta.source_format == fmt
    assert table.cycle is not None and int(table.cycle.max()) == cycles
    assert table.meta.start_ns is not None
    assert np.datetime64(table.meta.start_ns, "ns") == np.datetime64(start), table.meta.start_source
    assert table.charge_capacity is not None and table.discharge_capacity is not None
    charge, discharge = integrated(table, table.current)
    assert agrees(charge, throughput(table.charge_capacity)), (charge, throughput(table.charge_capacity))
    assert agrees(discharge, throughput(table.discharge_capacity))
    if table.charge_energy is not None and table.discharge_energy is not None and fmt != "biologic-mpr":
        # EC-Lab's energy on this half cell, whose Ewe crosses 0 V, follows a rule for negative power
        # that is not documented (ours: 2.54e-5 Wh, EC-Lab's 2.62e-5): capacities are its reference.
        e_charge, e_discharge = energies(table)
        assert agrees(e_charge, throughput(table.charge_energy))
        assert agrees(e_discharge, throughput(table.discharge_energy))


@needs_vendor
def test_mpr_reads_what_ec_lab_exported_from_the_same_run() -> None:
    """The .mpr and the .mpt EC-Lab wrote of one run: the same voltages, times and currents."""
    import pandas as pd

    mpr = binary.read_binary(VENDOR / "biologic/gcpl.issue_211.mpr")
    mpt = pd.read_csv(VENDOR / "biologic/gcpl.issue_211.mpt", sep="\t", skiprows=79, encoding="latin-1")
    assert len(mpt) == len(mpr)
    assert np.abs(mpr.voltage - mpt["Ewe/V"].to_numpy()).max() < 1e-6
    assert np.abs(mpr.time_ns / 1e9 - mpt["time/s"].to_numpy()).max() < 1e-6
    assert np.abs(mpr.current * 1000 - mpt["<I>/mA"].to_numpy()).max() < 1e-9
    assert mpr.cycle is not None and (mpr.cycle == mpt["cycle number"].to_numpy().astype(int)).all()


@needs_vendor
@pytest.mark.skipif(importlib.util.find_spec("NewareNDA") is None, reason="NewareNDA not installed")
@pytest.mark.parametrize("name", [n for n, f, *_ in BINARY if f == "neware-nda"])
def test_fastnda_and_newarenda_agree(name: str) -> None:
    import NewareNDA

    ours = binary.read_binary(VENDOR / name)
    peer = NewareNDA.read(str(VENDOR / name))
    assert len(peer) == len(ours)
    assert np.array_equal(ours.voltage, peer["Voltage"].to_numpy(dtype=np.float64))
    assert np.allclose(ours.current, peer["Current(mA)"].to_numpy(dtype=np.float64) / 1000, rtol=1e-6)
    assert ours.cycle is not None and np.array_equal(ours.cycle, peer["Cycle"].to_numpy())


def test_an_unknown_mpr_column_is_refused_by_number(tmp_path: Path) -> None:
    """A column id the reader has not checked is named, with the way out; never guessed."""
    path = tmp_path / "x.mpr"
    body = (1).to_bytes(4, "little") + (2).to_bytes(2, "little") + (4).to_bytes(2, "little")
    body += (999).to_bytes(2, "little") + bytes(16)
    header = b"MODULE" + b"VMP data  " + b"VMP data".ljust(25)
    header += b"\xff\xff\xff\xff" + len(body).to_bytes(4, "little") + bytes(4) + (11).to_bytes(4, "little")
    path.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a".ljust(52) + header + b"06/05/25" + body)
    with pytest.raises(ImportFailed) as refused:
        binary.read_binary(path)
    message = str(refused.value)
    assert "BioLogic .mpr (binary)" in message and "999" in message and ".mpt" in message


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"PK\x03\x04" + bytes(40), "ZIP archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "Excel"),
        (b"\x89HDF\r\n\x1a\n" + bytes(100), "a binary file of an unknown format"),
        (bytes(range(256)) * 4, "a binary file of an unknown format"),
    ],
)
def test_other_binary_files_are_named_not_printed(tmp_path: Path, content: bytes, said: str) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(content)
    assert binary.sniff(path) is None
    with pytest.raises(ImportFailed) as refused:
        binary.read_binary(path)
    message = str(refused.value)
    assert said in message and "\\x" not in message and "\x00" not in message


@pytest.fixture
def lab_store(embedded: Store, influx: Influx) -> Iterator[tuple[Store, ExperimentSeries]]:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    yield embedded, ExperimentSeries(influx.login(influx_auth.EXPERIMENTS), chunk_size=20_000)


@needs_vendor
@needs_mdbtools
@pytest.mark.parametrize(("name", "fmt", "records", "cycles", "start"), BINARY)
def test_binary_file_imports_end_to_end(
    name: str, fmt: str, records: int, cycles: int, start: str, lab_store: tuple[Store, ExperimentSeries]
) -> None:
    """Through the importer every upload and the harvester use: every record stored (exact duplicates
    dropped, counted in a warning), its start from the file, and the file's own accumulators
    reproduced (no mismatch warning; the figures compared are in the import's checks)."""
    store, series = lab_store
    path = VENDOR / name
    record = import_file(store, series, ImportRequest(path=path, name=path.name))
    dropped = sum(int(w.split(" rows repeat", 1)[0]) for w in record.warnings if "repeat the row" in w)
    assert record.status == "imported" and record.format == fmt and record.rows == records - dropped
    assert not [w for w in record.warnings if "differs from the file's own" in w], record.warnings
    experiment = store.experiment(record.experiment or "")
    first_ns = int(np.datetime64(start, "ns").astype(np.int64)) + int(binary.read_binary(path).time_ns[0])
    assert experiment.started == first_ns // 1_000_000  # the first record, on the file's own clock
    assert series.count(experiment.id) == record.rows
    assert experiment.cycles == len(store.cycles(experiment.id)) >= 1


@needs_vendor
@needs_mdbtools
def test_the_harvester_imports_binary_files(
    tmp_path: Path, lab_store: tuple[Store, ExperimentSeries]
) -> None:
    store, series = lab_store
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("neware/test_2.ndax", "arbin/20160805_test001_45_cc_01.res", "biologic/GCPL-0.mpr"):
        shutil.copy(VENDOR / name, inbox)
    (inbox / "book.xlsx").write_bytes(b"PK\x03\x04" + bytes(60))
    harvester = Harvester(store, series, [inbox], stable_s=0.2, interval=0.05)

    def settled() -> dict[str, tuple[str, str]] | None:
        harvester.scan()
        files = {Path(f.path).name: (f.status.value, f.reason) for f in store.harvested_files(limit=0)[0]}
        return files if len(files) == 4 and "waiting" not in {s for s, _ in files.values()} else None

    files = wait_until(settled, 120, "the binary files to be harvested", interval=0.1)
    assert files["test_2.ndax"][0] == files["20160805_test001_45_cc_01.res"][0] == "imported"
    assert files["GCPL-0.mpr"][0] == "imported"
    assert files["book.xlsx"][0] == "skipped" and "harvest patterns" in files["book.xlsx"][1]
    assert harvester.imported == 3 and store.experiments()[1] == 3
