"""Bad data files against the harvester and the upload API, as real processes (issue 12, point 7):
a file the importer chokes on is recorded with its reason and never stops the harvester or leaves
points behind; an upload over the limit is answered 413 before it is stored; format detection and
reading hold a bounded number of bytes, whatever the length of a line."""

from __future__ import annotations

import base64
import http.client
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from labdcs.experiments.importers import ImportFailed
from labdcs.experiments.importing import BATCH, ImportRequest, file_hash, import_file
from labdcs.experiments.series import ExperimentSeries
from labdcs.experiments.store import Store
from labdcs.ingest import retention
from labdcs.ingest.influx import InfluxClient
from labdcs.security import influx as influx_auth
from labdcs.security import secrets
from labdcs.stack.paths import free_port
from tests.experiments import vendor_files
from tests.support import Influx, LabdcsProcess, wait_for_manager

MiB = 1 << 20


def _points_per_experiment(influx: Influx) -> dict[str, int]:
    """Imported points in the forever policy, per experiment tag."""
    counts: dict[str, int] = {}
    query = 'SELECT count("voltage") FROM "experiments"."cycler" GROUP BY "experiment"'
    for result in influx.client.query(query, database="labdcs"):
        for series in result.get("series", []):
            counts[series["tags"]["experiment"]] = int(series["values"][0][1])
    return counts


def _huge_field_file(path: Path, good_rows: int, field: int) -> Path:
    """A BDF file whose row ``good_rows + 2`` has one field of ``field`` characters (a cycler that
    wrote a binary blob, or a file that is not a table at all)."""
    with path.open("w") as out:
        out.write("Test Time / s,Voltage / V,Current / A\n")
        for n in range(good_rows):
            out.write(f"{n},3.7,1.0\n")
        out.write(f'{good_rows},"{"x" * field}",1.0\n')
        out.write(f"{good_rows + 1},3.7,1.0\n")
    return path


def _harvest_once(tmp_path: Path, inbox: Path, influx: Influx, run: int) -> LabdcsProcess:
    command = LabdcsProcess(
        ["harvest", "--watch", str(inbox), "--stable", "0.3", "--interval", "0.1", "--once"],
        tmp_path / f"harvest-{run}.log",
        1,
        env={"LABDCS_DATABASE_URL": f"montydb://{tmp_path / 'db'}", **influx.env(influx_auth.EXPERIMENTS)},
    ).start()
    assert command.process is not None
    return command


def test_a_file_the_importer_chokes_on_never_stops_the_harvester(
    tmp_path: Path, influx: Influx, fault_report: Callable[..., None]
) -> None:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    # 25,000 good rows first: one batch of points is in InfluxDB when the bad row comes.
    bad = _huge_field_file(inbox / "a-huge-field.csv", 25_000, 200 * 1024)
    vendor_files.arbin(inbox / "b-good.csv")
    runs = []
    for run in range(2):  # the second run: a restart must neither crash nor retry the same content
        command = _harvest_once(tmp_path, inbox, influx, run)
        assert command.process is not None
        code = command.process.wait(180)
        runs.append((code, command.log_text()))
        assert code == 0, command.log_text()[-3000:]
    assert "imported 1, failed 1" in runs[0][1]
    assert "imported 0, failed 0" in runs[1][1]
    store = Store(f"montydb://{tmp_path / 'db'}")
    try:
        experiments = store.experiments()[0]
        assert [e.name for e in experiments] == ["b-good"]
        failure = store.data_file(file_hash(bad))
        assert failure is not None and failure.status == "failed" and failure.path == str(bad)
        assert failure.error is not None
        assert re.match(r"row 25002: a field longer than 131072 characters", failure.error), failure.error
    finally:
        store.close()
    points = _points_per_experiment(influx)
    assert points == {experiments[0].id: 720}, points  # nothing under an experiment that does not exist
    fault_report(
        "Harvester: a CSV field of 200 KiB after 25,000 good rows (one batch written), then a good file",
        f"exit codes {[code for code, _ in runs]} over a run and a restart; failure recorded "
        f"({failure.error[:60]}...); the good file after it imported; points left: {points} "
        "(only the good file's); not retried unchanged",
    )


