"""The fault-injection suite: real processes, faults injected for real, and a table of what was
measured (time to detect, messages lost, duplicates) printed at the end and written to
``test-artifacts/faults.md``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from labdcs.stack.paths import project_root
from tests.support import Broker, Influx, LabdcsProcess, ingest_process

ARTIFACT = project_root() / "test-artifacts" / "faults.md"


@dataclass
class Row:
    fault: str
    measured: str
    nodeid: str
    outcome: str = "not run"


class FaultTable:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def markdown(self) -> str:
        lines = ["| fault | measured | result |", "|---|---|---|"]
        lines += [f"| {r.fault} | {r.measured} | {r.outcome} |" for r in self.rows]
        return "\n".join(lines) + "\n"


_TABLE = FaultTable()


@pytest.fixture
def fault_report(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Record one row of the fault table: the fault and what was measured; the test's outcome
    becomes its pass/fail."""

    def record(fault: str, measured: str) -> None:
        _TABLE.rows.append(Row(fault, measured, request.node.nodeid))

    return record


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        for row in _TABLE.rows:
            if row.nodeid == item.nodeid:
                row.outcome = "pass" if report.passed else "FAIL"
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _TABLE.rows:
        return
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text("# Fault-injection suite (tests/faults)\n\n" + _TABLE.markdown())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _TABLE.rows:
        terminalreporter.write_sep("=", "fault-injection results")
        terminalreporter.write(_TABLE.markdown())


@pytest.fixture
def ingester(tmp_path: Path, broker: Broker, influx: Influx) -> Iterator[Callable[..., LabdcsProcess]]:
    """``labdcs ingest`` on the test broker and InfluxDB; extra settings as environment variables."""
    made: list[LabdcsProcess] = []

    def make(**env: str) -> LabdcsProcess:
        process = ingest_process(tmp_path, broker.port, influx, **env).start()
        made.append(process)
        return process

    yield make
    for process in made:
        process.kill()
