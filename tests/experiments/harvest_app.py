"""The experiments app served in-process (uvicorn in a thread, a free port) on the same store a
harvester in the test writes to: the embedded store has one owner process, so the API, the UI and
the harvester share it here as they would share MongoDB in the compose stack."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from labdcs.experiments.api import Services
from labdcs.experiments.server import create_app
from labdcs.stack.paths import free_port
from tests.experiments.lab import ADMIN, accounts
from tests.support import wait_until


@contextmanager
def served(services: Services) -> Iterator[str]:
    """The app's base URL while the block runs (no queue worker: no broker here)."""
    app = create_app(services, accounts=accounts(), start_queue=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="harvest-app", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(up, 30, "the experiments app to answer", interval=0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(30)


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, auth=ADMIN, timeout=30)
