"""Benchmark of the experiments manager's data paths, against baselines measured in the same run.

1. CSV export of a 1-million-point experiment (``labdcs.experiments.export``, streamed from InfluxDB
   in chunks): rows/s and the exporting process's peak memory, against the InfluxDB CLI's own CSV
   export of the same query (``influx -format csv -execute ...``); ratio ours/CLI.
2. Import of a 1-million-row BDF CSV file (verification, cycle statistics, points written to
   InfluxDB, documents): rows/s as a fraction of InfluxDB's own write rate for the same points
   (the same line protocol written in the same run, nothing else timed); parsing alone
   (``readers.text.read_text``: the file into the columnar Table) against ``pandas.read_csv`` of the
   same file, for the BDF file and, when ``../shared/vendor-files`` is there, a Maccor export grown
   to the same number of rows; peak memory of reading, verifying and formatting a 10-million-row
   file (``--big-rows``; a child process, once: it takes minutes).
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
from labdcs.experiments.importers import open_file  # noqa: E402
from labdcs.experiments.importing import BATCH, ImportRequest, import_file  # noqa: E402
from labdcs.experiments.readers.derive import blocks, derive  # noqa: E402
from labdcs.experiments.readers.text import read_text  # noqa: E402
from labdcs.experiments.report import render_report  # noqa: E402
from labdcs.experiments.series import FIELD_TYPES, MEASUREMENT, SOURCES, ExperimentSeries, where  # noqa: E402
from labdcs.experiments.store import Store  # noqa: E402
from labdcs.ingest.lineprotocol import Point  # noqa: E402
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
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="peak memory: rows (0: skip)")
    args = parser.parse_args()
    cli = shutil.which("influx")
    if cli is None:
        sys.exit("the InfluxDB CLI 'influx' is not installed (apt-get install influxdb-client)")
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

            # --- import versus InfluxDB's own write rate; parsing versus pandas.read_csv ---------
            experiment_id = _import_figures(store, series, data, args.rows, args.runs)
            _parse_figures(data, args.rows, args.runs, folder)
            if args.big_rows:
                _peak_figure(folder, args.big_rows)

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


def _median_rate(rows: int, seconds: list[float]) -> float:
    return rows / statistics.median(seconds)


def _paired(baseline_s: list[float], ours_s: list[float]) -> float:
    """Our rate over the baseline's, run by run (each pair measured back to back, under the same
    load), then the median: steadier than a ratio of medians on a shared machine."""
    return statistics.median(b / o for b, o in zip(baseline_s, ours_s, strict=True))


def _import_figures(store: Store, series: ExperimentSeries, data: Path, rows: int, runs: int) -> str:
    """Import rows/s against InfluxDB writing the same points (same blocks, same client), in turn."""
    import_s, write_s = [], []
    experiment_id = ""
    for run in range(runs):
        if experiment_id:
            series.delete(experiment_id)
            store.delete_experiment(experiment_id)
            store.col("data_files").delete_many({})
        started = time.perf_counter()
        record = import_file(store, series, ImportRequest(path=data, name=data.name))
        import_s.append(time.perf_counter() - started)
        experiment_id = record.experiment or ""
        # The same points, formatted beforehand (not timed), written under another experiment tag.
        table = open_file(data).read()
        tags = {"device": "import", "channel": "file", "kind": MEASUREMENT, "experiment": "bench-write"}
        prefix = Point(MEASUREMENT, tags, {"x": 0.0}, 0).line().split(" ", 1)[0] + " "
        prepared = list(blocks(prefix, table, derive(table), 1_700_000_000 * 10**9, BATCH))
        del table
        started = time.perf_counter()
        for text, points in prepared:
            series.write_imported_block(text, points)
        write_s.append(time.perf_counter() - started)
        del prepared
        series.delete("bench-write")
        print(
            f"  run {run + 1}: import {import_s[-1]:.1f} s; InfluxDB writing the points {write_s[-1]:.1f} s"
        )
    ours, theirs = _median_rate(rows, import_s), _median_rate(rows, write_s)
    print(
        f"import:        {ours:,.0f} rows/s (median of {runs}); InfluxDB's own write rate for the same "
        f"points {theirs:,.0f} points/s; ratio {_paired(write_s, import_s):.2f} (median of each run's)"
    )
    return experiment_id


def _maccor_file(folder: Path, rows: int) -> Path | None:
    """maccor_001.txt (a real export, ../shared/vendor-files) grown to ``rows`` rows."""
    source = ROOT.parent / "shared" / "vendor-files" / "maccor" / "maccor_001.txt"
    if not source.is_file():
        return None
    lines = source.read_text().splitlines(keepends=True)
    head, body = lines[:4], lines[4:]
    path = folder / "maccor.txt"
    with path.open("w") as out:
        out.writelines(head)
        for _ in range(rows // len(body)):
            out.writelines(body)
        out.writelines(body[: rows % len(body)])
    return path


def _parse_figures(data: Path, rows: int, runs: int, folder: Path) -> None:
    import pandas

    files = [("BDF CSV", data, {})]
    maccor = _maccor_file(folder, rows)
    if maccor is not None:
        files.append(("Maccor text", maccor, {"sep": "\t", "skiprows": 3, "index_col": False}))
    for label, path, options in files:
        ours_s, pandas_s = [], []
        layout = open_file(path).layout
        for _ in range(runs):
            started = time.perf_counter()
            frame = pandas.read_csv(path, **options)
            pandas_s.append(time.perf_counter() - started)
            del frame
            started = time.perf_counter()
            table = read_text(path, layout)
            ours_s.append(time.perf_counter() - started)
            assert len(table) == rows, len(table)
            del table
        ours, theirs = _median_rate(rows, ours_s), _median_rate(rows, pandas_s)
        print(
            f"parse {label}: {ours:,.0f} rows/s (median of {runs}); pandas.read_csv {theirs:,.0f} rows/s; "
            f"ratio {_paired(pandas_s, ours_s):.2f} (median of each run's)"
        )


PEAK_CHILD = (
    "import sys\n"
    "sys.path.insert(0, sys.argv[1])\n"
    "from pathlib import Path\n"
    "from labdcs.experiments.importers import open_file\n"
    "from labdcs.experiments.readers.derive import blocks, derive\n"
    "table = open_file(Path(sys.argv[2])).read()\n"
    "derived = derive(table)\n"
    "print(sum(n for _, n in blocks('cycler,experiment=x ', table, derived, 0, 20000)))\n"
)


def _peak_figure(folder: Path, rows: int) -> None:
    """Peak RSS of reading, verifying, deriving and formatting every point of a ``rows``-row file
    (everything the import does but the HTTP writes, whose batches are bounded)."""
    big = folder / "big.bdf.csv"
    write_bdf(big, rows, points_per_half=3600)
    seconds, kib = peak_kib([sys.executable, "-c", PEAK_CHILD, str(ROOT / "services"), str(big)])
    print(
        f"peak memory:   {kib / 1024:,.0f} MiB to read, verify and format {rows:,} rows "
        f"({big.stat().st_size / 1e6:,.0f} MB file, {seconds:.0f} s, one run)"
    )
    big.unlink()


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
