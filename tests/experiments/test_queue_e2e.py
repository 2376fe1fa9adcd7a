"""The queue end to end: real broker, InfluxDB, ingester, simulated station and the experiments
service as processes. Experiments start one after the other, are followed to their end with their
cycle statistics, can be paused, resumed and stopped, and their data come out as CSV and report."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

from labdcs.experiments.export import HEADER
from tests.experiments.lab import ADMIN, Lab, cycling
from tests.support import wait_until


def _queue(lab: Lab, name: str, protocol: str) -> str:
    with lab.client() as http:
        created = http.post(
            "/api/experiments",
            json={"name": name, "cell": "mj1-0001", "station": "station1", "protocol": protocol},
        )
        assert created.status_code == 201, created.text
        experiment_id: str = created.json()["id"]
        return experiment_id


def test_queued_experiments_run_in_turn_and_their_data_come_out(lab: Callable[..., Lab]) -> None:
    lab_ = lab(speed=400)
    with lab_.client() as http:
        refused = http.post("/api/protocols", json={"text": "Protocol: x\nCharge at 1C until 5 V"})
        assert refused.status_code == 201  # storable: it is the cell and station that refuse it
        bad = http.post(
            "/api/experiments",
            json={
                "name": "bad",
                "cell": "mj1-0001",
                "station": "station1",
                "protocol": refused.json()["protocol"]["id"],
            },
        )
        assert bad.status_code == 422 and any("4.2" in p for p in bad.json()["problems"]), bad.text
        protocol = http.post("/api/protocols", json={"text": cycling(2, 8)}).json()["protocol"]["id"]
    first = _queue(lab_, "first", protocol)
    second = _queue(lab_, "second", protocol)
    done = lab_.wait_status(first, {"finished", "aborted", "error"})
    assert done["status"] == "finished", done
    # The last cycle's statistics arrive as their own message and may be recorded just after the
    # status changes: wait for them rather than read the experiment once.
    done = wait_until(
        lambda: (e := lab_.experiment(first))["cycles"] == 2 and e, 30, "both cycles recorded", interval=0.2
    )
    assert done["cycles"] == 2 and done["started"] < done["finished"]
    assert done["progress"]["cycle_index"] == 2
    later = lab_.wait_status(second, {"finished", "aborted", "error"})
    assert later["status"] == "finished" and later["started"] >= done["finished"]
    with lab_.client() as http:
        cycles = http.get(f"/api/experiments/{first}/cycles").json()
        assert [c["cycle_index"] for c in cycles] == [1, 2]
        assert all(c["charge_capacity"] > 0.2 and c["discharge_capacity"] > 0.2 for c in cycles)
        entries = http.get("/api/audit", params={"target": first}).json()
        audit = [(a["action"], a["result"], a["principal"]) for a in entries]
        assert ("load_protocol", "accepted", "experiments-queue") in audit
        assert ("start", "accepted", "experiments-queue") in audit

        exported = http.get(f"/api/experiments/{first}/export.csv")
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.text)))
        assert ",".join(rows[0]) + "\n" == HEADER
        data = rows[1:]
        assert len(data) > 50
        times = [float(r[0]) for r in data]
        assert times == sorted(times)
        assert done["started"] / 1000 - 1 <= times[0] and times[-1] <= done["finished"] / 1000 + 1
        assert {int(r[6]) for r in data} == {1, 2}  # Cycle Count / 1

        report = http.get(f"/api/experiments/{first}/report.html")
        assert report.status_code == 200
        html = report.text
        assert html.count("data:image/png;base64,") >= 3 and "cycling-2x8" in html
        assert "src='http" not in html and 'src="http' not in html  # self-contained: opens offline
        # Figures as people read them: no exponents, durations as a clock shows them.
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
        assert re.search(r"\d\.?\d*e[-+]\d", text) is None
        assert re.search(r"<td>0:\d\d:\d\d</td>", html), "cycle durations as h:mm:ss"


def test_pause_resume_and_stop_through_the_api(lab: Callable[..., Lab]) -> None:
    lab_ = lab(speed=100)
    with lab_.client() as http:
        protocol = http.post("/api/protocols", json={"text": cycling(20, 30)}).json()["protocol"]["id"]
    running = _queue(lab_, "long", protocol)
    waiting = _queue(lab_, "waiting", protocol)
    lab_.wait_status(running, {"running"})
    with lab_.client() as http:
        assert http.post(f"/api/experiments/{running}/resume").status_code == 409
        paused = http.post(f"/api/experiments/{running}/pause", params={"user": "alice"})
        assert paused.status_code == 200 and paused.json()["result"] == "accepted", paused.text
        lab_.wait_status(running, {"paused"})
        assert http.post(f"/api/experiments/{running}/resume").json()["result"] == "accepted"
        lab_.wait_status(running, {"running"})
        dequeued = http.post(f"/api/experiments/{waiting}/stop", params={"user": "bob"}).json()
        assert dequeued["result"] == "dequeued" and dequeued["experiment"]["status"] == "aborted"
        assert (
            http.post(f"/api/experiments/{running}/stop", params={"user": "alice"}).json()["result"]
            == "accepted"
        )
    stopped = lab_.wait_status(running, {"aborted", "finished", "error"})
    assert stopped["status"] == "aborted" and "alice" in stopped["end_reason"]
    assert lab_.experiment(waiting)["started"] is None
    # The manager audits the web login with the person it named; the station, the manager's broker
    # login with what the manager claimed (the login and the person).
    with lab_.client() as http:
        entries = http.get("/api/audit", params={"target": running}).json()
    assert ("pause", "accepted", ADMIN[0], "alice") in [
        (a["action"], a["result"], a["principal"], a["user"]) for a in entries
    ]
    station_log = lab_.station.log_text()
    assert f"pause value=None by experiments (claims {ADMIN[0]} for alice) -> accepted" in station_log


def test_started_is_set_when_the_station_starts_the_run(lab: Callable[..., Lab]) -> None:
    """``started`` comes with the first running state (not at the end), on the station's clock, and
    every view of the experiment shows it from the first answer that says running."""
    lab_ = lab(speed=100)
    with lab_.client() as http:
        protocol = http.post("/api/protocols", json={"text": cycling(20, 30)}).json()["protocol"]["id"]
    running = _queue(lab_, "long", protocol)
    waiting = _queue(lab_, "waiting", protocol)

    def left_the_queue() -> dict[str, Any] | None:
        experiment = lab_.experiment(running)
        return None if experiment["status"] == "queued" else experiment

    first = wait_until(left_the_queue, 60, f"{running} to leave the queue", interval=0.02)
    assert first["status"] == "running" and first["started"] is not None, first
    started = first["started"]
    with lab_.client() as http:
        listed = {e["id"]: e for e in http.get("/api/experiments").json()["items"]}
        assert listed[running]["started"] == started and listed[waiting]["started"] is None
        station = http.get("/api/stations/station1").json()
        assert [(e["id"], e["started"]) for e in station["active"]] == [(running, started)]
        assert [e["started"] for e in station["queued"]] == [None]
    # The start is the station's: its latest state's time minus the run's test time.
    progressed = wait_until(
        lambda: (e := lab_.experiment(running))["progress"]["test_time"] > 60 and e, 30, "progress"
    )
    progress = progressed["progress"]
    assert abs(progress["ts"] - progress["test_time"] * 1000 - started) < 2000, (progress, started)
    with lab_.client() as http:
        assert http.post(f"/api/experiments/{running}/pause").json()["result"] == "accepted"
        assert lab_.wait_status(running, {"paused"})["started"] == started
        assert http.post(f"/api/experiments/{running}/stop").json()["result"] == "accepted"
    stopped = lab_.wait_status(running, {"aborted"})
    assert stopped["started"] == started and stopped["finished"] > started


def test_a_stop_from_the_manager_names_the_person_in_both_audits(lab: Callable[..., Lab]) -> None:
    """alice, with her own login, stops her team's run: the manager's audit and the station's own
    audit line (the command's user) name her, not a shared account; bob, an operator of another team,
    may read the run but not stop it."""
    lab_ = lab(speed=100)
    with lab_.client() as admin:
        admin.post("/api/teams", json={"id": "anodes"}).raise_for_status()
        alice = (
            "alice",
            admin.post("/api/users", json={"id": "alice", "role": "operator"}).json()["password"],
        )
        bob_made = admin.post("/api/users", json={"id": "bob", "role": "operator", "teams": ["anodes"]})
        bob = ("bob", bob_made.json()["password"])
        protocol = admin.post("/api/protocols", json={"text": cycling(20, 30)}).json()["protocol"]["id"]
    with lab_.client(alice) as http:
        mine = {"name": "alice's run", "cell": "mj1-0001", "station": "station1", "protocol": protocol}
        created = http.post("/api/experiments", json=mine)
        assert created.status_code == 201 and created.json()["operator"] == "alice", created.text
        run = created.json()["id"]
        lab_.wait_status(run, {"running"})
        with lab_.client(bob) as other:
            assert other.get(f"/api/experiments/{run}").status_code == 200
            refused = other.post(f"/api/experiments/{run}/stop")
            assert refused.status_code == 403 and "belongs to team 'lab'" in refused.text
        assert http.post(f"/api/experiments/{run}/stop").json()["result"] == "accepted"
    stopped = lab_.wait_status(run, {"aborted", "finished", "error"})
    assert stopped["status"] == "aborted" and "alice" in stopped["end_reason"]
    with lab_.client() as admin:
        audit = [
            (a["action"], a["principal"], a["result"])
            for a in admin.get("/api/audit", params={"target": run}).json()
        ]
    assert ("stop", "alice", "accepted") in audit and ("create", "alice", "ok") in audit
    station_audit = [
        line for line in lab_.station.log_text().splitlines() if " stop " in line and "command id=" in line
    ]
    assert station_audit and all("experiments (claims alice) ->" in line for line in station_audit), (
        station_audit
    )
