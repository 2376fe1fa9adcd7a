"""A small client of the experiments manager's API for the CLI and the harvester (standard library
only): where the manager is, how to log in (a token, or the native stack's admin login), and calls
whose errors say in words what the manager answered.

Where: ``--url``, else ``LABDCS_MANAGER_URL``, else the running native stack's manager, else
http://127.0.0.1:8000. Login: ``--token-file``/``LABDCS_TOKEN_FILE`` or ``LABDCS_TOKEN`` (Bearer),
else the admin login ``labdcs init`` made (``<secrets>/experiments/admin``, HTTP Basic).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"


class ManagerError(RuntimeError):
    """The manager refused or did not answer; the message says which and why."""


@dataclass(frozen=True)
class Manager:
    url: str
    authorization: str
    timeout: float = 60.0

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": self.authorization, "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        return self._send(method, path, data, headers, query)

    def upload(self, path: str, file: Path, fields: dict[str, str], query: dict[str, Any]) -> Any:
        """POST a file as multipart/form-data (the file is read whole: cycler files are megabytes)."""
        boundary = secrets.token_hex(16)
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            )
        quoted = file.name.replace('"', "_")
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{quoted}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + file.read_bytes()
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        headers = {
            "Authorization": self.authorization,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        return self._send("POST", path, b"".join(parts), headers, query)

    def _send(
        self,
        method: str,
        path: str,
        data: bytes | None,
        headers: dict[str, str],
        query: dict[str, Any] | None,
    ) -> Any:
        url = self.url.rstrip("/") + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None}, doseq=True)
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                text = answer.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read().decode("utf-8", "replace")
            try:
                detail = json.loads(raw).get("detail", raw)
            except (ValueError, AttributeError):
                detail = raw[:300]
            raise ManagerError(
                f"the experiments manager at {self.url} answered {exc.code}: {detail}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ManagerError(f"the experiments manager at {self.url} did not answer ({reason})") from None
        return json.loads(text) if text else None


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
