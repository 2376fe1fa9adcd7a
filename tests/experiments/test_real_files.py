"""Importers on real cycler files (``../shared/vendor-files``, see its MANIFEST.tsv), against real
InfluxDB: every text file imports and reproduces its own capacity/energy columns (or pandas' reading
of it where it has none) within the stated tolerance, or is refused for its documented reason; each
cause of issue 13 has a test on a real file. The files are not copied into the project: without
them these tests skip, saying so."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labdcs.experiments.documents import FileStatus
from labdcs.experiments.importers import ImportFailed, open_file
from labdcs.experiments.importing import ImportRequest, import_file
from labdcs.experiments.readers.table import Table
from labdcs.experiments.series import ExperimentSeries
from labdcs.experiments.store import Store
from labdcs.ingest import retention
from labdcs.security import influx as influx_auth
from tests.support import Influx

VENDOR = Path(__file__).resolve().parents[2].parent / "shared" / "vendor-files"
pytestmark = pytest.mark.skipif(
    not VENDOR.is_dir(), reason=f"the real cycler files are not here ({VENDOR}: see issue 13)"
)

#: The file's own accumulators against ours: EC-Lab's are reproduced to the last digit with its own
#: rule (each row's current over the interval before it), the others within 3% plus the current's
#: printed resolution (verify.REL_TOLERANCE; measured: Maccor, Neware, PEC 1e-4, the batmo
#: simulation 1.5%).
TOLERANCE = {"biologic": 1e-4}
DEFAULT_TOLERANCE = 0.03

LANDT = {
    "test_time_s": "time/s", "voltage_V": "voltage/V", "current_A": "current/A",
    "charge_capacity_Ah": "charge_capacity/Ah", "discharge_capacity_Ah": "discharge_capacity/Ah",
    "charge_energy_Wh": "charge_energy/Wh", "discharge_energy_Wh": "discharge_energy/Wh",
    "cycle_index": "cycle/1", "step_index": "step/1", "date_time_iso_string": "unix_time/date",
}  # fmt: skip
PEC = {
    "Total Time (Seconds)": "time/s", "Voltage (mV)": "voltage/mV", "Current (mA)": "current/mA",
    "Charge Capacity (mAh)": "charge_capacity/mAh", "Discharge Capacity (mAh)": "discharge_capacity/mAh",
    "Charge Capacity (mWh)": "charge_energy/mWh", "Discharge Capacity (mWh)": "discharge_energy/mWh",
    "Cycle": "cycle/1", "Real Time": "unix_time/date",
}  # fmt: skip
CUSTOM = {"test_time": "time/s", "voltage": "voltage/V", "current": "current/A", "cycle": "cycle/1"}


@dataclass
class Case:
    format: str | None = None
    mapping: dict[str, str] | None = None
    rows: int | None = None
    """Rows imported (the MANIFEST's peer count, less what the warnings name)."""
    checks: int = 0
    """Accumulators the file carries and we compare."""
    warnings: set[str] = field(default_factory=set)
    refused: str | None = None
    start: str | None = None
    """The start time the file says (UTC), ``YYYY-mm-dd HH:MM:SS.fff``."""
    pandas: tuple[int, str, str, float] | None = None
    """(header line index, delimiter, voltage column, factor): pandas' reading to compare with, for
    files without accumulators."""


CASES: dict[str, Case] = {
    "biologic/gcpl.issue_211.mpt": Case("biologic", rows=2767, checks=4, start="2025-05-28 14:23:16.145"),
    "biologic/gcpl.pr_182.1.mpt": Case("biologic", rows=2533, checks=4),  # exported without its header
    "biologic/mb.issue_95.de.mpt": Case("biologic", rows=33, checks=4, start="2022-12-08 14:36:53.355"),
    "biologic/mb.issue_95.mpt": Case("biologic", rows=33, checks=4, start="2022-12-08 14:36:53.355"),
    "biologic/mb.issue_223.mpt": Case("biologic", rows=32, checks=2, warnings={"impedance_rows"}),
    "biologic/cp.issue_61.mpt": Case("biologic", rows=312, checks=4, start="2023-11-08 16:06:15.633"),
    "biologic/gcpl.issue_226.I.mpt": Case("biologic", rows=15, checks=4, start="2025-08-04 09:35:26.748"),
    "maccor/maccor_001.txt": Case("maccor", rows=6704, checks=2, warnings={"time_tie"},
                                  start="2020-12-11 12:22:12.000"),
    "maccor/maccor_002.txt": Case("maccor", rows=7446, checks=2, warnings={"time_unit"},
                                  start="2021-05-11 15:40:24.000"),
    "maccor/maccor_two.txt": Case("maccor", rows=213, checks=2, warnings={"time_unit", "incomplete_last_row"},
                                  start="2021-06-05 11:23:46.000"),
    "neware/neware_uio.csv": Case("neware", rows=9065, checks=6, warnings={"time_tie"},
                                  start="2022-05-18 16:27:52.000"),
    "neware/nw_regular_export_ife_example.csv": Case("neware-regular", rows=9294, checks=2,
                                                     warnings={"duplicate_rows", "time_tie"}),
    "bdf/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv": Case("bdf", rows=25162, checks=2),
    "bdf/SINTEF__SLPBA842124HV__2024-10-23__Rate_25degC__Neware__Time_Bug.bdf.csv": Case(
        "bdf", rows=13086, warnings={"time_glitch"}, pandas=(0, ",", "voltage_volt", 1.0)),
    "bdf/DLR__LiLNMOHydra0b__20221125__POCV__25degC__Basytec.bdf.csv": Case(
        "bdf", refused=r"the test would span 16\.8 years.*implausible.*nothing was written"),
    "bdf/SINTEF__G20M7-202512-Gru6mV__20251228__C30__25degC__Neware.bdf.csv": Case(
        "bdf", rows=17584, checks=4, warnings={"duplicate_rows", "time_tie", "cycle_column"},
        start="2025-12-22 08:44:24.885"),
    "bdf/batmo_bdf.csv": Case("bdf", rows=21206, checks=2, warnings={"current_sign"}),
    "generic/custom_data_001.csv": Case(mapping=CUSTOM, rows=2442, pandas=(19, ";", "voltage", 1.0)),
    "generic/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.csv": Case(mapping=LANDT, rows=25162, checks=4,
                                                                     start="2024-04-30 14:33:18.980"),
    "pec/pec.csv": Case(mapping=PEC, rows=16255, checks=4, start="2019-02-22 16:23:26.000"),
}  # fmt: skip
BINARY = {
    "biologic/gcpl.issue_211.mpr": "BioLogic .mpr (binary)",
    "biologic/GCPL-0.mpr": "BioLogic .mpr (binary)",
    "arbin/20160805_test001_45_cc_01.res": "Arbin .res (binary, MS Access)",
    "neware/TestFile.nda": "Neware .nda (binary)",
    "neware/test_2.ndax": "Neware .ndax (binary, zip)",
    "neware/20260302_IFE_BTS85_2_9_8_1.ndax": "Neware .ndax (binary, zip)",
}


def _read(name: str) -> Table:
    case = CASES[name]
    return open_file(VENDOR / name, mapping=case.mapping).read()


def test_every_shared_file_is_covered() -> None:
    listed = {line.split("\t")[0] for line in (VENDOR / "MANIFEST.tsv").read_text().splitlines()[1:]}
    assert listed == set(CASES) | set(BINARY)


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_text_file_reproduces_its_own_columns_or_is_refused_for_its_reason(name: str) -> None:
    case = CASES[name]
    reader = open_file(VENDOR / name, mapping=case.mapping)
    assert reader.layout.format == (case.format or "generic")  # detected from the content
    if case.refused is not None:
        with pytest.raises(ImportFailed, match=case.refused):
            reader.read()
        return
    table = reader.read()
    assert len(table) == case.rows
    assert (np.diff(table.time_ns) > 0).all()  # strictly increasing, to the ns
    assert {w.kind for w in table.warnings} == case.warnings, [w.text() for w in table.warnings]
    assert len(table.checks) == case.checks
    tolerance = TOLERANCE.get(reader.layout.format, DEFAULT_TOLERANCE)
    for quantity, ours, theirs in table.checks:
        slack = 1e-5 + (1e-3 if name.endswith("Landt.bdf.csv") or "Landt.csv" in name else 0.0)
        assert abs(ours - theirs) <= tolerance * max(abs(ours), abs(theirs)) + slack, (quantity, ours, theirs)
    if case.start is not None:
        assert table.meta.start_ns is not None
        start = datetime.fromtimestamp(table.meta.start_ns / 1e9 + table.time_ns[0] * 0, UTC)
        assert start.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] == case.start, table.meta.start_source
    if case.pandas is not None:  # no accumulators: pandas' own reading of the same rows
        header, sep, column, factor = case.pandas
        frame = pd.read_csv(VENDOR / name, sep=sep, skiprows=header).dropna(how="all")
        assert len(frame) == case.rows
        assert np.allclose(frame[column].to_numpy(dtype=float) * factor, table.voltage)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_files_are_read_by_their_readers(name: str) -> None:
    """The binary files import (readers/binary.py: fastnda, mdbtools, our .mpr reader); their own
    accumulators, end-to-end imports and peer readers are tested in test_binary_readers.py."""
    reader = open_file(VENDOR / name)
    assert reader.layout.vendor == BINARY[name]
    assert len(reader.read()) > 0


