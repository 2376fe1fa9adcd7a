"""The harvester without live import (``--no-live``): files are imported once they stop growing,
never twice (content hash, any name), failures are recorded with their reason and retried only
when the file changes. Plus the command ``labdcs harvest --once`` as a real process, writing the
database or uploading to the manager with a harvester's token."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx

from labdcs.experiments.harvester import Harvester
from labdcs.experiments.importing import file_hash
from labdcs.experiments.series import ExperimentSeries
from labdcs.experiments.store import Store
from labdcs.ingest import retention
from labdcs.security import influx as influx_auth
from tests.experiments import vendor_files
from tests.experiments.lab import ADMIN
from tests.support import Influx, LabdcsProcess, wait_until


def test_stable_files_are_imported_once_and_failures_retried_on_change(
    tmp_path: Path, embedded: Store, influx: Influx
) -> None:
    retention.apply(influx.client, retention.RetentionSettings(raw="7d"))
    inbox = tmp_path / "inbox"
    (inbox / "cycler2").mkdir(parents=True)
    harvester = Harvester(
        embedded,
        ExperimentSeries(influx.login(influx_auth.EXPERIMENTS)),
        [inbox],
        stable_s=0.3,
        interval=0.05,
        live=False,  # waits for files to stop growing (the default imports them live: test_live_import)
    )
    growing = inbox / "run1.csv"
    source = vendor_files.arbin(tmp_path / "source.csv").read_text().splitlines(keepends=True)
    growing.write_text("".join(source[:100]))
    harvester.scan()
    with growing.open("a") as out:  # still being written: not imported yet
        out.write("".join(source[100:300]))
    harvester.scan()
    assert embedded.counts()["experiments"] == 0
    with growing.open("a") as out:
        out.write("".join(source[300:]))

    def imported() -> int:
        harvester.scan()
        return embedded.counts()["experiments"]

    wait_until(imported, 30, "the stable file to be imported", interval=0.05)
    experiment = embedded.experiments()[0][0]
    assert experiment.rows == 720 and "run1.csv" in experiment.description
    shutil.copy(growing, inbox / "cycler2" / "copy-of-run1.csv")  # same content, another name
    bad = inbox / "cycler2" / "bad.csv"
    bad.write_text("".join(source).replace(",3.", ",?.", 1))
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        harvester.scan()
        time.sleep(0.05)
    assert embedded.counts()["experiments"] == 1 and harvester.imported == 1 and harvester.failed == 1
    failure = embedded.data_file(file_hash(bad))
    assert failure is not None and failure.status == "failed" and failure.path == str(bad)
    assert failure.error is not None and failure.error.startswith("row 2, column 'Voltage(V)'")
    bad.write_text("".join(source) + "\n")  # fixed (and so another content than run1.csv)
    wait_until(lambda: imported() == 2, 30, "the fixed file to be imported", interval=0.05)
    assert harvester.failed == 1


def test_harvest_command_once(tmp_path: Path, influx: Influx) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    vendor_files.maccor(inbox / "cell7.001.txt")
    vendor_files.neware(inbox / "cell8.csv")
    command = LabdcsProcess(
        ["harvest", "--watch", str(inbox), "--stable", "0.5", "--interval", "0.2", "--once"],
        tmp_path / "harvest.log",
        1,
        env={"LABDCS_DATABASE_URL": f"montydb://{tmp_path / 'db'}", **influx.env(influx_auth.EXPERIMENTS)},
    ).start()
    assert command.process is not None and command.process.wait(120) == 0, command.log_text()
    assert "imported 2, failed 0" in command.log_text()
    store = Store(f"montydb://{tmp_path / 'db'}")
    assert sorted(e.name for e in store.experiments()[0]) == ["cell7.001", "cell8"]


def test_harvest_through_the_manager_with_a_harvester_token(tmp_path: Path, manager: str) -> None:
    """`labdcs harvest --manager`: no database, no InfluxDB, only a harvester account's import token;
    the audit names the harvester; a revoked token imports nothing and says why."""
    with httpx.Client(base_url=manager, auth=ADMIN, timeout=60) as admin:
        admin.post(
            "/api/users", json={"id": "cycler-pc-1", "kind": "harvester", "role": "operator"}
        ).raise_for_status()
        made = admin.post("/api/tokens", json={"account": "cycler-pc-1", "scopes": ["import"]}).json()
        (tmp_path / "token").write_text(made["secret"] + "\n")
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        vendor_files.maccor(inbox / "cell7.001.txt")
        vendor_files.neware(inbox / "cell8.csv")

        def harvest() -> LabdcsProcess:
            command = LabdcsProcess(
                ["harvest", "--watch", str(inbox), "--stable", "0.5", "--interval", "0.2", "--once",
                 "--manager", manager, "--token-file", str(tmp_path / "token")],
                tmp_path / "harvest.log", 1,
                env={"LABDCS_DATABASE_URL": "mongodb://127.0.0.1:1/nowhere", "LABDCS_INFLUX__URL": "http://127.0.0.1:1"},
            ).start()  # fmt: skip
            assert command.process is not None and command.process.wait(120) == 0, command.log_text()
            return command

        assert "imported 2, failed 0" in harvest().log_text()
        imported = admin.get("/api/experiments", params={"q": "cell"}).json()["items"]
        assert len(imported) == 2 and {e["operator"] for e in imported} == {"cycler-pc-1"}
        audit = admin.get("/api/audit", params={"target": imported[0]["id"]}).json()
        assert [(a["action"], a["principal"]) for a in audit] == [("import", "cycler-pc-1")]
        admin.delete(f"/api/tokens/{made['token']['id']}").raise_for_status()
        vendor_files.arbin(inbox / "cell9.csv")
        (tmp_path / "harvest.log").unlink()
        log = harvest().log_text()
        # Each file is tried (the manager would have skipped the two it has), none gets in.
        assert "imported 0, failed 3" in log and "answered 401: a login is needed" in log, log
        assert "Traceback" not in log
        assert admin.get("/api/experiments").json()["total"] == 2
