"""The harvester accounts for every file in its folders: imported (with the experiment), failed (with
the reason), skipped (with the reason) -- in the log, the API and the UI; and a file that could not
be imported because InfluxDB was down is waiting, not failed, and imported when InfluxDB is back."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from labdcs.experiments.api import Services
from labdcs.experiments.documents import HarvestStatus
from labdcs.experiments.harvester import Harvester
from labdcs.experiments.series import ExperimentSeries
from labdcs.experiments.store import Store
from labdcs.ingest import retention
from labdcs.security import influx as influx_auth
from tests.experiments import vendor_files
from tests.experiments.browser import needs_chromium, wait_js
from tests.experiments.harvest_app import client, served
from tests.experiments.lab import ADMIN
from tests.support import Influx, wait_until


def _statuses(store: Store) -> dict[str, tuple[str, str]]:
    files, _ = store.harvested_files(limit=0)
    return {Path(f.path).name: (f.status.value, f.reason) for f in files}


def _settled(harvester: Harvester, store: Store, count: int) -> dict[str, tuple[str, str]] | None:
    harvester.scan()
    found = _statuses(store)
    busy = [name for name, (status, _) in found.items() if status == HarvestStatus.WAITING]
    return found if len(found) == count and not busy else None


def test_every_file_is_accounted_for_in_log_api_and_store(
    tmp_path: Path, embedded: Store, influx: Influx, caplog: pytest.LogCaptureFixture
) -> None:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    inbox = tmp_path / "inbox"
    (inbox / "cycler2").mkdir(parents=True)
    good = vendor_files.arbin(inbox / "good.csv")
    shutil.copy(good, inbox / "cycler2" / "copy.csv")
    bad = inbox / "bad.csv"
    bad.write_text(good.read_text().replace(",3.", ",?.", 1))
    (inbox / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    (inbox / ".~lock.good.csv#").write_text("someone,host")
    (inbox / "notes.txt").write_text("the cell swelled on Tuesday\n")
    series = ExperimentSeries(influx.login(influx_auth.EXPERIMENTS))
    harvester = Harvester(embedded, series, [inbox], stable_s=0.2, interval=0.05)
    caplog.set_level(logging.INFO, logger="labdcs.experiments.harvester")

    found = wait_until(
        lambda: _settled(harvester, embedded, 6), 60, "every file accounted for", interval=0.05
    )
    experiment = embedded.experiments()[0][0].id
    assert found["good.csv"] == ("imported", "") or found["copy.csv"] == ("imported", "")
    copy_or_good = found["copy.csv"] if found["good.csv"][0] == "imported" else found["good.csv"]
    assert copy_or_good[0] == "skipped" and f"imported already as {experiment}" in copy_or_good[1]
    assert found["bad.csv"][0] == "failed" and found["bad.csv"][1].startswith("row 2, column 'Voltage(V)'")
    assert found["photo.jpg"] == ("skipped", found["photo.jpg"][1])
    assert "matches none of the harvest patterns" in found["photo.jpg"][1]
    assert found[".~lock.good.csv#"][0] == "skipped" and "hidden" in found[".~lock.good.csv#"][1]
    assert found["notes.txt"][0] == "failed" and "not recognised" in found["notes.txt"][1]
    assert (harvester.imported, harvester.failed, harvester.skipped) == (1, 2, 3)

    logged = {r.getMessage() for r in caplog.records}
    for name, (status, _) in found.items():
        assert any(name in line and f": {status}" in line for line in logged), (name, status)
    lines_before = len(caplog.records)
    for _ in range(5):  # nothing changes: nothing more is said
        harvester.scan()
    assert len(caplog.records) == lines_before

    with served(Services(store=embedded, series=series)) as url, client(url) as http:
        every = http.get("/api/harvested-files").json()
        assert every["total"] == 6
        assert {Path(f["path"]).name: (f["status"], f["reason"]) for f in every["items"]} == found
        failed = http.get("/api/harvested-files", params={"status": "failed"}).json()
        assert sorted(Path(f["path"]).name for f in failed["items"]) == ["bad.csv", "notes.txt"]
        imported = http.get("/api/harvested-files", params={"status": "imported"}).json()["items"]
        assert imported[0]["experiment"] == experiment and imported[0]["rows"] == 720


def test_a_file_that_failed_while_influxdb_was_down_is_retried(
    tmp_path: Path, embedded: Store, influx: Influx
) -> None:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    series = ExperimentSeries(influx.login(influx_auth.EXPERIMENTS))
    harvester = Harvester(embedded, series, [inbox], stable_s=0.2, interval=0.05, retry_s=0.2)
    influx.stop()
    try:
        vendor_files.arbin(inbox / "run.csv")

        def waiting() -> str | None:
            harvester.scan()
            status, reason = _statuses(embedded).get("run.csv", ("", ""))
            return reason if status == "waiting" and "tried again" in reason else None

        reason = wait_until(waiting, 60, "the import to wait for InfluxDB", interval=0.05)
        assert "not reachable" in reason or "InfluxDB" in reason, reason
        for _ in range(10):  # still down: still waiting, never failed
            harvester.scan()
        assert _statuses(embedded)["run.csv"][0] == "waiting" and harvester.failed == 0
        assert embedded.data_files("failed")[1] == 0
    finally:
        influx.start()

    def imported() -> bool:
        harvester.scan()
        return _statuses(embedded)["run.csv"][0] == "imported"

    wait_until(imported, 60, "the import once InfluxDB is back", interval=0.1)
    assert harvester.imported == 1 and harvester.failed == 0 and embedded.experiments()[1] == 1


@needs_chromium
def test_the_harvest_page_shows_every_file_with_why(
    tmp_path: Path, embedded: Store, influx: Influx, browser: Any
) -> None:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    vendor_files.arbin(inbox / "good.csv")
    (inbox / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0")
    series = ExperimentSeries(influx.login(influx_auth.EXPERIMENTS))
    harvester = Harvester(embedded, series, [inbox], stable_s=0.2, interval=0.05)
    wait_until(lambda: _settled(harvester, embedded, 2), 60, "both files accounted for", interval=0.05)
    with served(Services(store=embedded, series=series)) as url:
        page = browser.new_page(http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
        try:
            page.goto(f"{url}/harvest")
            wait_js(page, "document.querySelectorAll('#files tbody tr').length === 2")
            rows = page.locator("#files tbody tr").all_inner_texts()
            assert any("good.csv" in r and "imported" in r and "exp-" in r for r in rows), rows
            assert any("photo.jpg" in r and "skipped" in r and "harvest patterns" in r for r in rows), rows
            page.select_option("#status", "skipped")
            wait_js(page, "document.querySelectorAll('#files tbody tr').length === 1")
        finally:
            page.close()
