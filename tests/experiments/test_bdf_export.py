"""BDF CSV and BDF Parquet export, validated by the Battery Data Alliance's own validator (batterydf),
and read back: ``import(export(x))`` reproduces ``x``, on real files from ``../shared/vendor-files``.

Two levels: the normalised Table of a real binary file written as BDF and read back (exact: floats
written as their shortest exact text, Parquet as float64); and an experiment imported into InfluxDB
from a real BDF file, exported by the API's code (CSV and Parquet) and imported again (the same
points: times to the ms InfluxDB holds them at, values exact).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from labdcs.experiments.api import Services
from labdcs.experiments.documents import CellIn
from labdcs.experiments.export import csv_chunks, parquet_file, read_table, write_table
from labdcs.experiments.importing import ImportRequest, import_file
from labdcs.experiments.readers import binary
from labdcs.experiments.series import ExperimentSeries, Window
from labdcs.experiments.store import Store
from labdcs.ingest import retention
from labdcs.security import influx as influx_auth
from tests.experiments.conftest import NMC
from tests.experiments.harvest_app import client, served
from tests.experiments.test_binary_readers import VENDOR, needs_mdbtools, needs_vendor
from tests.support import Influx

bdf_io = pytest.importorskip("bdf.io", reason="batterydf (the BDF validator) is not installed")
bdf_validate = pytest.importorskip("bdf.validate", reason="batterydf (the BDF validator) is not installed")


def validated(path: Path) -> None:
    """batterydf loads the file and its validator finds every required column, nothing legacy."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # legacy labels would be a warning
        frame = bdf_io.load(path)
        report = bdf_validate.validate_df(frame, raise_on_error=True)
    assert report["ok"] and not report.get("missing"), report


@needs_vendor
@needs_mdbtools
@pytest.mark.parametrize(
    "name", ["arbin/20160805_test001_45_cc_01.res", "neware/TestFile.nda", "biologic/gcpl.issue_211.mpr"]
)
@pytest.mark.parametrize("suffix", [".bdf.csv", ".bdf.parquet"])
def test_table_round_trip_through_bdf(name: str, suffix: str, tmp_path: Path) -> None:
    original = binary.read_binary(VENDOR / name)
    path = tmp_path / f"out{suffix}"
    write_table(original, path)
    validated(path)
    back = read_table(path)
    assert len(back) == len(original)
    assert back.meta.start_ns == original.meta.start_ns
    for column, values in original.columns().items():
        if column == "row":
            continue
        again = getattr(back, column)
        assert again is not None, column
        assert np.array_equal(again, values), column


@pytest.fixture
def lab_store(embedded: Store, influx: Influx) -> Iterator[tuple[Store, ExperimentSeries]]:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    embedded.add_cell_type(NMC)
    embedded.add_cell(CellIn(serial="MJ1-0001", type="lg-mj1"))
    yield embedded, ExperimentSeries(influx.login(influx_auth.EXPERIMENTS), chunk_size=5000)


FIELDS = ["voltage", "current", "test_time", "cycle_index", "charge_capacity", "discharge_capacity"]


def _rows(series: ExperimentSeries, experiment: str) -> list[list[object]]:
    return list(series.rows(experiment, Window(None, None), FIELDS))


@needs_vendor
def test_influx_export_validates_and_imports_back(
    tmp_path: Path, lab_store: tuple[Store, ExperimentSeries]
) -> None:
    store, series = lab_store
    source = VENDOR / "bdf/SINTEF__LiGrR2032__2024-04-30__25degC__Landt.bdf.csv"
    first = import_file(store, series, ImportRequest(path=source, name=source.name))
    experiment = first.experiment or ""
    window = Window(None, None)

    exported_csv = tmp_path / "export.bdf.csv"
    exported_csv.write_text("".join(csv_chunks(series, experiment, window)))
    validated(exported_csv)
    exported_parquet = tmp_path / "export.bdf.parquet"
    with exported_parquet.open("wb") as sink:
        written = parquet_file(series, experiment, window, sink)
    validated(exported_parquet)
    assert written == first.rows == 25162
    assert pq.ParquetFile(exported_parquet).metadata.num_row_groups == 1

    again = import_file(store, series, ImportRequest(path=exported_csv, name="again.csv", format="bdf"))
    assert again.rows == first.rows
    before, after = _rows(series, experiment), _rows(series, again.experiment or "")
    assert before == after  # the same points: times (ms), values, cycles and accumulators

    table = read_table(exported_parquet)
    assert len(table) == first.rows
    assert np.array_equal(table.voltage, np.array([r[1] for r in before], dtype=np.float64))


def test_parquet_export_is_written_in_row_groups(
    tmp_path: Path, lab_store: tuple[Store, ExperimentSeries], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memory stays bounded: rows go out one row group at a time, not all at once."""
    from labdcs.experiments import export
    from tests.experiments import vendor_files

    store, series = lab_store
    path = vendor_files.WRITERS["bdf"](tmp_path / "cell.bdf.csv")
    record = import_file(store, series, ImportRequest(path=path, name=path.name))
    monkeypatch.setattr(export, "PARQUET_ROWS_PER_GROUP", 100)
    sink = io.BytesIO()
    assert parquet_file(series, record.experiment or "", Window(None, None), sink) == record.rows
    sink.seek(0)
    assert pq.ParquetFile(sink).metadata.num_row_groups == -(-(record.rows or 0) // 100)


@needs_vendor
@needs_mdbtools
def test_the_api_serves_bdf_parquet(tmp_path: Path, lab_store: tuple[Store, ExperimentSeries]) -> None:
    """``GET /api/experiments/{id}/export.parquet`` of an imported Arbin .res: batterydf validates it,
    and it holds every point."""
    store, series = lab_store
    source = VENDOR / "arbin/20160805_test001_45_cc_01.res"
    record = import_file(store, series, ImportRequest(path=source, name=source.name))
    with served(Services(store=store, series=series)) as url, client(url) as http:
        answer = http.get(f"/api/experiments/{record.experiment}/export.parquet")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/vnd.apache.parquet"
    path = tmp_path / "served.bdf.parquet"
    path.write_bytes(answer.content)
    validated(path)
    assert pq.ParquetFile(path).metadata.num_rows == record.rows == 10261
