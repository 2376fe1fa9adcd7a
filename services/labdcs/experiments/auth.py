"""Who may use the experiments manager: a person's login (HTTP Basic) or a token (Bearer), on every
request.

Accounts live in the manager's database (``accounts``: people and harvesters, argon2 password
hashes, roles, teams, tokens). ``labdcs init``'s shared logins (``secrets/experiments/admin|viewer``)
become the accounts ``admin`` and ``viewer`` the first time the manager starts: the first admin.
Basic is what every HTTP client, script and browser speaks without a login page; the gateway adds
HTTPS in front of it, so the password never crosses the network in clear. Scripts and harvesters
send ``Authorization: Bearer labdcs_...`` tokens instead (see ``accounts``).

Browsers resend Basic credentials on any request to the site, also one another site's page
triggers: a state-changing request whose ``Origin`` (or, without one, ``Referer``) names another
origin (scheme, host AND port: Node-RED on 1880 of the same host is another site) is refused (CSRF).
Refused logins are throttled per client address and logged and audited at a bounded rate
(``throttle``); a successful login is audited when its password is checked (not on every request:
a checked password is remembered for a while) and a token at its first use by this process.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import urllib.parse
from pathlib import Path

import anyio.to_thread
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from starlette.types import ASGIApp, Receive, Scope, Send

from labdcs.experiments.access import refusal
from labdcs.experiments.accounts import Directory, Principal, Role
from labdcs.experiments.throttle import LoginThrottle, RefusalLog, ThrottleSettings
from labdcs.settings import read_secret_file

log = logging.getLogger(__name__)

REALM = "labdcs experiments"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Paths answered without a login: the container healthcheck (it says nothing but "ok").
PUBLIC_PATHS = frozenset({"/healthz"})
SETUP_HINT = (
    "the experiments manager needs its logins: run `labdcs init` and set "
    "LABDCS_AUTH__ADMIN_PASSWORD_FILE=secrets/experiments/admin "
    "(and LABDCS_AUTH__VIEWER_PASSWORD_FILE=secrets/experiments/viewer); see docs/security.md"
)


class AuthSettings(BaseModel):
    """``LABDCS_AUTH__*``: the first logins (passwords directly or, better, from files), made accounts
    the first time the manager starts on a database."""

    model_config = ConfigDict(extra="forbid")

    admin_user: str = Field(default="admin", min_length=1, max_length=64)
    admin_password: SecretStr | None = None
    admin_password_file: Path | None = Field(default=None, description="e.g. secrets/experiments/admin")
    viewer_user: str = Field(default="viewer", min_length=1, max_length=64)
    viewer_password: SecretStr | None = None
    viewer_password_file: Path | None = Field(default=None, description="e.g. secrets/experiments/viewer")

    @model_validator(mode="after")
    def _read_files(self) -> AuthSettings:
        if self.admin_password_file is not None:
            self.admin_password = read_secret_file(self.admin_password_file, "experiments admin password")
        if self.viewer_password_file is not None:
            self.viewer_password = read_secret_file(self.viewer_password_file, "experiments viewer password")
        if self.admin_user == self.viewer_user:
            raise ValueError("admin_user and viewer_user must differ")
        return self


class MissingLogin(RuntimeError):
    """No admin account and no admin password configured: the service does not start open."""


def first_logins(settings: AuthSettings) -> list[tuple[str, str, Role]]:
    """(user, password, role) of the configured shared logins, to become accounts."""
    logins = []
    if settings.admin_password is not None:
        logins.append((settings.admin_user, settings.admin_password.get_secret_value(), Role.ADMIN))
    if settings.viewer_password is not None:
        logins.append((settings.viewer_user, settings.viewer_password.get_secret_value(), Role.VIEWER))
    return logins


def prepare_accounts(directory: Directory, settings: AuthSettings) -> None:
    """Teams, the first accounts from the configured logins; MissingLogin when no admin could log in."""
    directory.prepare()
    created = directory.migrate_logins(first_logins(settings))
    if created:
        log.info("experiments: accounts %s created from the configured logins", ", ".join(created))
    if not directory.has_admin():
        raise MissingLogin(SETUP_HINT)


def _bearer(header: bytes | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.decode("latin-1").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _credentials(header: bytes | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, value = header.decode("latin-1").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an Origin or Referer value; None when it names no http(s) origin."""
    try:
        parts = urllib.parse.urlsplit(url)
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not host:
        return None
    return scheme, host, port or DEFAULT_PORTS[scheme]


