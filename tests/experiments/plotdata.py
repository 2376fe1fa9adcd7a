"""Finished experiments for the plots' tests, as the lab makes them: a BDF CSV file at 1 Hz imported
through the manager's own import (``POST /api/imports``), so the data are in InfluxDB as any import's."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

#: A sample that no mean of its neighbours shows: the downsampled plot must still reach it.
SPIKE_V, DIP_V = 4.6, 2.9


def bdf_file(path: Path, rows: int, half: int = 600, fade: float = 0.0, spike_at: int | None = None) -> Path:
    """Cycling at 1 Hz, started two days ago on the hour: ``half`` s charging at 1 A, ``half`` s
    discharging at ``1 - fade * cycle`` A; with ``spike_at``, one sample at :data:`SPIKE_V` there and
    one at :data:`DIP_V` 1000 s later."""
    # Started two days ago on the hour (the wall clock column): over, and in whole buckets.
    start = (int(time.time()) // 3600 - 48) * 3600
    lines = ["Unix Time / s,Test Time / s,Voltage / V,Current / A,Temperature T1 / degC"]
    for n in range(rows):
        cycle, k = divmod(n, 2 * half)
        charging = k < half
        soc = k / half if charging else 2 - k / half
        amps = 1.0 if charging else -(1.0 - fade * cycle)
        volts = 3.2 + 0.9 * soc + (0.05 if charging else -0.05)
        if spike_at is not None and n == spike_at:
            volts = SPIKE_V
        if spike_at is not None and n == spike_at + 1000:
            volts = DIP_V
        lines.append(f"{start + n},{n},{volts:.4f},{amps:.4f},{25 + 2 * soc:.2f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def import_file(http: httpx.Client | Any, path: Path, name: str, cell: str = "mj1-0001") -> str:
    """Import through the API (waiting for the end); the new experiment's id."""
    job = http.post(
        "/api/imports",
        params={"wait": "true"},
        data={"cell": cell, "name": name},
        files={"file": (path.name, path.read_bytes(), "text/csv")},
    ).json()
    assert job["state"] == "done", job
    experiment: str = job["experiment"]
    return experiment
