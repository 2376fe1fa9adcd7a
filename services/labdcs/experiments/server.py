"""``labdcs experiments serve``: the API, the web UI and the queue worker in one process (port 8000).

One process because the embedded database (montydb on SQLite) wants one owner; with MongoDB the
same process scales fine for a lab (a few stations, a few operators).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from labdcs import __version__
from labdcs.experiments import (
    api,
    battery_api,
    compare,
    data_api,
    docs,
    identity,
    labcontext,
    monitor,
    people_api,
    people_web,
    plots,
    static,
    web,
)
from labdcs.experiments.accounts import Directory
from labdcs.experiments.api import Services
from labdcs.experiments.auth import AuthSettings, LoginMiddleware, prepare_accounts
from labdcs.experiments.headers import BodyTimeoutMiddleware, SecurityHeadersMiddleware
from labdcs.experiments.http import HttpLimits, protocol
from labdcs.experiments.live import MonitorHub
from labdcs.experiments.queue import QueueWorker
from labdcs.experiments.series import ExperimentSeries
from labdcs.experiments.settings import ExperimentsSettings
from labdcs.experiments.throttle import ThrottleSettings
from labdcs.experiments.uploads import UploadLimit
from labdcs.ingest.influx import InfluxClient

log = logging.getLogger(__name__)


def create_app(
    services: Services,
    *,
    accounts: AuthSettings,
    start_queue: bool = True,
    throttle: ThrottleSettings | None = None,
    limits: HttpLimits | None = None,
) -> FastAPI:
    """The ASGI application behind its logins (the accounts in the store; ``accounts``: the first
    logins, made accounts if missing), security headers on every answer; the queue worker (if any)
    starts and stops with it. MissingLogin when no admin could log in."""
    directory = Directory(services.store)
    prepare_accounts(directory, accounts)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services.monitor is not None:
            services.monitor.start()
        if services.queue is not None and start_queue:
            services.queue.start()
        try:
            yield
        finally:
            if services.queue is not None and start_queue:
                services.queue.stop()
            if services.monitor is not None:
                services.monitor.stop()

    app = FastAPI(
        title="labdcs battery experiments",
        version=__version__,
        description="Cells, stations, protocols and experiments of the battery lab: queue, control, "
        "data export, reports and imports.",
        lifespan=lifespan,
        docs_url=None,  # docs.router(): Swagger UI from the package, not a CDN
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.services = services
    app.state.directory = directory
    api.install_error_handlers(app)
    app.include_router(api.router())
    app.include_router(data_api.router())
    app.include_router(people_api.router())
    app.include_router(identity.router())
    app.include_router(battery_api.router(), prefix=battery_api.PREFIX)
    app.include_router(web.router())
    app.include_router(people_web.router())
    app.include_router(monitor.router())
    app.include_router(labcontext.router())
    app.include_router(labcontext.script_router())
    app.include_router(plots.router())
    app.include_router(static.router())
    app.include_router(compare.router())
    app.include_router(docs.router())

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """For container healthchecks: answered without a login, and says nothing."""
        return {"status": "ok"}

    @app.get("/api/queue/health", tags=["stations"])
    def queue_health() -> dict[str, object]:
        """The queue's view of the broker: messages dropped and refused (by why), channels followed."""
        queue = services.queue
        if queue is None:
            return {"queue": False}
        return {
            "queue": True,
            "dropped": queue.dropped,
            "inbox": queue.inbox_size,
            "monitor_inbox": services.monitor.backlog if services.monitor is not None else 0,
            "refused": dict(queue.refused),
            "stations": len(queue.declared),
            "channels": queue.channel_count,
        }

    # Outermost last: the headers also on the login's refusals; the upload limit and the body
    # timeout inside the login.
    app.add_middleware(UploadLimit, limit=services.upload_max_bytes)
    app.add_middleware(BodyTimeoutMiddleware, timeout=(limits or HttpLimits()).body_timeout_s)
    app.add_middleware(LoginMiddleware, directory=directory, throttle=throttle)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def build(settings: ExperimentsSettings) -> Services:
    store = settings.open_store()
    store.prepare()
    influx = InfluxClient(settings.influx)
    services = Services(
        store=store,
        series=ExperimentSeries(influx),
        queue=QueueWorker(store, settings.mqtt) if settings.queue else None,
        grafana_url=settings.grafana_url,
        work_dir=settings.work_dir,
        upload_max_bytes=settings.upload_max_bytes,
        station_environment=settings.station_environment,
    )
    if services.queue is not None:
        hub = MonitorHub(store, settings.station_environment, settings.monitor_streams)
        services.queue.taps.append(hub.on_message)
        hub.attach(services.queue.client.connection)
        services.monitor = hub
    return services


def serve(settings: ExperimentsSettings) -> None:
    import uvicorn

    services = build(settings)
    limits = settings.http_limits
    try:
        app = create_app(services, accounts=settings.auth, throttle=settings.login, limits=limits)
    except Exception:  # no admin (MissingLogin), a database that refuses: nothing stays open
        services.store.close()
        raise
    log.info(
        "experiments: database %s (%s), InfluxDB %s, broker %s:%d, http://%s:%d/",
        settings.database_url, services.store.engine, settings.influx.url, settings.mqtt.host,
        settings.mqtt.port, settings.http_host, settings.http_port,
    )  # fmt: skip
    try:
        uvicorn.run(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
            http=protocol(limits.header_timeout_s),
            timeout_keep_alive=int(max(1, limits.keep_alive_s)),
            h11_max_incomplete_event_size=limits.max_header_bytes,
            limit_concurrency=limits.max_connections,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            proxy_headers=True,
        )
    finally:
        services.store.close()