# --- the causes of issue 13, end to end on real files -------------------------------------------


@pytest.fixture
def lab(embedded: Store, influx: Influx) -> Iterator[tuple[Store, ExperimentSeries]]:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    yield embedded, ExperimentSeries(influx.login(influx_auth.EXPERIMENTS), chunk_size=5000)


def _times(series: ExperimentSeries, experiment: str) -> list[int]:
    """The points' timestamps in ns, as InfluxDB stored them."""
    query = f'SELECT "current" FROM "experiments"."cycler" WHERE experiment = \'{experiment}\''
    return [int(row[0]) for r in series.influx.query(query, epoch="ns") for s in r.get("series", [])
            for row in s["values"]]  # fmt: skip


def _import(lab: tuple[Store, ExperimentSeries], path: Path, **options: object):  # type: ignore[no-untyped-def]
    store, series = lab
    return import_file(store, series, ImportRequest(path=path, name=path.name, **options))  # type: ignore[arg-type]


def test_sub_millisecond_steps_are_stored_to_the_microsecond(lab: tuple[Store, ExperimentSeries]) -> None:
    """Cause 1: EC-Lab logs step changes 0.2 ms apart; each is its own point, at its own time."""
    record = _import(lab, VENDOR / "biologic/gcpl.issue_211.mpt")
    assert record.status is FileStatus.IMPORTED and record.rows == 2767
    times = np.array(_times(lab[1], str(record.experiment)))
    assert len(times) == 2767 and (np.diff(times) > 0).all()
    assert np.diff(times).min() == 200_000  # 0.2 ms, in ns
    experiment = lab[0].experiment(str(record.experiment))
    assert experiment.started == 1748442196145 + 88246517  # header's start + the first row's 88246.517 s


