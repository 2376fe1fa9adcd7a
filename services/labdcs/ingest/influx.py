"""InfluxDB over its v1 HTTP API (``/write`` line protocol, ``/query`` InfluxQL, ``/ping``).

That API is served by InfluxDB 1.x, by 2.x (compatibility endpoints) and by 3.x, and Grafana's
InfluxQL data source reads the same data, so labdcs depends on nothing else.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from labdcs.settings import read_secret_file


class InfluxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = "http://localhost:8086"
    database: str = Field(default="labdcs", pattern=r"^[A-Za-z0-9_]+$")
    username: str | None = None
    password: SecretStr | None = None
    password_file: str | None = None
    timeout_s: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _load_secret(self) -> InfluxSettings:
        if self.password_file is not None:
            from pathlib import Path

            self.password = read_secret_file(Path(self.password_file), "InfluxDB password")
        return self


class InfluxError(RuntimeError):
    """InfluxDB could not be reached or answered with a server error: retry later."""


@dataclass(frozen=True)
class WriteResult:
    """Outcome of one write that InfluxDB answered (nothing to retry)."""

    written: int
    dropped: int = 0
    type_conflicts: int = 0
    error: str = ""
    whole_batch_refused: bool = False
    """InfluxDB refused the whole batch for some of its lines (a type conflict inside one batch):
    the caller should split it to save the good lines."""


_DROPPED = re.compile(r"dropped=(\d+)")


class InfluxClient:
    def __init__(self, settings: InfluxSettings) -> None:
        self.settings = settings
        self.url = settings.url.rstrip("/")
        self._auth: str | None = None
        if settings.username is not None:
            password = settings.password.get_secret_value() if settings.password else ""
            token = base64.b64encode(f"{settings.username}:{password}".encode()).decode()
            self._auth = f"Basic {token}"
        #: Per thread, the kept-alive connection writes go through (a new TCP connection per batch
        #: cost the ingester more than its batches of a few hundred points, issue 16).
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            parts = urllib.parse.urlsplit(self.url)
            kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            connection = kind(parts.hostname or "localhost", parts.port, timeout=self.settings.timeout_s)
            self._local.connection = connection
        return connection

    def _forget_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    def _post_kept_alive(self, path: str, params: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """POST over the thread's kept-alive connection; once more on a new one when the server had
        closed it (writes are idempotent: the same point twice is one point)."""
        target = (
            urllib.parse.urlsplit(self.url).path.rstrip("/") + path + "?" + urllib.parse.urlencode(params)
        )
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if self._auth:
            headers["Authorization"] = self._auth
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request("POST", target, body, headers)
                response = connection.getresponse()
                data = response.read()
            except (http.client.HTTPException, OSError) as exc:
                self._forget_connection()
                if attempt == 2:
                    raise InfluxError(f"InfluxDB at {self.url} not reachable: {exc}") from None
                continue
            if response.will_close:
                self._forget_connection()
            return int(response.status), data
        raise AssertionError("unreachable")

    def _request(
        self, path: str, params: dict[str, str], body: bytes | None = None, content_type: str = "text/plain"
    ) -> tuple[int, bytes]:
        url = f"{self.url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
        if self._auth:
            request.add_header("Authorization", self._auth)
        if body is not None:
            request.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.settings.timeout_s) as response:
                return int(response.status), response.read()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InfluxError(f"InfluxDB at {self.url} not reachable: {reason}") from None

    def ping(self) -> bool:
        try:
            status, _ = self._request("/ping", {})
        except InfluxError:
            return False
        return status == 204

    def write(
        self, lines: list[str], retention_policy: str | None = None, precision: str = "ms"
    ) -> WriteResult:
        """Write lines (ms precision unless named: imported files keep ns). InfluxError when it
        should be retried (unreachable, 5xx, 429); a WriteResult with the dropped count when
        InfluxDB refused some points for good (4xx)."""
        if not lines:
            return WriteResult(0)
        params = {"db": self.settings.database, "precision": precision}
        if retention_policy:
            params["rp"] = retention_policy
        status, body = self._post_kept_alive("/write", params, "\n".join(lines).encode())
        if status == 204:
            return WriteResult(len(lines))
        text = body.decode(errors="replace")
        try:
            message = str(json.loads(text).get("error", text))
        except (ValueError, AttributeError):
            message = text
        if status >= 500 or status == 429:
            raise InfluxError(f"InfluxDB answered {status}: {message}")
        if status in (401, 403):
            raise InfluxError(f"InfluxDB refused the credentials ({status}): {message}")
        if status == 404:
            raise InfluxError(f"InfluxDB has no database {self.settings.database!r}: {message}")
        if "partial write" not in message:
            conflicts = len(lines) if "field type conflict" in message else 0
            return WriteResult(0, len(lines), conflicts, message, whole_batch_refused=True)
        match = _DROPPED.search(message)
        # Points refused for their content are counted in dropped=N; unparseable lines are not.
        dropped = (int(match.group(1)) if match else 0) + message.count("unable to parse")
        conflicts = dropped if "field type conflict" in message else 0
        return WriteResult(len(lines) - dropped, dropped, conflicts, message)

    def query(self, q: str, *, database: str | None = None, epoch: str = "ms") -> list[dict[str, Any]]:
        """Run InfluxQL; returns the ``results`` list. Raises InfluxError on any error."""
        params = {"q": q, "epoch": epoch}
        db = database if database is not None else self.settings.database
        if db:
            params["db"] = db
        form = urllib.parse.urlencode(params).encode()
        status, raw = self._request("/query", {}, form, "application/x-www-form-urlencoded")
        data = json.loads(raw or b"{}")
        if status != 200 or "error" in data:
            raise InfluxError(f"query failed ({status}): {data.get('error', raw[:200])}")
        results: list[dict[str, Any]] = data.get("results", [])
        for result in results:
            if "error" in result:
                raise InfluxError(f"query failed: {result['error']}")
        return results

    def series_values(self, q: str) -> list[list[Any]]:
        """All rows of all series of a one-statement query (convenience for checks and tests)."""
        rows: list[list[Any]] = []
        for result in self.query(q):
            for series in result.get("series", []):
                rows.extend(series.get("values", []))
        return rows