def _own_origin(scope: Scope, headers: dict[bytes, bytes]) -> tuple[str, str, int] | None:
    """The origin the browser sees this service at: the gateway's X-Forwarded-Proto/-Host when it
    sets them, else the request's own scheme and Host header."""
    scheme = headers.get(b"x-forwarded-proto", str(scope.get("scheme", "http")).encode()).decode("latin-1")
    host = headers.get(b"x-forwarded-host", headers.get(b"host", b"")).decode("latin-1")
    return _origin(f"{scheme.split(',')[0].strip()}://{host.split(',')[0].strip()}")


def cross_site(scope: Scope, headers: dict[bytes, bytes]) -> str | None:
    """The foreign origin a write comes from, or None when it comes from this site's pages (or from
    no browser page at all: scripts send neither Origin nor Referer)."""
    origin = headers.get(b"origin", b"").decode("latin-1")
    claimed = origin or headers.get(b"referer", b"").decode("latin-1")
    if not claimed:
        return None
    # "null" (a sandboxed or privacy-stripped page) never comes from our own pages: refused.
    if _origin(claimed) is None or _origin(claimed) != _own_origin(scope, headers):
        return origin or urllib.parse.urlsplit(claimed)._replace(path="", query="", fragment="").geturl()
    return None


class LoginMiddleware:
    """Refuses every HTTP request without a valid login or token (401), what the role or the token's
    scopes do not allow (403) and writes from another site (403); slows down guessing (429 with
    Retry-After); puts the principal in ``scope["state"]`` for the routes and the audit."""

    def __init__(self, app: ASGIApp, directory: Directory, throttle: ThrottleSettings | None = None) -> None:
        self.app = app
        self.directory = directory
        settings = throttle or ThrottleSettings()
        self.throttle = LoginThrottle(settings)
        self.refusals = RefusalLog(log, settings.log_interval_s, audit=self._audit_refusal)
        self._tokens_seen: dict[str, float] = {}

    def _audit_refusal(self, user: str, address: str, detail: str) -> None:
        self.directory.store.audit("login", f"user:{user[:64]}", user[:64], result="refused",
                                   detail=f"from {address}: {detail}")  # fmt: skip

    def _authenticate(self, header: bytes | None, address: str) -> tuple[Principal | None, str | None]:
        """(principal, who tried) for the Authorization header; (None, None) without credentials."""
        token = _bearer(header)
        if token is not None:
            found, token_id = self.directory.verify_token(token)
            if found is not None and time.monotonic() - self._tokens_seen.get(token_id, -1e9) > 900:
                if len(self._tokens_seen) > 10_000:  # bounded: at worst a token's use is audited again
                    self._tokens_seen.clear()
                self._tokens_seen[token_id] = time.monotonic()
                self.directory.store.audit("login", f"user:{found.account}", found.account,
                                           detail=f"token {token_id} from {address}")  # fmt: skip
            return found, f"token {token_id}"
        credentials = _credentials(header)
        if credentials is None:
            return None, None
        found, fresh = self.directory.verify_password(*credentials)
        if found is not None and fresh:
            self.directory.store.audit("login", f"user:{found.account}", found.account,
                                       detail=f"password from {address}")  # fmt: skip
        return found, credentials[0]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        self.refusals.flush()
        headers = dict(scope["headers"])
        address = _address(scope)
        header = headers.get(b"authorization")
        if _credentials(header) is not None or _bearer(header) is not None:
            wait = self.throttle.retry_after(address)
            if wait > 0:  # the password is not even checked: no guessing while locked out
                seconds = str(max(1, round(wait + 0.5)))
                await _answer(
                    send, 429, f"too many refused logins from {address}: try again in {seconds} s",
                    {"retry-after": seconds},
                )  # fmt: skip
                return
        # argon2 and the database in a worker thread: a login being checked holds up no other request.
        principal, tried = await anyio.to_thread.run_sync(self._authenticate, header, address)
        if principal is None:
            if tried is not None:
                self.refusals.refused(tried, address, self.throttle.failed(address))
            await _answer(send, 401, "a login is needed", {"www-authenticate": f'Basic realm="{REALM}"'})
            return
        self.throttle.succeeded(address)
        method = scope["method"]
        refused = refusal(principal, method, scope["path"])
        if refused is not None:
            await _answer(send, 403, refused)
            return
        if method not in SAFE_METHODS:
            foreign = cross_site(scope, headers)
            if foreign is not None:
                log.warning("experiments: refused %s %s from origin %s", method, scope["path"], foreign[:200])
                await _answer(send, 403, f"a request from {foreign[:200]} may not change anything here")
                return
        state = scope.setdefault("state", {})
        state["user"], state["principal"] = principal.account, principal
        await self.app(scope, receive, send)


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"


async def _answer(send: Send, status: int, detail: str, extra: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail, "problems": []}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