def test_repeats_duplicates_and_resets_are_kept_and_reported(lab: tuple[Store, ExperimentSeries]) -> None:
    """Cause 2: Neware's 1 s resolution repeats 98 times; a BDF file repeats 3 rows exactly; a BDF
    export's time jumps to 0 for one row 19 times; a Maccor export repeats its last time."""
    neware = _import(lab, VENDOR / "neware/neware_uio.csv")
    assert neware.rows == 9065 and len(_times(lab[1], str(neware.experiment))) == 9065
    assert any(w.startswith("98 rows have the same time") and "rows 723, 724" in w for w in neware.warnings)
    bdf = _import(lab, VENDOR / "bdf/SINTEF__G20M7-202512-Gru6mV__20251228__C30__25degC__Neware.bdf.csv")
    assert bdf.rows == 17584
    assert "3 rows repeat the row before exactly: dropped (rows 4, 8808, 17588)" in bdf.warnings
    glitch = _import(
        lab, VENDOR / "bdf/SINTEF__SLPBA842124HV__2024-10-23__Rate_25degC__Neware__Time_Bug.bdf.csv"
    )
    assert glitch.rows == 13086 and any(
        w.startswith("19 rows have a time out of sequence") for w in glitch.warnings
    )
    assert any("2024-10-23" in w for w in glitch.warnings)  # the start from the name, said so
    maccor = _import(lab, VENDOR / "maccor/maccor_001.txt")
    assert maccor.rows == 6704 and any("(row 6708)" in w for w in maccor.warnings)


