"""The typed client of our own API (``labdcs.manager_api``): what is committed is what the kept
generator makes of the API's OpenAPI document today (a route or model changed without
``labdcs gen manager-api`` fails here), and the notebook-style example of docs/ runs against a real
manager with a person's read token: an imported experiment's cycles into pandas, its capacity fade
plotted."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from labdcs.experiments.client_gen import DOCUMENT, PACKAGE, generate
from labdcs.stack.paths import project_root
from tests.experiments import vendor_files
from tests.experiments.lab import ADMIN

ROOT = project_root()
EXAMPLE = ROOT / "docs" / "examples" / "capacity_fade.py"


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not {"__pycache__", ".ruff_cache"} & set(path.parts)
    }


def test_the_committed_client_is_what_the_generator_makes_of_the_api(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")  # ruff's rules for the output
    generate(tmp_path)
    assert (tmp_path / DOCUMENT).read_bytes() == (ROOT / DOCUMENT).read_bytes(), (
        "docs/openapi.json is not the API's document: run `labdcs gen manager-api`"
    )
    made, committed = files(tmp_path / PACKAGE), files(ROOT / PACKAGE)
    assert sorted(made) == sorted(committed), "run `labdcs gen manager-api`"
    stale = [name for name in made if made[name] != committed[name]]
    assert stale == [], f"not what the generator makes (run `labdcs gen manager-api`): {stale[:10]}"


def test_the_notebook_example_plots_an_experiments_capacity_fade(tmp_path: Path, manager: str) -> None:
    with httpx.Client(base_url=manager, auth=ADMIN, timeout=120) as admin:
        data = vendor_files.maccor(tmp_path / "cell7.001.txt")
        upload = {"file": (data.name, data.read_bytes(), "application/octet-stream")}
        job = admin.post("/api/imports", params={"wait": "true"}, files=upload)
        assert job.status_code in (200, 201, 202) and job.json()["state"] == "done", job.text
        experiment = job.json()["experiment"]
        cycles = admin.get(f"/api/experiments/{experiment}/cycles").json()
        assert len(cycles) >= 2, "an experiment of more than one cycle"
        made = admin.post("/api/users", json={"id": "nora", "role": "viewer"})
        assert made.status_code == 201, made.text
    with httpx.Client(base_url=manager, auth=("nora", made.json()["password"]), timeout=60) as nora:
        token = nora.post("/api/tokens", json={"scopes": ["read"], "name": "notebook"}).json()["secret"]
    picture = tmp_path / "fade.png"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "services"), str(ROOT / "dummy")]),
        "LABDCS_MANAGER_URL": manager,
        "LABDCS_TOKEN": token,
        "CAPACITY_FADE_PNG": str(picture),
    }
    env.pop("EXPERIMENT", None)
    env.pop("LABDCS_TOKEN_FILE", None)
    run = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True,
                         timeout=120, cwd=tmp_path, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"{experiment}: " in run.stdout and f"{len(cycles)} cycles" in run.stdout
    # The printed table: one row per cycle (index, discharge, charge, retention), as the API says.
    by_index = {str(c["cycle_index"]): c for c in cycles}
    rows = [line.split() for line in run.stdout.splitlines() if line.split()[:1] in ([i] for i in by_index)]
    assert [row[0] for row in rows] == sorted(by_index, key=int)
    for index, discharge, charge, _ in rows:
        for value, field in ((discharge, "discharge_capacity"), (charge, "charge_capacity")):
            assert abs(float(value) - by_index[index][field]) <= 1e-4 * abs(by_index[index][field])
    assert float(rows[0][3]) == 100.0, "the first cycle is the reference of the retention"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 10_000
