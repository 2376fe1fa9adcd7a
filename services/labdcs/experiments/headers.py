"""Security headers on every answer of the experiments manager, and the body timeout.

Every response gets a Content-Security-Policy (nothing from other origins, never framed), ``nosniff``
and a referrer policy; the UI's pages name their own inline scripts and styles with a per-response
nonce (:func:`page_policy`), everything else gets :data:`DEFAULT_POLICY`, which allows no inline code
at all. The headers are added outermost, so also the login's 401/403/429 answers carry them.
"""

from __future__ import annotations

import asyncio
import json
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_COMMON = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
#: Answers that are not one of the UI's pages: scripts and styles only from this site's files.
DEFAULT_POLICY = _COMMON
#: The downloadable report: its embedded style and plots (data: images), never a script.
REPORT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
FIXED_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def nonce() -> str:
    """A fresh nonce for one response's inline scripts and styles."""
    return secrets.token_urlsafe(18)


def page_policy(page_nonce: str) -> str:
    """The policy of a UI page: its own inline code (by nonce) and this site's files, nothing else."""
    return f"{_COMMON}; script-src 'self' 'nonce-{page_nonce}'; style-src 'self' 'nonce-{page_nonce}'"


class SecurityHeadersMiddleware:
    """Adds :data:`FIXED_HEADERS` to every HTTP response, and the default CSP unless the response
    set its own (a page with a nonce, the report)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", DEFAULT_POLICY.encode()))
                for name, value in FIXED_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTimeoutMiddleware:
    """Answers 408 and closes the connection when the request body stalls for ``timeout`` seconds
    between two chunks (uvicorn waits forever for an announced body: a slow-loris on the body). The
    application is told the client left, and whatever it answers then is dropped."""

    def __init__(self, app: ASGIApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = started = timed_out = False

        async def timed_receive() -> Message:
            nonlocal body_done, timed_out
            if body_done or timed_out:  # after the body: waiting for a disconnect is not a stall
                return await receive() if not timed_out else {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), self.timeout)
            except TimeoutError:
                timed_out = True
                if not started:
                    await _too_slow(send, self.timeout)
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if timed_out:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, timed_receive, tracking_send)


async def _too_slow(send: Send, timeout: float) -> None:
    detail = f"the request body stalled for {timeout:g} s: the connection is closed"
    body = json.dumps({"detail": detail, "problems": []}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 408, "headers": headers})
    await send({"type": "http.response.body", "body": body})