class _BrokenAfterWrite(ExperimentSeries):
    """The real series on the real InfluxDB, with a bug injected after the second batch is stored."""

    def __init__(self, influx: InfluxClient) -> None:
        super().__init__(influx)
        self.batches = 0

    def write_imported_block(self, text: str, points: int) -> None:
        super().write_imported_block(text, points)
        self.batches += 1
        if self.batches == 2:
            raise RuntimeError("injected after 2 batches")


class _AuditBroken(Store):
    """The real embedded store, with a bug injected in the import's last steps (the audit)."""

    def audit(self, action: str, target: str, *args: Any, **kwargs: Any) -> None:
        if action == "import":
            raise KeyError("injected in the audit")
        super().audit(action, target, *args, **kwargs)


@pytest.mark.parametrize("where", ["points", "documents"])
def test_any_exception_during_an_import_removes_what_it_wrote(
    where: str, tmp_path: Path, influx: Influx, fault_report: Callable[..., None]
) -> None:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    store = (_AuditBroken if where == "documents" else Store)(f"montydb://{tmp_path / 'db'}")
    store.prepare()
    client = influx.login(influx_auth.EXPERIMENTS)
    series = _BrokenAfterWrite(client) if where == "points" else ExperimentSeries(client)
    path = tmp_path / "run.csv"
    with path.open("w") as out:  # two and a half batches of points
        out.write("Test Time / s,Voltage / V,Current / A\n")
        out.writelines(f"{n},3.7,1.0\n" for n in range(int(2.5 * BATCH)))
    try:
        request = ImportRequest(path=path, name=path.name, source=str(path), record_failure=True)
        with pytest.raises(ImportFailed) as failed:
            import_file(store, series, request)
        reason = failed.value.problems[0]
        assert reason.startswith("internal error (") and "injected" in reason, reason
        record = store.data_file(file_hash(path))
        assert record is not None and record.status == "failed" and record.error == reason
        left = {k: v for k, v in store.counts().items() if k in ("experiments", "cycle_stats") and v}
        points = _points_per_experiment(influx)
    finally:
        store.close()
    assert (left, points) == ({}, {}), (left, points)
    fault_report(
        f"Import: a bug raising {reason.split('(')[1].split(':')[0]} after 2 of 3 batches of points"
        + (" and the documents" if where == "documents" else "")
        + " were written",
        f"points left {sum(points.values())}, documents left {sum(left.values())}; "
        f"failure recorded: {reason[:60]}",
    )


# --- uploads ------------------------------------------------------------------------------------


LIMIT = 64 * MiB


