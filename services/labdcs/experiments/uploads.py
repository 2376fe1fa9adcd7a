"""The upload size limit (``LABDCS_UPLOAD_MAX_BYTES``): a request body over it is answered 413
before it is stored whole.

A declared ``Content-Length`` over the limit is refused before one byte of the body is read; a body
without one (chunked) is counted as it arrives and refused once past the limit, so at most the limit
is ever spooled to disk. An ASGI middleware rather than a check in the route: by the time a route
runs, the framework has already stored the whole multipart body.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_UPLOAD_MAX_BYTES = 2 << 30
UPLOAD_PATHS = frozenset({"/api/imports"})


class _TooLarge(Exception):
    """Raised into the route's body reading; the middleware answers 413 in its place."""


def size_text(size: int) -> str:
    """``2 GiB``, ``64 MiB``, ``1.5 KiB``, ``100 bytes``: the limit as people read it."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} bytes"


class UploadLimit:
    """413 for a POST to an upload path whose body is larger than ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int, paths: frozenset[str] = UPLOAD_PATHS) -> None:
        self.app = app
        self.limit = limit
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(send, f"the upload ({size_text(declared)}) is larger than")
            return
        received = 0
        over = started = False

        async def counted() -> Message:
            nonlocal received, over
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True
                    raise _TooLarge
            return message

        async def answer(message: Message) -> None:
            nonlocal started
            if over:
                return  # the route's answer to a body cut short is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._refuse(send, "the upload is larger than")

    async def _refuse(self, send: Send, what: str) -> None:
        detail = (
            f"{what} the limit of {size_text(self.limit)} for uploads here "
            "(setting LABDCS_UPLOAD_MAX_BYTES); nothing was stored"
        )
        body = json.dumps({"detail": detail, "problems": [detail]}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),  # the rest of the body is not read: this connection is done
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
