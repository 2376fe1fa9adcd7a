"""The harvester without live import (``--no-live``): files are imported once they stop growing,
never twice (content hash, any name), failures are recorded with their reason and retried only
when the file changes. Plus the command ``labdcs harvest --once`` as a real process."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from labdcs.experiments.harvester import Harvester
from labdcs.experiments.importing import file_hash
from labdcs.experiments.series import ExperimentSeries
from labdcs.experiments.store import Store
from labdcs.ingest import retention
from labdcs.security import influx as influx_auth
from tests.experiments import vendor_files
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