def _cycle_stats(lab: tuple[Store, ExperimentSeries], experiment: str) -> list[tuple[float, float]]:
    return [(c.charge_capacity, c.discharge_capacity) for c in lab[0].cycles(experiment)]


def test_current_sign_is_decided_from_the_data(tmp_path: Path, lab: tuple[Store, ExperimentSeries]) -> None:
    """Cause 3: Maccor's unsigned current signed from Md/State, an already signed one not flipped
    again, a simulation file positive on discharge turned round by its own capacity columns."""
    unsigned = _import(lab, VENDOR / "maccor/maccor_002.txt")
    assert unsigned.rows == 7446
    stats = _cycle_stats(lab, str(unsigned.experiment))
    frame = pd.read_csv(
        VENDOR / "maccor/maccor_002.txt", sep="\t", skiprows=13, encoding="latin-1", index_col=False
    )
    frame = frame.dropna(subset=["Rec"])
    grew = np.diff(frame["Cap. [Ah]"].to_numpy(dtype=float))
    on = frame["Md"].astype(str).str.strip().to_numpy()[1:]
    file_charge, file_discharge = grew[(grew > 0) & (on == "C")].sum(), grew[(grew > 0) & (on == "D")].sum()
    assert sum(c for c, _ in stats) == pytest.approx(file_charge, rel=1e-3)  # the file's Cap. [Ah] on C rows
    assert sum(d for _, d in stats) == pytest.approx(file_discharge, rel=1e-3)  # ... and on D rows
    signed = tmp_path / "maccor_001_signed.txt"  # the same export with Amps signed on D rows
    lines = (VENDOR / "maccor/maccor_001.txt").read_text().splitlines()
    for k in range(4, len(lines)):
        cells = lines[k].split("\t")
        if cells[9] == "D" and float(cells[7]) > 0:
            cells[7] = "-" + cells[7]
        lines[k] = "\t".join(cells)
    signed.write_text("\n".join(lines) + "\n")
    both = [_import(lab, VENDOR / "maccor/maccor_001.txt"), _import(lab, signed)]
    totals = [np.sum(_cycle_stats(lab, str(r.experiment)), axis=0) for r in both]
    assert totals[0][1] > 10 and np.allclose(totals[0], totals[1])  # discharge stays discharge
    batmo = _import(lab, VENDOR / "bdf/batmo_bdf.csv")
    assert any("positive on discharge" in w for w in batmo.warnings)
    first = lab[0].cycles(str(batmo.experiment))[0]
    assert first.discharge_capacity > 0.9 * 14.58 / len(lab[0].cycles(str(batmo.experiment)))
    declared = _import(lab, VENDOR / "pec/pec.csv", mapping={**PEC, "Current (mA)": "current/mA +discharge"})
    assert declared.status is FileStatus.IMPORTED  # the mapping says +discharge; the file's columns disagree:
    assert any(
        "charge and discharge" in w or "positive on discharge" in w or "differs" in w
        for w in declared.warnings
    )


def test_metadata_start_temperature_and_implausible_span(
    tmp_path: Path, lab: tuple[Store, ExperimentSeries]
) -> None:
    """Cause 6: EC-Lab's start from its header; a temperature column whose ° arrives mangled; a
    BDF file spanning 16.8 years refused before anything is written."""
    mangled = tmp_path / "cp_temperature.mpt"
    data = (VENDOR / "biologic/cp.issue_61.mpt").read_bytes()
    mangled.write_bytes(data.replace(b"\tP/W", b"\tTemperature/\xef\xbf\xbdC", 1))
    table = open_file(mangled).read()
    assert table.temperature is not None and len(table.temperature) == 312
    store, series = lab
    before = store.counts()
    with pytest.raises(ImportFailed, match=r"16\.8 years"):
        _import(lab, VENDOR / "bdf/DLR__LiLNMOHydra0b__20221125__POCV__25degC__Basytec.bdf.csv")
    assert store.counts() == before
    assert not series.influx.series_values('SELECT count("voltage") FROM "experiments"."cycler"')


