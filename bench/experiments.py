"""Benchmark of the experiments manager's data paths, against baselines measured in the same run.

1. CSV export of a 1-million-point experiment (``labdcs.experiments.export``, streamed from InfluxDB
   in chunks): rows/s and the exporting process's peak memory, against the InfluxDB CLI's own CSV
   export of the same query (``influx -format csv -execute ...``); ratio ours/CLI.
2. Import of a 1-million-row BDF CSV file (verification, cycle statistics, points written to
   InfluxDB, documents): rows/s against ``pandas.read_csv`` of the same file (parsing only); ratio.
3. HTML report of a 500-cycle experiment: seconds to render.

Each figure is the median of ``--runs`` runs. InfluxDB runs on a free port in a temporary folder.
Usage: ``.venv/bin/python bench/experiments.py [--rows 1000000] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The script's folder holds bench/cycler.py, which would shadow matplotlib's `cycler` dependency.
sys.path[0] = str(ROOT)

from labdcs.experiments.documents import Experiment  # noqa: E402
from labdcs.experiments.importing import ImportRequest, import_file  # noqa: E402
from labdcs.experiments.report import render_report  # noqa: E402
from labdcs.experiments.series import FIELD_TYPES, SOURCES, ExperimentSeries, where  # noqa: E402
from labdcs.experiments.store import Store  # noqa: E402
from labdcs.security import influx as influx_auth  # noqa: E402
from tests.support import Influx  # noqa: E402

#: Runs a command and prints its peak resident memory (KiB) on the last line of stderr.
PEAK_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)
EXPORT_CHILD = (
    "import sys\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "from labdcs.experiments.export import csv_chunks\n"
    "from labdcs.experiments.series import ExperimentSeries, Window\n"
    "from labdcs.ingest.influx import InfluxClient, InfluxSettings\n"
    "settings = InfluxSettings(\n"
    "    url=sys.argv[2], timeout_s=600, username='experiments', password_file=sys.argv[4]\n"
    ")\n"
    "series = ExperimentSeries(InfluxClient(settings))\n"
    "out = sys.stdout\n"
    "for chunk in csv_chunks(series, sys.argv[3], Window(None, None)):\n"
    "    out.write(chunk)\n"
)


def write_bdf(path: Path, rows: int, points_per_half: int) -> None:
    """Cycling at 1 A between 3.2 and 4.1 V, one sample per second, ``rows`` rows."""
    with path.open("w") as out:
        out.write("Test Time / s,Voltage / V,Current / A,Temperature T1 / degC\n")
        lines = []
        for n in range(rows):
            half, k = divmod(n, points_per_half)
            charging = half % 2 == 0
            soc = k / points_per_half if charging else 1 - k / points_per_half
            volts = 3.2 + 0.9 * soc + (0.05 if charging else -0.05)
            lines.append(f"{n},{volts:.4f},{1.0 if charging else -1.0},{25 + 2 * soc:.2f}\n")
            if len(lines) >= 100_000:
                out.write("".join(lines))
                lines = []
        out.write("".join(lines))


def peak_kib(command: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of a command whose output is discarded."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, *command], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed: {done.stderr[-2000:]}")
    return elapsed, int(done.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=500, help="report: cycles of the experiment")
    args = parser.parse_args()
    cli = shutil.which("influx")
    if cli is None:
        sys.exit("the InfluxDB CLI 'influx' is not installed (apt-get install influxdb-client)")
    import pandas

    with tempfile.TemporaryDirectory(prefix="labdcs-bench-") as tmp:
        folder = Path(tmp)
        influx = Influx(folder / "influxdb")
        influx.start()
        try:
            store = Store(f"montydb://{folder / 'db'}")
            store.prepare()
            # The manager logs in as `experiments` (READ and WRITE), as `labdcs up` and compose run it.
            series = ExperimentSeries(influx.login(influx_auth.EXPERIMENTS))
            data = folder / "million.bdf.csv"
            write_bdf(data, args.rows, points_per_half=3600)
            size_mb = data.stat().st_size / 1e6
            print(f"file: {args.rows} rows, {size_mb:.0f} MB")

            # --- import versus pandas.read_csv ----------------------------------------------------
            pandas_s, import_s = [], []
            experiment_id = ""
            for run in range(args.runs):
                started = time.perf_counter()
                frame = pandas.read_csv(data)
                pandas_s.append(time.perf_counter() - started)
                assert len(frame) == args.rows
                del frame
                if experiment_id:
                    series.delete(experiment_id)
                    store.delete_experiment(experiment_id)
                    store.col("data_files").delete_many({})
                started = time.perf_counter()
                record = import_file(store, series, ImportRequest(path=data, name=data.name))
                import_s.append(time.perf_counter() - started)
                experiment_id = record.experiment or ""
                print(f"  run {run + 1}: import {import_s[-1]:.1f} s, pandas.read_csv {pandas_s[-1]:.2f} s")
            ours, theirs = args.rows / statistics.median(import_s), args.rows / statistics.median(pandas_s)
            print(
                f"import:        {ours:,.0f} rows/s (median of {args.runs}); "
                f"pandas.read_csv {theirs:,.0f} rows/s; ratio {ours / theirs:.3f}"
            )

            # --- export versus the InfluxDB CLI ---------------------------------------------------
            fields = ", ".join(f'"{name}"' for name in FIELD_TYPES if name in _EXPORTED)
            query = f"SELECT {fields} FROM {SOURCES} WHERE {where(experiment_id)}"
            host, port = "127.0.0.1", str(influx.port)
            export_s, export_kib, cli_s, cli_kib = [], [], [], []
            reader = ["-username", "reader", "-password", influx.secrets.read("influxdb/reader")]
            for _ in range(args.runs):
                child = [
                    sys.executable,
                    "-c",
                    EXPORT_CHILD,
                    str(ROOT / "services"),
                    influx.url,
                    experiment_id,
                    str(influx.secrets.require("influxdb/experiments")),
                ]
                seconds, kib = peak_kib(child)
                export_s.append(seconds)
                export_kib.append(kib)
                command = [
                    cli,
                    "-host",
                    host,
                    "-port",
                    port,
                    "-database",
                    "labdcs",
                    "-format",
                    "csv",
                    *reader,
                ]
                seconds, kib = peak_kib([*command, "-precision", "ms", "-execute", query])
                cli_s.append(seconds)
                cli_kib.append(kib)
            ours, theirs = args.rows / statistics.median(export_s), args.rows / statistics.median(cli_s)
            print(f"export:        {ours:,.0f} rows/s, peak {statistics.median(export_kib) / 1024:.0f} MiB "
                  f"(process, median of {args.runs}); influx CLI {theirs:,.0f} rows/s, peak "
                  f"{statistics.median(cli_kib) / 1024:.0f} MiB; ratio {ours / theirs:.2f}")  # fmt: skip
            small = _small_export_peak(folder, series, store, data, influx, args.rows // 10)
            print(
                f"               peak of the same export for {args.rows // 10:,} rows: {small / 1024:.0f} MiB"
            )

            # --- report of a many-cycle experiment -------------------------------------------------
            cycles_file = folder / "cycles.bdf.csv"
            write_bdf(cycles_file, args.cycles * 2 * 60, points_per_half=60)
            record = import_file(store, series, ImportRequest(path=cycles_file, name=cycles_file.name))
            experiment: Experiment = store.experiment(record.experiment or "")
            assert experiment.cycles == args.cycles, experiment.cycles
            report_s = []
            for _ in range(args.runs):
                started = time.perf_counter()
                html = render_report(store, series, experiment)
                report_s.append(time.perf_counter() - started)
            print(f"report:        {statistics.median(report_s):.2f} s for {args.cycles} cycles "
                  f"({len(html) / 1e6:.1f} MB HTML, median of {args.runs})")  # fmt: skip
            store.close()
        finally:
            if influx.process is not None:
                influx.process.kill()
                influx.process.wait(30)
    print(f"(this process's peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


_EXPORTED = {
    "test_time", "voltage", "current", "power", "temperature", "cycle_index", "step_index", "step_time",
    "charge_capacity", "discharge_capacity", "charge_energy", "discharge_energy",
}  # fmt: skip


def _small_export_peak(
    folder: Path, series: ExperimentSeries, store: Store, data: Path, influx: Influx, rows: int
) -> int:
    """Peak memory of exporting the first ``rows`` rows: the full export's peak is the same when the
    export's memory does not grow with the experiment."""
    small = folder / "small.bdf.csv"
    with data.open() as source, small.open("w") as out:
        for n, line in enumerate(source):
            if n > rows:
                break
            out.write(line)
    record = import_file(store, series, ImportRequest(path=small, name=small.name))
    _, kib = peak_kib(
        [
            sys.executable,
            "-c",
            EXPORT_CHILD,
            str(ROOT / "services"),
            influx.url,
            record.experiment or "",
            str(influx.secrets.require("influxdb/experiments")),
        ]
    )
    return kib


if __name__ == "__main__":
    main()
