"""Importers on small files generated in each vendor's layout, against real InfluxDB: the format is
detected, the samples land under the experiment's tag with BDF conventions (signed current in A),
cycle statistics are computed; a broken file of each kind is refused with a message naming row and
column, and leaves nothing behind."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labdcs.experiments.documents import CellIn
from labdcs.experiments.importers import ImportFailed, open_file
from labdcs.experiments.importing import ImportRequest, import_file
from labdcs.experiments.readers import text
from labdcs.experiments.series import FIELD_TYPES, ExperimentSeries, Window
from labdcs.experiments.store import Store
from labdcs.ingest import retention
from labdcs.security import influx as influx_auth
from tests.experiments import vendor_files
from tests.experiments.conftest import NMC
from tests.support import Influx

ROWS = 720  # 3 cycles x (1 h charge + 1 h discharge) every 30 s


@pytest.fixture
def lab_store(embedded: Store, influx: Influx) -> Iterator[tuple[Store, ExperimentSeries]]:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    embedded.add_cell_type(NMC)
    embedded.add_cell(CellIn(serial="MJ1-0001", type="lg-mj1"))
    yield embedded, ExperimentSeries(influx.login(influx_auth.EXPERIMENTS), chunk_size=100)


def _points(series: ExperimentSeries) -> int:
    rows = series.influx.series_values('SELECT count("voltage") FROM "experiments"."cycler"')
    return int(rows[0][1]) if rows else 0


def _write(kind: str, folder: Path) -> Path:
    return vendor_files.WRITERS[kind](folder / f"cell7-{kind}{vendor_files.SUFFIX[kind]}")


@pytest.mark.parametrize("kind", list(vendor_files.WRITERS))
def test_each_vendor_format_is_detected_and_imported(
    kind: str, tmp_path: Path, lab_store: tuple[Store, ExperimentSeries]
) -> None:
    store, series = lab_store
    path = _write(kind, tmp_path)
    mapping = json.dumps(vendor_files.GENERIC_MAPPING) if kind == "generic" else None
    record = import_file(
        store, series, ImportRequest(path=path, name=path.name, mapping=mapping, cell="mj1-0001")
    )
    assert record.format == kind and record.rows == ROWS and record.status == "imported"
    experiment = store.experiment(record.experiment or "")
    assert (
        experiment.source == "import"
        and experiment.status == "finished"
        and experiment.technology == "li-ion"
    )
    assert experiment.rows == ROWS and experiment.data_files == [record.id]
    window = Window(experiment.started, experiment.finished)
    assert series.count(experiment.id, window) == ROWS
    samples = list(series.rows(experiment.id, window, ["test_time", "voltage", "current"]))
    assert samples[0][1] == 0.0 and samples[-1][1] == pytest.approx(6 * 3600 - 30)
    assert {round(s[3], 6) for s in samples} == {1.0, -1.0}  # signed amperes, whatever the vendor wrote
    if kind in ("arbin", "neware"):  # wall-clock columns give the real start
        assert experiment.started == int(vendor_files.START * 1000)
    cycles = store.cycles(experiment.id)
    assert len(cycles) == 3
    for cycle in cycles:
        assert cycle.charge_capacity == pytest.approx(1.0, rel=0.02)
        assert cycle.discharge_capacity == pytest.approx(1.0, rel=0.02)
        assert cycle.coulombic_efficiency == pytest.approx(1.0, rel=0.03)
        assert cycle.energy_efficiency is not None and 0.9 < cycle.energy_efficiency < 1.0
    influx_types = {"float": "float", "integer": "int", "string": "string", "boolean": "bool"}
    written = series.influx.series_values('SHOW FIELD KEYS FROM "experiments"."cycler"')
    assert {name: influx_types[kind] for name, kind in written} == {
        name: FIELD_TYPES[name] for name, _ in written
    }  # the same names and types as live runs, so one query reads both
    again = import_file(store, series, ImportRequest(path=path, name="renamed.csv", mapping=mapping))
    assert again.experiment == experiment.id  # same content: not imported twice
    assert store.counts()["experiments"] == 1 and _points(series) == ROWS


def _break_bdf(path: Path) -> tuple[int, str]:
    vendor_files.replace_line(path, 40, ",3.", ",abc")
    return 40, "Voltage / V"


def _break_arbin(path: Path) -> tuple[int, str]:
    lines = path.read_text().split("\n")
    cells = lines[300].split(",")
    cells[2] = "8970.0.1"  # a time that is not a number at line 301
    lines[300] = ",".join(cells)
    path.write_text("\n".join(lines))
    return 301, "Test_Time(s)"


def _break_maccor(path: Path) -> tuple[int, str]:
    vendor_files.replace_line(path, 100, "\tC\t", "\tX\t")
    return 100, "State"


def _break_biologic(path: Path) -> tuple[int, str]:
    vendor_files.replace_line(path, 500, "\t3,", "\t-3,", encoding="latin-1")  # Ewe -3 V: implausible
    return 500, "Ewe/V"


def _break_neware(path: Path) -> tuple[int, str]:
    vendor_files.replace_line(path, 650, ",-1.0,", ",-100.0,")  # 100 A on a 5 A cell
    return 650, "Current(A)"


def _break_generic(path: Path) -> tuple[int, str]:
    vendor_files.replace_line(path, 700, ";25.", ";999.")  # 999 degC
    return 700, "T"


BREAKERS: dict[str, Callable[[Path], tuple[int, str]]] = {
    "bdf": _break_bdf, "arbin": _break_arbin, "maccor": _break_maccor, "biologic": _break_biologic,
    "neware": _break_neware, "generic": _break_generic,
}  # fmt: skip


@pytest.mark.parametrize("kind", list(BREAKERS))
def test_a_broken_file_of_each_kind_is_refused_and_leaves_nothing(
    kind: str, tmp_path: Path, lab_store: tuple[Store, ExperimentSeries]
) -> None:
    store, series = lab_store
    path = _write(kind, tmp_path)
    row, column = BREAKERS[kind](path)
    before = store.counts()
    mapping = json.dumps(vendor_files.GENERIC_MAPPING) if kind == "generic" else None
    with pytest.raises(ImportFailed) as refused:
        import_file(store, series, ImportRequest(path=path, name=path.name, mapping=mapping, cell="mj1-0001"))
    assert refused.value.problems[0].startswith(f"row {row}, column '{column}': "), refused.value.problems
    assert store.counts() == before
    assert _points(series) == 0  # the batches written before the bad row were taken back


def test_missing_columns_bad_mappings_and_unknown_formats_are_named(tmp_path: Path) -> None:
    path = vendor_files.biologic(tmp_path / "x.mpt")
    vendor_files.replace_line(path, 5, "Ewe/V", "Efoo/V", encoding="latin-1")
    with pytest.raises(ImportFailed, match=r"no biologic header found \(needs .*voltage: one of 'Ewe/V'"):
        open_file(path)
    generic = vendor_files.generic(tmp_path / "g.csv")
    with pytest.raises(ImportFailed) as refused:
        open_file(generic, mapping={"minutes": "time/fortnights", "U": "voltage/V", "Amps": "current/A"})
    assert (
        refused.value.problems[0]
        == "mapping of column 'minutes': unit 'fortnights' is not one of s, ms, us, min, h, d"
    )
    with pytest.raises(ImportFailed, match=r"missing column \['Amps'\]"):
        open_file(generic, mapping={"minutes": "time/s", "U": "voltage/V", "Amps": "current/A"})
    with pytest.raises(ImportFailed, match="format not recognised"):
        open_file(generic)


def test_progress_is_reported_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.bdf.csv"
    with path.open("w") as out:
        out.write("Test Time / s,Voltage / V,Current / A\n")
        for n in range(60_000):
            out.write(f"{n},3.7,1.0\n")
    monkeypatch.setattr(text, "CHUNK", 5000)  # a progress report per chunk read
    monkeypatch.setattr(text, "pacsv", None)  # the chunked reader (the fast path reads small files at once)
    seen: list[float] = []
    reader = open_file(path, on_progress=seen.append)
    table = reader.read()
    assert len(table) == reader.rows == 60_000 and reader.progress == 1.0
    assert len(seen) >= 10 and 0 < seen[0] < seen[-1] < 1 and seen == sorted(seen)


def test_the_upload_api_imports_in_the_background(
    tmp_path: Path, lab_store: tuple[Store, ExperimentSeries]
) -> None:
    from fastapi.testclient import TestClient

    from labdcs.experiments.api import Services
    from labdcs.experiments.server import create_app
    from tests.experiments.lab import ADMIN, accounts, basic

    store, series = lab_store
    app = create_app(Services(store=store, series=series, work_dir=tmp_path / "work"), accounts=accounts())
    path = vendor_files.arbin(tmp_path / "run.csv")
    with TestClient(app, headers=basic(ADMIN)) as http:
        job = http.post(
            "/api/imports", params={"wait": "true"}, data={"cell": "mj1-0001", "name": "run 7"},
            files={"file": ("run.csv", path.read_bytes(), "text/csv")},
        ).json()  # fmt: skip
        assert job["state"] == "done" and job["rows"] == ROWS and job["progress"] == 1.0, job
        assert http.get(f"/api/imports/{job['id']}").json()["experiment"] == job["experiment"]
        # The upload is audited under the web login that made it, not as nobody.
        (audited,) = http.get("/api/audit", params={"target": job["experiment"]}).json()
        assert (audited["action"], audited["principal"], audited["user"]) == ("import", ADMIN[0], None)
        listed = http.get("/api/experiments", params={"q": "run 7"}).json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == job["experiment"]
        csv = http.get(f"/api/experiments/{job['experiment']}/export.csv").text.splitlines()
        assert len(csv) == ROWS + 1 and csv[1].startswith(f"{vendor_files.START:.3f},0,3.25,1,")
        broken = tmp_path / "broken.csv"
        broken.write_text(path.read_text().replace(",3.", ",x.", 1))
        failed = http.post(
            "/api/imports",
            params={"wait": "true"},
            files={"file": ("broken.csv", broken.read_bytes(), "text/csv")},
        ).json()
        assert failed["state"] == "failed" and failed["problems"][0].startswith("row 2, column 'Voltage(V)'")
    assert list((tmp_path / "work").iterdir()) == []  # uploads are removed after the import