def test_layouts_are_detected_from_content(tmp_path: Path) -> None:
    """Cause 4: BDF time in hours, Maccor's Name:/Channel: preamble with Current [A]+Md and decimal
    commas, EC-Lab without header, Neware's nested export; a Basytec-style preamble before a
    semicolon table read with a mapping; a comma-separated Maccor export."""
    assert open_file(VENDOR / "bdf/batmo_bdf.csv").layout.format == "bdf"
    bare = tmp_path / "no_header.mpt"  # EC-Lab exported without its header: the column names first
    bare.write_bytes(
        b"".join((VENDOR / "biologic/gcpl.pr_182.1.mpt").read_bytes().splitlines(keepends=True)[2:])
    )
    assert open_file(bare).layout.format == "biologic" and len(open_file(bare).read()) == 2533
    two = open_file(VENDOR / "maccor/maccor_two.txt")
    assert two.layout.decimal_comma and two.layout.channel == "81"
    comma = tmp_path / "maccor_comma.csv"
    comma.write_text((VENDOR / "maccor/maccor_002.txt").read_text(errors="replace").replace("\t", ","))
    table = open_file(comma).read()
    assert open_file(comma).layout.delimiter == "," and len(table) == 7446
    preamble = tmp_path / "basytec_like.txt"
    lines = ["~Resultfile from Basytec", *[f"~Line {n}: value {n}, more" for n in range(11)]]
    lines += ["Time[h];U[V];I[A]", *[f"{n / 3600:.6f};3.{n % 9};0.5" for n in range(100)]]
    preamble.write_text("\n".join(lines) + "\n")
    table = open_file(
        preamble, mapping={"Time[h]": "time/h", "U[V]": "voltage/V", "I[A]": "current/A"}
    ).read()
    assert len(table) == 100 and table.time_ns[-1] == pytest.approx(99e9, abs=2e6)


def test_the_upload_api_and_page_carry_the_warnings(
    tmp_path: Path, lab: tuple[Store, ExperimentSeries]
) -> None:
    """The import result names what was changed: the API's job and the data file record."""
    from fastapi.testclient import TestClient

    from labdcs.experiments.api import Services
    from labdcs.experiments.server import create_app
    from tests.experiments.lab import ADMIN, accounts, basic

    store, series = lab
    app = create_app(Services(store=store, series=series, work_dir=tmp_path / "work"), accounts=accounts())
    path = VENDOR / "neware/neware_uio.csv"
    with TestClient(app, headers=basic(ADMIN)) as http:
        job = http.post(
            "/api/imports", params={"wait": "true"},
            files={"file": ("neware_uio.csv", path.read_bytes(), "text/csv")},
        ).json()  # fmt: skip
        assert job["state"] == "done" and job["rows"] == 9065, job
        assert any(w.startswith("98 rows have the same time as the row before") for w in job["warnings"]), job
        assert "j.warnings" in http.get("/import").text  # the page shows them under the result
        nda = (VENDOR / "neware/TestFile.nda").read_bytes()
        binary = http.post(
            "/api/imports", params={"wait": "true"},
            files={"file": ("TestFile.nda", nda, "application/octet-stream")},
        ).json()  # fmt: skip
        # A binary file uploaded under its own name is read by its reader (fastnda goes by the extension).
        # 6,670 records, one an exact repeat of the one before: dropped, and said (the duplicates policy).
        assert binary["state"] == "done" and binary["rows"] == 6669, (binary["rows"], binary["warnings"])
        assert binary["warnings"] == ["1 rows repeat the row before exactly: dropped (row 6623)"]
