"""The experiments manager's data routes: a run's exports (CSV, Parquet, report) and imports
(uploads, their jobs, the data files and the harvester's account of its folders). Split from
:mod:`labdcs.experiments.api`, whose models and helpers they share."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from labdcs.experiments.access import check_write, writing_team
from labdcs.experiments.api import (
    ERRORS,
    ImportJobOut,
    Limit,
    Offset,
    Page,
    _prepend,
    login,
    readable_cell,
    readable_experiment,
    services,
    window_of,
)
from labdcs.experiments.documents import (
    DataFile,
    HarvestedFile,
)
from labdcs.experiments.headers import REPORT_POLICY
from labdcs.experiments.importing import ImportRequest
from labdcs.experiments.store import NotFound

#: An uploaded file's schema for generated clients (OpenAPI 3.0's way, which they understand).
BINARY_SCHEMA: dict[str, Any] = {"format": "binary"}


def router() -> APIRouter:
    api = APIRouter(prefix="/api", responses=ERRORS)

    @api.get(
        "/experiments/{experiment_id}/export.csv",
        response_model=None,
        responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "BDF CSV"}},
        tags=["data"],
    )
    def export_csv(request: Request, experiment_id: str) -> Response:
        """The experiment's full-resolution data as CSV with the Battery Data Format's column names."""
        from labdcs.experiments.export import csv_chunks

        svc = services(request)
        experiment = readable_experiment(request, experiment_id)
        chunks = csv_chunks(svc.need_series(), experiment_id, window_of(experiment))
        first = next(chunks)  # fails here (503), not in the middle of the response, if InfluxDB is down
        return StreamingResponse(
            _prepend(first, chunks),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{experiment_id}.bdf.csv"'},
        )

    @api.get(
        "/experiments/{experiment_id}/export.parquet",
        response_model=None,
        responses={
            200: {
                "content": {"application/vnd.apache.parquet": {"schema": {"type": "string"}}},
                "description": "BDF Parquet",
            }
        },
        tags=["data"],
    )
    def export_parquet(request: Request, experiment_id: str) -> Response:
        """The experiment's full-resolution data as Parquet with the Battery Data Format's column names
        (written to a temporary file one row group at a time, then sent)."""
        from labdcs.experiments.export import parquet_file

        svc = services(request)
        experiment = readable_experiment(request, experiment_id)
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the response once sent)
        try:
            parquet_file(svc.need_series(), experiment_id, window_of(experiment), spool)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)

        def chunks() -> Iterator[bytes]:
            with spool:
                while block := spool.read(1 << 20):
                    yield block

        return StreamingResponse(
            chunks(),
            media_type="application/vnd.apache.parquet",
            headers={"Content-Disposition": f'attachment; filename="{experiment_id}.bdf.parquet"'},
        )

    @api.get(
        "/experiments/{experiment_id}/report.html",
        response_model=None,
        responses={
            200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "HTML report"}
        },
        tags=["data"],
    )
    def report(request: Request, experiment_id: str) -> Response:
        """One HTML file with everything (plots embedded): opens offline, can be mailed or archived."""
        from labdcs.experiments.labcontext import context_of
        from labdcs.experiments.report import render_report

        svc = services(request)
        experiment = readable_experiment(request, experiment_id)
        lab = context_of(request, experiment)
        html = render_report(svc.store, svc.need_series(), experiment, lab)
        return HTMLResponse(
            html,
            headers={
                "Content-Disposition": f'attachment; filename="{experiment_id}-report.html"',
                "Content-Security-Policy": REPORT_POLICY,
            },
        )

    # --- imports --------------------------------------------------------------------------------

    @api.post("/imports", response_model=ImportJobOut, status_code=202, tags=["data"])
    def create_import(
        request: Request,
        # format: binary beside 3.1's contentMediaType: generated clients (ours) send it as a file.
        file: Annotated[UploadFile, File(description="The data file", json_schema_extra=BINARY_SCHEMA)],
        format: Annotated[str | None, Form(description="Format name; default: detected")] = None,
        mapping: Annotated[str | None, Form(description="Generic CSV: JSON {column: quantity}")] = None,
        cell: Annotated[str | None, Form(max_length=64)] = None,
        name: Annotated[str | None, Form(max_length=200)] = None,
        team: Annotated[str | None, Form(max_length=64, description="Default: the writer's team")] = None,
        wait: Annotated[bool, Query(description="Answer when the import has ended")] = False,
    ) -> ImportJobOut:
        """Import a finished experiment from a file; progress at ``GET /api/imports/{job}``. A body
        larger than the limit (``LABDCS_UPLOAD_MAX_BYTES``, default 2 GiB) is answered 413."""
        svc = services(request)
        team = writing_team(request, team or None)
        if cell:
            check_write(request, readable_cell(request, cell).team, f"cell '{cell}'")
        jobs = svc.need_imports()
        svc.work_dir.mkdir(parents=True, exist_ok=True)
        # The file's own extension is kept: binary readers (fastnda) go by it.
        ext = Path(file.filename or "").suffix.lower()
        suffix = ext if re.fullmatch(r"\.[a-z0-9]{1,8}", ext) else ".upload"
        with tempfile.NamedTemporaryFile(dir=svc.work_dir, delete=False, suffix=suffix) as out:
            while chunk := file.file.read(1 << 20):
                out.write(chunk)
        job = jobs.submit(
            ImportRequest(
                path=Path(out.name),
                name=file.filename or "upload",
                format=format or None,
                mapping=mapping or None,
                cell=cell or None,
                experiment_name=name or None,
                delete_after=True,
                principal=login(request),
                team=team,
            )
        )
        if wait:
            job.done.wait()
        return ImportJobOut(**job.view())

    @api.get("/imports/{job_id}", response_model=ImportJobOut, tags=["data"])
    def get_import(request: Request, job_id: str) -> ImportJobOut:
        job = services(request).need_imports().get(job_id)
        if job is None:
            raise NotFound(f"no import job '{job_id}'")
        return ImportJobOut(**job.view())

    @api.get("/data-files", response_model=Page[DataFile], tags=["data"])
    def list_data_files(
        request: Request,
        status: Literal["imported", "failed"] | None = None,
        offset: Offset = 0,
        limit: Limit = 100,
    ) -> Page[DataFile]:
        """Every file offered for import (upload or harvester), with its result."""
        items, total = services(request).store.data_files(status, None, offset, limit)
        return Page(items=items, total=total, offset=offset, limit=limit)

    @api.get("/harvested-files", response_model=Page[HarvestedFile], tags=["data"])
    def list_harvested_files(
        request: Request,
        status: Literal["imported", "failed", "skipped", "waiting", "live"] | None = None,
        offset: Offset = 0,
        limit: Limit = 100,
    ) -> Page[HarvestedFile]:
        """Every file the harvester saw in its watched folders, by path: imported (with the experiment),
        failed or skipped (with the reason), waiting (still being written, a service away) or live
        (imported while the cycler writes it)."""
        items, total = services(request).store.harvested_files(status, offset, limit)
        return Page(items=items, total=total, offset=offset, limit=limit)

    return api