def _vm_hwm_kib(pid: int) -> int:
    """Peak resident memory of a process (VmHWM, kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for process {pid}")


@pytest.fixture
def upload_server(tmp_path: Path, influx: Influx) -> Iterator[tuple[LabdcsProcess, str, tuple[str, str]]]:
    """The experiments manager as a process with the logins `labdcs init` makes and a 64 MiB limit."""
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    store = secrets.SecretsDir(tmp_path / "secrets")
    secrets.init(store.root)
    port = free_port()
    server = LabdcsProcess(
        ["experiments", "serve", "--no-queue"], tmp_path / "experiments.log", free_port(),
        env={"LABDCS_DATABASE_URL": f"montydb://{tmp_path / 'db'}", "LABDCS_HTTP_PORT": str(port),
             "LABDCS_WORK_DIR": str(tmp_path / "work"), "LABDCS_UPLOAD_MAX_BYTES": str(LIMIT),
             "LABDCS_AUTH__ADMIN_PASSWORD_FILE": str(store.path("experiments/admin")),
             "LABDCS_AUTH__VIEWER_PASSWORD_FILE": str(store.path("experiments/viewer")),
             **influx.env(influx_auth.EXPERIMENTS)},
    ).start()  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    try:
        wait_for_manager(server, url)
        yield server, url, ("admin", store.read("experiments/admin"))
    finally:
        server.kill()


def _upload(url: str, admin: tuple[str, str], path: Path) -> dict[str, object]:
    with path.open("rb") as handle:
        answer = httpx.post(
            f"{url}/api/imports", params={"wait": "true"}, auth=admin, timeout=120,
            files={"file": (path.name, handle, "text/csv")},
        )  # fmt: skip
    assert answer.status_code == 202, answer.text
    job: dict[str, object] = answer.json()
    return job


def _long_lines(path: Path, header: str | None, lines: int, length: int) -> Path:
    with path.open("w") as out:
        if header is not None:
            out.write(header + "\n")
        for n in range(lines):
            out.write(f"{n}," + "7" * length + "\n")
    return path


def test_long_lines_do_not_take_the_servers_memory(
    tmp_path: Path,
    upload_server: tuple[LabdcsProcess, str, tuple[str, str]],
    fault_report: Callable[..., None],
) -> None:
    server, url, admin = upload_server
    assert server.process is not None
    pid = server.process.pid
    good = _upload(url, admin, vendor_files.arbin(tmp_path / "good.csv"))  # everything loaded once
    assert good["state"] == "done", good
    baseline = _vm_hwm_kib(pid)
    no_format = _long_lines(tmp_path / "three-long-lines.csv", None, 3, 16 * MiB)
    refused = _upload(url, admin, no_format)
    after_detection = _vm_hwm_kib(pid)
    with_header = _long_lines(
        tmp_path / "bdf-long-lines.csv", "Test Time / s,Voltage / V,Current / A", 2, 16 * MiB
    )
    too_long = _upload(url, admin, with_header)
    after_reading = _vm_hwm_kib(pid)
    detection_mib, growth_mib = (after_detection - baseline) / 1024, (after_reading - baseline) / 1024
    assert detection_mib < 16 and growth_mib < 16, (baseline, after_detection, after_reading)
    assert refused["state"] == "failed", refused
    assert str(refused["error"]).startswith("row 1: a line longer than 64 KiB"), refused
    assert too_long["state"] == "failed", too_long
    assert str(too_long["error"]).startswith("row 2: a line longer than 1 MiB"), too_long
    assert list((tmp_path / "work").iterdir()) == []
    fault_report(
        "Upload: 48 MB of three 16 MB lines (no format), then a BDF header and two 16 MB lines",
        f"both refused with a reason in words; server peak memory (VmHWM) grew {growth_mib:.1f} MiB "
        f"from {baseline / 1024:.0f} MiB",
    )


def _raw_post(
    port: int, admin: tuple[str, str], headers: dict[str, str], body: Iterator[bytes]
) -> tuple[int, str]:
    """POST with http.client: the body is sent as given (perhaps less than declared), then the answer read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.putrequest("POST", "/api/imports")
        token = base64.b64encode(f"{admin[0]}:{admin[1]}".encode()).decode()
        connection.putheader("Authorization", f"Basic {token}")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        for chunk in body:
            connection.send(chunk)
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_an_upload_over_the_limit_is_refused_before_it_is_stored(
    tmp_path: Path,
    upload_server: tuple[LabdcsProcess, str, tuple[str, str]],
    fault_report: Callable[..., None],
) -> None:
    server, url, admin = upload_server
    port = int(url.rsplit(":", 1)[1])
    boundary = "labdcs-test-boundary"
    start = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    multipart = f"multipart/form-data; boundary={boundary}"
    # Declared: 3 GiB. Sent: only the first 64 KiB; the answer must come without the rest.
    began = time.monotonic()
    status, text = _raw_post(
        port, admin, {"Content-Type": multipart, "Content-Length": str(3 << 30)},
        iter([start + b"1,2,3\n" * 10_000]),
    )  # fmt: skip
    declared_s = time.monotonic() - began
    assert status == 413, text
    assert "64 MiB" in text and "LABDCS_UPLOAD_MAX_BYTES" in text, text

    # Chunked (no length declared): refused once the limit is passed, nothing kept.
    def chunks() -> Iterator[bytes]:
        piece = b"1,2,3\n" * (MiB // 6)
        for data in (start, *[piece] * (LIMIT // len(piece) + 1)):
            yield f"{len(data):x}\r\n".encode() + data + b"\r\n"
        yield b"0\r\n\r\n"

    chunked_status, chunked_text = _raw_post(
        port, admin, {"Content-Type": multipart, "Transfer-Encoding": "chunked"}, chunks()
    )
    assert chunked_status == 413, chunked_text
    assert not (tmp_path / "work").exists() or list((tmp_path / "work").iterdir()) == []
    assert server.alive()
    fault_report(
        "Upload over the limit (64 MiB in the test; default 2 GiB): 3 GiB declared, and 65 MiB chunked",
        f"413 with the limit in words after {declared_s * 1000:.0f} ms with 64 KiB sent; chunked: 413 "
        "once past the limit; no file kept",
    )
