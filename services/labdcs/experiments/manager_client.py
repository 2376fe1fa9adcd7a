"""How the CLI and the harvester reach the experiments manager's API: where it is, how to log in
(a token, or the native stack's admin login), and calls through the typed client generated from
the API's own OpenAPI document (``labdcs.manager_api``, see ``client_gen``), whose errors say in
words what the manager answered.

Where: ``--url``, else ``LABDCS_MANAGER_URL``, else the running native stack's manager, else
http://127.0.0.1:8000. Login: ``--token-file``/``LABDCS_TOKEN_FILE`` or ``LABDCS_TOKEN`` (Bearer),
else the admin login ``labdcs init`` made (``<secrets>/experiments/admin``, HTTP Basic).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from labdcs.manager_api import Client
from labdcs.manager_api.models import ErrorBody
from labdcs.manager_api.types import Response

DEFAULT_URL = "http://127.0.0.1:8000"
T = TypeVar("T")


class ManagerError(RuntimeError):
    """The manager refused or did not answer; the message says which and why."""


@dataclass(frozen=True)
class Manager:
    url: str
    authorization: str
    timeout: float = 60.0

    def api(self) -> Client:
        """The generated client with this login (use it in a ``with`` block: it holds a connection)."""
        return Client(
            base_url=self.url.rstrip("/"),
            headers={"Authorization": self.authorization, "Accept": "application/json"},
            timeout=httpx.Timeout(self.timeout),
        )

    def one(self, kind: type[T], endpoint: Callable[..., Response[Any]], *args: Any, **kwargs: Any) -> T:
        """Call a generated endpoint's ``sync_detailed``; its answer, which must be a ``kind``."""
        parsed = self._answer(endpoint, args, kwargs)
        if not isinstance(parsed, kind):
            raise ManagerError(f"the experiments manager at {self.url} answered no {kind.__name__}")
        return parsed

    def many(
        self, kind: type[T], endpoint: Callable[..., Response[Any]], *args: Any, **kwargs: Any
    ) -> list[T]:
        """As ``one``, for an answer that is a list of ``kind``."""
        parsed = self._answer(endpoint, args, kwargs)
        if not isinstance(parsed, list) or not all(isinstance(item, kind) for item in parsed):
            raise ManagerError(f"the experiments manager at {self.url} answered no list of {kind.__name__}")
        return parsed

    def _answer(self, endpoint: Callable[..., Response[Any]], args: Any, kwargs: dict[str, Any]) -> Any:
        try:
            with self.api() as client:
                response = endpoint(*args, client=client, **kwargs)
        except httpx.TransportError as exc:
            raise ManagerError(f"the experiments manager at {self.url} did not answer ({exc})") from None
        if not 200 <= response.status_code < 300:
            if isinstance(response.parsed, ErrorBody):
                detail = response.parsed.detail
            else:
                raw = response.content.decode("utf-8", "replace")
                try:
                    detail = json.loads(raw).get("detail", raw)
                except (ValueError, AttributeError):
                    detail = raw[:300]
            raise ManagerError(
                f"the experiments manager at {self.url} answered {response.status_code}: {detail}"
            )
        return response.parsed


def bearer(token: str) -> str:
    return f"Bearer {token.strip()}"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def find_manager(url: str | None = None, token_file: Path | None = None, admin: bool = True) -> Manager:
    """The manager and the login to use, as the module docstring says (``admin`` False: a token
    only, as for the harvester); ManagerError when there is no login to use."""
    from labdcs.stack.state import find_running

    running = None
    if url is None and not os.environ.get("LABDCS_MANAGER_URL"):
        running = find_running()
    where = (
        url or os.environ.get("LABDCS_MANAGER_URL") or (running and running.experiments_url) or DEFAULT_URL
    )
    token_path = token_file or (
        Path(os.environ["LABDCS_TOKEN_FILE"]) if os.environ.get("LABDCS_TOKEN_FILE") else None
    )
    if token_path is not None:
        try:
            return Manager(where, bearer(token_path.read_text(encoding="utf-8")))
        except OSError as exc:
            raise ManagerError(f"cannot read the token from {token_path}: {exc.strerror}") from None
    if os.environ.get("LABDCS_TOKEN"):
        return Manager(where, bearer(os.environ["LABDCS_TOKEN"]))
    if not admin:
        raise ManagerError(
            "no token: set LABDCS_TOKEN_FILE or --token-file (make one with `labdcs users token create`)"
        )
    from labdcs.security.secrets import default_dir

    folder = running.secrets_dir if running is not None else default_dir()
    admin_file = folder / "experiments" / "admin"
    try:
        return Manager(where, basic("admin", admin_file.read_text(encoding="utf-8").strip()))
    except OSError:
        raise ManagerError(
            "no login for the experiments manager: set LABDCS_TOKEN_FILE (or LABDCS_TOKEN) to a token "
            f"(make one on the People page), or run where `labdcs init` put {admin_file}"
        ) from None
