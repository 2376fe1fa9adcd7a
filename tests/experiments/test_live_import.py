"""A file a cycler is still writing, imported live: a real EC-Lab export (``gcpl.issue_211.mpt``,
2767 rows) is appended to in steps while the harvester watches it; the experiment's points grow
with every step, it is running (its page the live page of our stations) and finished once the file
stops growing; no point is written twice; a harvester restarted mid-way resumes from the checkpoint;
a file rewritten from the start is detected. In the end the points are those of importing the
finished file in one go."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from labdcs.experiments.api import Services
from labdcs.experiments.documents import Status
from labdcs.experiments.harvester import Harvester, file_id
from labdcs.experiments.importing import ImportRequest, import_file
from labdcs.experiments.series import ExperimentSeries, Window
from labdcs.experiments.store import Store
from labdcs.ingest import retention
from labdcs.security import influx as influx_auth
from tests.experiments.browser import needs_chromium, wait_js
from tests.experiments.harvest_app import served
from tests.experiments.lab import ADMIN
from tests.experiments.test_binary_readers import VENDOR, needs_vendor
from tests.support import Influx, wait_until

SOURCE = VENDOR / "biologic/gcpl.issue_211.mpt"
HEADER_LINES = 80
ROWS = 2767


def _points(series: ExperimentSeries, experiment: str) -> int:
    return series.count(experiment)


def _lines() -> tuple[bytes, list[bytes]]:
    lines = SOURCE.read_bytes().splitlines(keepends=True)
    return b"".join(lines[:HEADER_LINES]), lines[HEADER_LINES:]


@pytest.fixture
def watched(tmp_path: Path, embedded: Store, influx: Influx) -> tuple[Path, Store, ExperimentSeries]:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return inbox, embedded, ExperimentSeries(influx.login(influx_auth.EXPERIMENTS), chunk_size=5000)


def _harvester(store: Store, series: ExperimentSeries, inbox: Path, stable_s: float = 1.5) -> Harvester:
    return Harvester(store, series, [inbox], stable_s=stable_s, interval=0.05)


def _growing(
    watched: tuple[Path, Store, ExperimentSeries], name: str, first: int, then: int
) -> tuple[Path, Harvester]:
    """A file seen with its first ``first`` rows, then grown to ``then`` rows: imported live."""
    inbox, store, series = watched
    header, rows = _lines()
    path = inbox / name
    path.write_bytes(header + b"".join(rows[:first]))
    harvester = _harvester(store, series, inbox, stable_s=30)
    harvester.scan()
    with path.open("ab") as out:
        out.write(b"".join(rows[first:then]))
    harvester.scan()
    return path, harvester


@needs_vendor
def test_appended_rows_are_imported_live_and_resumed_after_a_restart(
    watched: tuple[Path, Store, ExperimentSeries], caplog: pytest.LogCaptureFixture
) -> None:
    inbox, store, series = watched
    header, rows = _lines()
    assert len(rows) == ROWS
    path = inbox / "cell-7.mpt"
    path.write_bytes(header + b"".join(rows[:100]))
    harvester = _harvester(store, series, inbox)
    harvester.scan()  # first sight: it may be a finished file being copied in
    assert store.counts()["experiments"] == 0
    steps = [(100, 700), (700, 1301), (1301, 1900)]
    counts = []
    experiment = ""
    for begin, end in steps:
        with path.open("ab") as out:  # the last line of each step is left without its line end
            out.write(b"".join(rows[begin:end])[:-2])
        harvester.scan()
        with path.open("ab") as out:
            out.write(b"\r\n")
        harvester.scan()
        point = store.harvested_file(file_id(path))
        assert point is not None and point.status == "live" and point.experiment is not None
        experiment = point.experiment
        counts.append(_points(series, experiment))
        assert counts[-1] == point.rows == end  # every row so far, none twice
        assert store.experiment(experiment).status == Status.RUNNING
    assert counts == [700, 1301, 1900]
    running = store.experiment(experiment)
    assert running.progress.test_time > 0 and running.rows == 1900 and running.finished is None

    caplog.set_level(logging.INFO, logger="labdcs.experiments.harvester")
    harvester = _harvester(store, series, inbox)  # a restart: nothing in memory, the checkpoint kept
    with path.open("ab") as out:
        out.write(b"".join(rows[1900:2500]))
    harvester.scan()
    assert any("resumed at row 1900" in r.getMessage() for r in caplog.records)
    assert _points(series, experiment) == 2500 and store.counts()["experiments"] == 1
    with path.open("ab") as out:
        out.write(b"".join(rows[2500:]))

    def finished() -> bool:
        harvester.scan()
        return store.experiment(experiment).status == Status.FINISHED

    wait_until(finished, 30, "the experiment to finish once the file stops growing", interval=0.1)
    done = store.experiment(experiment)
    assert done.rows == ROWS and _points(series, experiment) == ROWS
    assert done.end_reason == "the file stopped growing (unchanged for 1.5 s)"
    assert done.cycles == len(store.cycles(experiment)) >= 4
    assert store.harvested_file(file_id(path)).status == "imported"  # type: ignore[union-attr]

    # the same points as importing the finished file in one go (one more line end: new content)
    whole = inbox.parent / "whole.mpt"
    whole.write_bytes(path.read_bytes() + b"\r\n")
    record = import_file(store, series, ImportRequest(path=whole, name=whole.name))
    fields = ["voltage", "current", "test_time", "cycle_index", "charge_capacity", "discharge_energy"]
    live_points = list(series.rows(experiment, Window(None, None), fields))
    whole_points = list(series.rows(record.experiment or "", Window(None, None), fields))
    assert len(live_points) == ROWS and live_points == whole_points
    assert done.started == store.experiment(record.experiment or "").started


@needs_vendor
def test_a_rewritten_file_ends_its_live_experiment_and_is_imported_anew(
    watched: tuple[Path, Store, ExperimentSeries],
) -> None:
    _, store, series = watched
    header, rows = _lines()
    path, harvester = _growing(watched, "cell-8.mpt", 200, 400)
    first = store.harvested_file(file_id(path))
    assert first is not None and first.experiment is not None and first.rows == 400
    path.write_bytes(header + b"".join(rows[1000:1500]))  # the cycler started over (new content)
    harvester.scan()
    old = store.experiment(first.experiment)
    assert old.status == Status.ABORTED and "rewritten" in (old.end_reason or "")
    again = store.harvested_file(file_id(path))
    assert again is not None and again.experiment != first.experiment and again.rows == 500
    assert _points(series, first.experiment) == 400 and _points(series, again.experiment or "") == 500


@needs_vendor
@needs_chromium
def test_a_live_import_has_the_live_page_of_a_station(
    watched: tuple[Path, Store, ExperimentSeries], browser: Any
) -> None:
    _, store, series = watched
    rows = _lines()[1]
    path, harvester = _growing(watched, "cell-9.mpt", 300, 600)
    experiment = store.harvested_file(file_id(path)).experiment  # type: ignore[union-attr]
    with served(Services(store=store, series=series)) as url:
        page = browser.new_page(http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
        try:
            page.goto(f"{url}/experiments/{experiment}")
            wait_js(page, "document.querySelector('#live .status')?.textContent === 'running'")
            wait_js(page, "Number(document.querySelector('#plot-v').dataset.points || 0) > 3")
            first = int(page.get_attribute("#plot-v", "data-points") or 0)
            with path.open("ab") as out:
                out.write(b"".join(rows[600:2000]))
            harvester.scan()
            wait_js(page, f"Number(document.querySelector('#plot-v').dataset.points || 0) > {first}")
        finally:
            page.close()


@needs_vendor
def test_rows_that_read_differently_once_more_arrive_end_the_live_experiment(
    watched: tuple[Path, Store, ExperimentSeries],
) -> None:
    """What was written must stay what the file says: when the rows imported so far no longer read
    the same (the import's whole-file policies decided a time unit or a sign anew), the live
    experiment ends as for a rewritten file and the file is imported anew. Simulated here by a
    checkpoint whose last row disagrees with the file."""
    inbox, store, series = watched
    rows = _lines()[1]
    path, harvester = _growing(watched, "cell-10.mpt", 200, 400)
    point = store.harvested_file(file_id(path))
    assert point is not None and point.rows == 400 and point.last_row == HEADER_LINES + 400
    point.last_time_ns = (point.last_time_ns or 0) + 1  # as if row 480 now read 1 ns later
    store.put_harvested_file(point)
    harvester = _harvester(store, series, inbox, stable_s=30)  # resumes from that checkpoint
    with path.open("ab") as out:
        out.write(b"".join(rows[400:500]))
    harvester.scan()
    old = store.experiment(point.experiment or "")
    assert old.status == Status.ABORTED and "read differently" in (old.end_reason or "")
    again = store.harvested_file(file_id(path))
    assert again is not None and again.experiment != point.experiment and again.rows == 500
