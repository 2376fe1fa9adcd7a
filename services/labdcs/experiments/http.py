"""The HTTP server's limits: how long a client may take to send a request, how big its headers may be.

uvicorn waits for a request's headers forever (a client that sends half of them holds a connection,
and with enough of them every connection: the slow-loris attack). :func:`protocol` gives h11 a
deadline from the connection's first byte (or from the end of the previous response) to the end of
the headers; a client that misses it is disconnected. The body has its own timeout
(``headers.BodyTimeoutMiddleware``), idle connections uvicorn's ``timeout_keep_alive``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


class HttpLimits(BaseModel):
    """``LABDCS_HTTP_LIMITS__*``: the server's timeouts and sizes (defaults fit a lab's browsers)."""

    model_config = ConfigDict(extra="forbid")

    header_timeout_s: float = Field(default=10.0, gt=0, description="Connect to end of headers")
    body_timeout_s: float = Field(default=30.0, gt=0, description="Longest pause within a request body")
    keep_alive_s: float = Field(default=5.0, gt=0, description="An idle connection is closed after this")
    max_header_bytes: int = Field(default=16 * 1024, ge=4096, description="Request line and headers")
    max_connections: int = Field(default=200, ge=1, description="More get 503 at once")


def protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with a deadline for each request's headers."""

    class TimedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._waiting_for_request():
                self._arm()  # the first byte of a next request (after a keep-alive pause)
            super().data_received(data)
            if not self._waiting_for_request():
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _waiting_for_request(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if self._waiting_for_request() and not self.transport.is_closing():
                log.info("experiments: %s sent no complete request within %g s: disconnected",
                         self.client, header_timeout)  # fmt: skip
                self.transport.close()

    return TimedH11Protocol
