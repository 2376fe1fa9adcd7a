"""Fixtures of the experiments manager's tests: the store on each engine, sample documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labdcs.experiments.documents import CellIn, CellTypeIn, Limits, Station, StationChannel, Technology
from labdcs.experiments.store import Store
from tests.experiments.browser import browser
from tests.experiments.lab import lab, manager
from tests.support import compose_image, docker_problem

__all__ = ["browser", "lab", "manager"]


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    problem = docker_problem()
    if problem is not None:
        pytest.skip(f"real MongoDB not tested: {problem}")
    from testcontainers.mongodb import MongoDbContainer

    with MongoDbContainer(compose_image("mongodb")) as container:
        yield container.get_connection_url()


@pytest.fixture(params=["montydb", "mongodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same store code on the embedded engine (SQLite) and on real MongoDB."""
    if request.param == "montydb":
        url = f"montydb://{tmp_path / 'db'}"
    else:
        base = request.getfixturevalue("mongo_url")
        url = f"{base.rstrip('/')}/t{abs(hash(request.node.nodeid)) % 10**8}?authSource=admin"
    opened = Store(url)
    opened.prepare()
    yield opened
    if opened.engine == "mongodb":
        opened.client.drop_database(opened.db.name)
    opened.close()


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"montydb://{tmp_path / 'db'}")
    opened.prepare()
    yield opened
    opened.close()


NMC = CellTypeIn(
    manufacturer="LG",
    model="MJ1",
    technology=Technology.LI_ION,
    chemistry="NMC/graphite",
    form_factor="cylindrical 18650",
    nominal_capacity_ah=2.5,
    nominal_voltage_v=3.6,
    limits=Limits(v_min=2.5, v_max=4.2, i_charge_max=2.5, i_discharge_max=5.0, t_min_c=0, t_max_c=60),
    extra={"cathode": "NMC811", "anode": "graphite-Si"},
)


def station1() -> Station:
    return Station(
        id="station1",
        model="EA PSB 9080-60",
        driver="psb",
        channels=[
            StationChannel(
                id="ch1",
                limits=Limits(v_min=2.5, v_max=4.2, i_charge_max=10, i_discharge_max=10, t_max_c=60),
                capacity_ah=2.5,
            )
        ],
        online=True,
    )


def populate(store: Store) -> None:
    """A cell type, a cell, a station and a cycling protocol."""
    from labdcs.protocols import parse

    store.add_cell_type(NMC)
    store.add_cell(CellIn(serial="MJ1-0001", type="lg-mj1"))
    store.upsert_station(station1())
    store.add_protocol(parse(CYCLING))


CYCLING = """\
Protocol: short-cycling
Record: every 5 seconds
Cycle 2 times:
    Discharge at 1C for 5 minutes or until 2.8 V
    Charge at 1C for 5 minutes or until 4.1 V
"""
