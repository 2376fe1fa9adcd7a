"""The plots' API on a real InfluxDB (authenticated, prepared as `labdcs up` does) behind the
in-process app: a long run comes as min/max buckets that keep a one-sample spike, a zoomed window as
every sample, a live plot gets only what is new, the CSV of a view has exactly the window's rows, one
cycle's V-capacity and dQ/dV; and the vendored charting library is what its notes say."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labdcs.experiments.api import Services
from labdcs.experiments.documents import CellIn
from labdcs.experiments.series import ExperimentSeries
from labdcs.experiments.server import create_app
from labdcs.experiments.store import Store
from labdcs.ingest import retention
from labdcs.security import influx as influx_auth
from tests.experiments.conftest import NMC
from tests.experiments.lab import ADMIN, accounts, basic
from tests.experiments.plotdata import DIP_V, SPIKE_V, bdf_file, import_file
from tests.support import Influx

ROWS, HALF, SPIKE = 20_000, 600, 12_345
STATIC = Path(__file__).resolve().parents[2] / "services/labdcs/experiments/static"


@pytest.fixture
def http(embedded: Store, influx: Influx, tmp_path: Path) -> Iterator[TestClient]:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    embedded.add_cell_type(NMC)
    embedded.add_cell(CellIn(serial="MJ1-0001", type="lg-mj1"))
    series = ExperimentSeries(influx.login(influx_auth.EXPERIMENTS))
    app = create_app(Services(store=embedded, series=series, work_dir=tmp_path / "work"), accounts=accounts())
    with TestClient(app, headers=basic(ADMIN)) as client:
        yield client


def _plot(http: TestClient, experiment: str, **params: Any) -> dict[str, Any]:
    answer = http.get(f"/api/experiments/{experiment}/plot", params=params)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_a_long_run_keeps_its_extremes_and_a_zoom_shows_every_sample(
    http: TestClient, tmp_path: Path
) -> None:
    experiment = import_file(http, bdf_file(tmp_path / "long.csv", ROWS, HALF, spike_at=SPIKE), "long run")
    run = http.get(f"/api/experiments/{experiment}").json()
    t0 = run["started"]
    assert run["finished"] == t0 + (ROWS - 1) * 1000

    # The whole run in 500 px: min/max buckets, the one-sample spike and dip still there.
    whole = _plot(http, experiment, width=500)
    assert (whole["start"], whole["end"]) == (t0, run["finished"])
    volts = whole["fields"][0]
    assert [f["field"] for f in whole["fields"]] == ["voltage", "current", "temperature"]
    assert volts["bucket_ms"] == 40_000 and 490 <= len(volts["t"]) <= 501
    assert max(volts["max"]) == SPIKE_V and min(volts["min"]) == DIP_V
    # Means of the same buckets (what the plot had before) smooth both away.
    means = http.get(f"/api/experiments/{experiment}/series", params={"points": 500}).json()
    assert max(means["voltage"]) < 4.2 and min(means["voltage"]) > 3.1

    # Zoomed to 10 minutes around the spike: every sample, the spike among them.
    start, end = t0 + (SPIKE - 300) * 1000, t0 + (SPIKE + 300) * 1000
    zoomed = _plot(http, experiment, start=start, end=end, width=500, field="voltage")
    (volts,) = zoomed["fields"]
    assert volts["bucket_ms"] == 0 and volts["t"] == list(range(start, end + 1, 1000))
    assert volts["min"] == volts["max"] and volts["max"][300] == SPIKE_V
    # A window reaching past the run is read inside the run.
    past = _plot(http, experiment, start=run["finished"] - 5000, end=run["finished"] + 10**7, width=500)
    assert (past["start"], past["end"]) == (run["finished"] - 5000, run["finished"])
    assert len(past["fields"][1]["t"]) == 6

    # A live plot asks only for what came after its last point.
    since = _plot(http, experiment, since=run["finished"] - 3000, field=["voltage", "current"])
    newest = [run["finished"] - 2000, run["finished"] - 1000, run["finished"]]
    assert [f["t"] for f in since["fields"]] == [newest, newest]
    assert _plot(http, experiment, since=run["finished"])["fields"][0]["t"] == []

    # Nonsense is refused in words.
    backwards = http.get(f"/api/experiments/{experiment}/plot", params={"start": end, "end": start})
    assert backwards.status_code == 422 and "ends" in backwards.json()["detail"]
    unknown = http.get(f"/api/experiments/{experiment}/plot", params={"field": "password"})
    assert unknown.status_code == 422


def test_an_ended_run_is_read_once_and_rolled_up_by_minute(
    http: TestClient, influx: Influx, tmp_path: Path
) -> None:
    from labdcs.experiments.downsample import ROLLUPS

    experiment = import_file(http, bdf_file(tmp_path / "done.csv", 5000, HALF, spike_at=2000), "done")
    first = _plot(http, experiment, width=50)
    volts = first["fields"][0]
    assert volts["bucket_ms"] == 120_000 and len(volts["t"]) == 42
    assert max(volts["max"]) == SPIKE_V and min(volts["min"]) == DIP_V
    # Plotting the ended run started its roll-up: minute extremes in InfluxDB, kept forever.
    assert ROLLUPS.wait(experiment, 30)
    rolled = influx.client.series_values(
        f'SELECT count("voltage_max") FROM "experiments"."cycler_1m" WHERE "experiment" = \'{experiment}\''
    )
    assert rolled[0][1] == 84  # 5000 s in whole minutes
    # The spike overwritten behind the manager's back: the window seen before is given as it was
    # read, another with minute buckets comes from the roll-up (the spike still there), and one
    # that needs shorter buckets is read from the raw data (the spike gone).
    t0 = http.get(f"/api/experiments/{experiment}").json()["started"]
    key = f"cycler,channel=file,device=import,experiment={experiment},kind=cycler"  # the import's series
    written = influx.client.write([f"{key} voltage=3.5 {t0 + 2000 * 1000}"], retention_policy="experiments")
    assert written.written == 1
    assert _plot(http, experiment, width=50) == first
    again = _plot(http, experiment, width=60)["fields"][0]
    assert again["bucket_ms"] == 120_000 and max(again["max"]) == SPIKE_V
    assert (again["t"], again["min"]) == (volts["t"], volts["min"])
    finer = _plot(http, experiment, width=400)["fields"][0]
    assert finer["bucket_ms"] == 15_000 and max(finer["max"]) < SPIKE_V and min(finer["min"]) == DIP_V


def test_a_running_experiment_is_rolled_up_to_its_settled_minutes(
    http: TestClient, embedded: Store, influx: Influx
) -> None:
    """Three hours of a run still running, the last minute just written: the whole view reads the
    settled minutes from the roll-up and the rest raw, so a new sample shows at once."""
    import time

    from labdcs.experiments.documents import Experiment, Status
    from labdcs.experiments.downsample import ROLLUPS

    now = int(time.time()) * 1000
    t0 = now - now % 60_000 - 3 * 3_600_000  # three hours in whole minutes: 4-min buckets in 50 px
    key = "cycler,channel=ch1,device=station1,experiment=exp-live,kind=cycler"
    lines = [
        f"{key} voltage={SPIKE_V if t == t0 + 2_000_000 else 3.7} {t}" for t in range(t0, now - 60_000, 1000)
    ]
    assert influx.client.write(lines).written == len(lines)
    embedded.insert_experiment(
        Experiment(id="exp-live", name="live", cell="mj1-0001", station="station1", channel="ch1",
                   protocol="p", status=Status.RUNNING, started=t0)
    )  # fmt: skip
    first = _plot(http, "exp-live", width=50, field="voltage")["fields"][0]
    assert first["bucket_ms"] == 240_000 and max(first["max"]) == SPIKE_V
    assert ROLLUPS.wait("exp-live", 30)
    rolled = influx.client.series_values(
        'SELECT count("voltage_max") FROM "experiments"."cycler_1m" WHERE "experiment" = \'exp-live\''
    )
    settled = (now - 5 * 60_000) // 60_000 * 60_000
    # Whole minutes older than 5 min, none newer (the server's clock may have passed one more minute).
    assert rolled[0][1] in ((settled - t0) // 60_000, (settled - t0) // 60_000 + 1), rolled
    # Behind the manager's back: the spike overwritten (in a rolled minute), a new sample now.
    assert influx.client.write(
        [f"{key} voltage=3.7 {t0 + 2_000_000}", f"{key} voltage=4.9 {now - 30_000}"]
    ).written
    again = _plot(http, "exp-live", width=50, field="voltage")["fields"][0]
    assert again["bucket_ms"] == 240_000 and SPIKE_V in again["max"] and max(again["max"]) == 4.9
    assert again["t"][-1] <= now - 30_000 < again["t"][-1] + 240_000


def test_the_csv_of_a_view_has_exactly_its_rows(http: TestClient, tmp_path: Path) -> None:
    experiment = import_file(http, bdf_file(tmp_path / "run.csv", 5000, HALF), "csv run")
    t0 = http.get(f"/api/experiments/{experiment}").json()["started"]
    start, end = t0 + 1234_500, t0 + 1834_500  # half-second ends: samples at 1235..1834 s
    answer = http.get(f"/api/experiments/{experiment}/view.csv", params={"start": start, "end": end})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert f'filename="{experiment}-{start}-{end}.bdf.csv"' in answer.headers["content-disposition"]
    lines = answer.text.splitlines()
    assert lines[0].startswith("Unix Time / s,Test Time / s,Voltage / V")
    times = [round(float(line.split(",")[1])) for line in lines[1:]]
    assert times == list(range(1235, 1835))
    whole = http.get(f"/api/experiments/{experiment}/view.csv").text.splitlines()
    assert len(whole) == 5001


def test_one_cycle_as_voltage_against_capacity_and_dqdv(http: TestClient, tmp_path: Path) -> None:
    experiment = import_file(http, bdf_file(tmp_path / "cycles.csv", 3600, HALF), "cycles")
    curves = http.get(f"/api/experiments/{experiment}/cycle-curves", params={"cycle": [2, 9]}).json()
    assert [c["cycle"] for c in curves] == [2, 9] and curves[1]["branches"] == []
    charge, discharge = curves[0]["branches"]
    assert (charge["direction"], discharge["direction"]) == ("charge", "discharge")
    # 1 A for 600 s: 0.1667 Ah each way, from the branch's own start.
    assert charge["capacity"][0] == 0 and charge["capacity"][-1] == pytest.approx(599 / 3600, rel=0.01)
    assert discharge["capacity"][-1] == pytest.approx(599 / 3600, rel=0.01)
    assert all(v > 0 for v in charge["dqdv"]) and all(v < 0 for v in discharge["dqdv"])
    assert sum(charge["dqdv"]) * 0.01 == pytest.approx(charge["capacity"][-1], rel=0.01)


def test_the_vendored_charting_library_is_what_its_notes_say(http: TestClient) -> None:
    import tomllib
    from fnmatch import fnmatch

    notes = (STATIC / "VENDOR.md").read_text()
    for name in ("uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"):
        row = next(line for line in notes.splitlines() if line.startswith(f"| `{name}`"))
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() in row, name
        assert "1.6.32" in row
    assert "(v1.6.32)" in (STATIC / "uPlot.iife.min.js").read_text()[:100]
    assert "MIT" in (STATIC / "uPlot.LICENSE").read_text()
    root = STATIC.parents[3]
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["labdcs"]
    assert any(fnmatch("experiments/static/uPlot.iife.min.js", g) for g in globs), globs
    served = http.get("/static/uPlot.iife.min.js")
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/javascript")
    assert "script-src 'self'" not in served.headers["content-security-policy"]  # no inline code anywhere
    assert http.get("/static/VENDOR.md").status_code == 404
    assert http.get("/static/..%2Fapi.py").status_code == 404
    for path in ("/experiments/anything", "/compare"):
        page = http.get(path)
        policy = page.headers["content-security-policy"]
        assert "script-src 'self' 'nonce-" in policy and "unsafe" not in policy, policy
        assert "<script src='/static/uPlot.iife.min.js'></script>" in page.text
        assert re.search(r"\son[a-z]+=", page.text) is None  # no inline event handlers
