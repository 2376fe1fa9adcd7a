"""The document store, on the embedded engine (montydb on SQLite) and on real MongoDB when Docker is
reachable: references and limits are checked, protocols are immutable versions, the experiments
table filters, searches, sorts and pages in the database, the queue's claim is atomic, and old
documents migrate."""

from __future__ import annotations

import threading

import pytest

from labdcs.experiments.documents import (
    SCHEMA_VERSION,
    CellIn,
    CycleStat,
    ExperimentIn,
    Limits,
    Status,
)
from labdcs.experiments.store import Conflict, NotFound, Store, StoreError
from labdcs.protocols import parse
from tests.experiments.conftest import CYCLING, NMC, populate


def _queue(store: Store, name: str, **extra: object) -> str:
    data = ExperimentIn(
        name=name,
        cell="mj1-0001",
        station="station1",
        protocol="short-cycling-v1",
        **extra,  # type: ignore[arg-type]
    )
    return store.create_experiment(data, user="tester").id


def test_cells_narrow_the_datasheet_and_scale_with_series_and_parallel(store: Store) -> None:
    store.add_cell_type(NMC)
    with pytest.raises(Conflict):
        store.add_cell_type(NMC)
    with pytest.raises(NotFound, match="no cell type 'nope'"):
        store.add_cell(CellIn(serial="x", type="nope"))
    with pytest.raises(StoreError) as refused:
        store.add_cell(CellIn(serial="x", type="lg-mj1", limits=Limits(v_max=4.3, i_charge_max=1.0)))
    assert refused.value.problems == ["v_max 4.3 is outside the datasheet's 4.2"]
    pack = store.add_cell(
        CellIn(serial="Pack 7", type="lg-mj1", series=4, parallel=2, limits=Limits(v_max=4.1))
    )
    limits, capacity = store.cell_envelope(pack)
    assert (limits.v_min, limits.v_max, limits.i_charge_max, limits.i_discharge_max) == (
        10.0,
        16.4,
        5.0,
        10.0,
    )
    assert capacity == 5.0
    assert store.cell("pack-7").technology == "li-ion"


def test_protocols_are_immutable_content_hashed_versions(store: Store) -> None:
    first, created = store.add_protocol(parse(CYCLING))
    assert created and first.id == "short-cycling-v1" and first.version == 1
    again, created = store.add_protocol(parse(CYCLING))
    assert not created and again.id == first.id
    changed, created = store.add_protocol(parse(CYCLING.replace("5 minutes", "6 minutes")))
    assert created and changed.id == "short-cycling-v2" and changed.hash != first.hash
    assert store.protocol("short-cycling-v1").document == first.document
    assert "Cycle 2 times" in first.text and first.cycles == 2


def test_experiments_are_validated_before_they_are_queued(store: Store) -> None:
    populate(store)
    hot, _ = store.add_protocol(parse("Protocol: hot\nCharge at 3 A for 10 minutes"))
    with pytest.raises(StoreError) as refused:
        store.create_experiment(
            ExperimentIn(name="too fast", cell="mj1-0001", station="station1", protocol=hot.id)
        )
    assert any("charge current 3 A exceeds the allowed 2.5 A" in p for p in refused.value.problems)
    with pytest.raises(StoreError, match="has no channel 'ch9'"):
        _queue(store, "wrong channel", channel="ch9")
    offered = {doc.id: report.ok for doc, report in store.compatible_protocols("mj1-0001", "station1", "ch1")}
    assert offered == {"short-cycling-v1": True, "hot-v1": False}
    experiment = store.experiment(_queue(store, "fine"))
    assert experiment.status is Status.QUEUED and experiment.technology == "li-ion"
    assert store.audit_entries(experiment.id)[0].action == "create"


def test_the_table_filters_searches_sorts_and_pages_in_the_database(store: Store) -> None:
    populate(store)
    ids = [
        _queue(store, f"run {n:02d}", description="capacity check" if n % 3 == 0 else "") for n in range(12)
    ]
    store.update_experiment(ids[1], {"status": Status.FINISHED.value})
    page, total = store.experiments(sort="name", order="asc", offset=5, limit=4)
    assert total == 12 and [e.name for e in page] == ["run 05", "run 06", "run 07", "run 08"]
    found, total = store.experiments(q="CAPACITY", sort="name", order="desc")
    assert total == 4 and [e.name for e in found] == ["run 09", "run 06", "run 03", "run 00"]
    assert store.experiments(q="run 1")[1] == 2  # a regex metacharacter-free substring search
    assert store.experiments(q=".*")[1] == 0  # user text is not a regex
    finished, total = store.experiments(status=["finished"])
    assert total == 1 and finished[0].id == ids[1]
    assert store.experiments(technology="li-ion", station="station1", cell="mj1-0001")[1] == 12
    assert store.experiments(protocol="other")[1] == 0
    by_status, _ = store.experiments(sort="status", order="asc", limit=1)
    assert by_status[0].status is Status.FINISHED
    with pytest.raises(StoreError, match="cannot sort by 'secret'"):
        store.experiments(sort="secret")


def test_the_queue_claim_is_atomic_and_in_creation_order(store: Store) -> None:
    populate(store)
    ids = [_queue(store, f"q{n}") for n in range(6)]
    claimed: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while (experiment := store.claim_next("station1", "ch1")) is not None:
            with lock:
                claimed.append(experiment.id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(claimed) == sorted(ids) and len(claimed) == len(set(claimed))
    active = store.active_experiment("station1", "ch1")
    assert active is not None and active.id in ids
    store.release_claim(ids[0])
    again = store.claim_next("station1", "ch1")
    assert again is not None and again.id == ids[0]
    assert store.update_experiment(ids[0], {"status": "running"}, expect=[Status.QUEUED])
    assert not store.update_experiment(ids[0], {"status": "paused"}, expect=[Status.QUEUED])


def test_cycle_statistics_and_data_files(store: Store) -> None:
    populate(store)
    experiment = _queue(store, "stats")
    for cycle in (1, 2, 2):
        store.put_cycle(
            CycleStat(
                id=f"{experiment}:{cycle}", experiment=experiment, cycle_index=cycle,
                start=cycle * 1000, end=cycle * 1000 + 900, duration=0.9, charge_capacity=2.5,
                discharge_capacity=2.4 + cycle / 100, charge_energy=9.0, discharge_energy=8.5,
            )
        )  # fmt: skip
    assert [c.cycle_index for c in store.cycles(experiment)] == [1, 2]
    assert store.experiment(experiment).cycles == 2
    store.delete_experiment(experiment)
    assert store.cycles(experiment) == []
    with pytest.raises(NotFound):
        store.experiment(experiment)


def test_old_documents_are_migrated(store: Store) -> None:
    store.col("experiments").insert_one({"_id": "legacy", "name": "from WattRex", "status": "FINISHED"})
    assert store.migrate() == 1
    doc = store.col("experiments").find_one({"_id": "legacy"})
    assert doc["status"] == "finished" and doc["schema"] == SCHEMA_VERSION
    assert store.migrate() == 0


def test_the_embedded_database_persists_in_its_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"montydb://{tmp_path / 'db'}"
    first = Store(url)
    first.prepare()
    populate(first)
    first.close()
    second = Store(url)
    assert second.engine == "montydb"
    assert second.counts()["protocols"] == 1 and second.cell("mj1-0001").serial == "MJ1-0001"
    with pytest.raises(ValueError, match="unsupported database URL"):
        Store("postgres://x")
