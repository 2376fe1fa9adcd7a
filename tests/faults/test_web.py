"""Issue 12, point 6: the experiments manager against a hostile web peer, as a real process.

A page on another port of the same host writing with the browser's stored login (CSRF), framing and
sniffing (security headers on every answer), password guessing and its log volume (throttling),
half-sent requests (slow-loris), and Swagger UI from a CDN (a browser with every other host blocked).
"""

from __future__ import annotations

import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from labdcs.stack.paths import free_port
from labdcs.stack.processes import ManagedProcess
from tests.experiments.browser import needs_chromium
from tests.experiments.lab import ADMIN, CELL_TYPE, VIEWER
from tests.support import LabdcsProcess, wait_for_manager, wait_until

WRONG = "Wr0ng-pa55word"


class Server:
    def __init__(self, process: LabdcsProcess, port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def client(self, login: tuple[str, str] | None = ADMIN, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=login, timeout=10, **kwargs)

    def log_size(self) -> int:
        return self.process.log.stat().st_size


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``labdcs experiments serve --no-queue`` with the given extra settings."""
    made: list[LabdcsProcess] = []

    def make(**env: str) -> Server:
        port = free_port()
        process = LabdcsProcess(
            ["experiments", "serve", "--no-queue"], tmp_path / f"experiments-{port}.log", free_port(),
            env={"LABDCS_DATABASE_URL": f"montydb://{tmp_path / f'db-{port}'}", "LABDCS_HTTP_PORT": str(port),
                 "LABDCS_AUTH__ADMIN_PASSWORD": ADMIN[1], "LABDCS_AUTH__VIEWER_PASSWORD": VIEWER[1], **env},
        ).start()  # fmt: skip
        made.append(process)
        found = Server(process, port)
        wait_for_manager(process, found.url)
        return found

    yield make
    for process in made:
        process.kill()


def test_a_page_on_another_port_of_the_same_host_cannot_write(
    server: Callable[..., Server], fault_report: Callable[..., None]
) -> None:
    lab = server()
    with lab.client() as http:
        http.post("/api/cell-types", json=CELL_TYPE).raise_for_status()
        foreign = [{"Origin": f"http://127.0.0.1:{port}"} for port in (1880, 3000, 5173, lab.port + 1)] + [
            {"Origin": f"https://127.0.0.1:{lab.port}"},  # same host and port, other scheme
            {"Origin": "http://127.0.0.1"},  # port 80
            {"Referer": "http://127.0.0.1:1880/ui/"},  # no Origin: the Referer is checked
            {"Origin": "null"},
        ]
        answers = [
            http.post("/api/cells", json={"serial": f"CSRF-{k}", "type": "lg-mj1"}, headers=h).status_code
            for k, h in enumerate(foreign)
        ]
        planted = http.get("/api/cells", params={"q": "CSRF"}).json()
        own = http.post("/api/cells", json={"serial": "OWN-1", "type": "lg-mj1"}, headers={"Origin": lab.url})
        script = http.post("/api/cells", json={"serial": "OWN-2", "type": "lg-mj1"})  # no browser page
    assert answers == [403] * len(foreign), answers
    assert not [c for c in _items(planted) if str(c.get("serial", "")).startswith("CSRF")], planted
    assert (own.status_code, script.status_code) == (201, 201), own.text
    fault_report(
        "CSRF from another port or scheme of the same host",
        f"{len(foreign)} writes with the admin's login from other origins (Node-RED 1880, Grafana 3000, "
        "a dev server, https on the same port, port 80, Referer only, null): all 403, 0 cells created; "
        "the UI's own origin and a script without Origin: 201",
    )


def _items(body: Any) -> list[dict[str, Any]]:
    return body["items"] if isinstance(body, dict) and "items" in body else list(body)


def test_every_answer_carries_the_security_headers(
    server: Callable[..., Server], fault_report: Callable[..., None]
) -> None:
    lab = server()
    paths = ["/", "/experiments/new", "/cells/new", "/import", "/stations", "/docs", "/docs/docs.js",
             "/docs/assets/swagger-ui-bundle.js", "/openapi.json", "/api/cells", "/api/nothing-here",
             "/favicon.svg", "/healthz"]  # fmt: skip
    answers = []
    with lab.client() as http:
        answers += [http.get(path) for path in paths]
        answers.append(http.post("/api/cells", json={}, headers={"Origin": "http://evil.example"}))  # 403
    with lab.client(None) as anonymous:
        answers.append(anonymous.get("/api/cells"))  # 401
    missing = {}
    for answer in answers:
        csp = answer.headers.get("content-security-policy", "")
        problems = [
            name for name, ok in [
                ("frame-ancestors 'none'", "frame-ancestors 'none'" in csp),
                ("no inline script without a nonce", "unsafe-inline" not in csp.split("script-src")[-1]
                 if "script-src" in csp else "default-src 'self'" in csp),
                ("nosniff", answer.headers.get("x-content-type-options") == "nosniff"),
                ("referrer-policy", answer.headers.get("referrer-policy") == "same-origin"),
            ] if not ok
        ]  # fmt: skip
        if problems:
            missing[f"{answer.request.method} {answer.request.url.path} {answer.status_code}"] = problems
    assert missing == {}, missing
    statuses = sorted({a.status_code for a in answers})
    fault_report(
        "Framing, sniffing, inline script injection (security headers)",
        f"{len(answers)} answers (status {', '.join(map(str, statuses))}): every one with a CSP "
        "(frame-ancestors 'none', scripts only from the site or by per-page nonce), nosniff, "
        "Referrer-Policy same-origin",
    )


def test_password_guessing_is_throttled_and_the_log_stays_small(
    server: Callable[..., Server], fault_report: Callable[..., None]
) -> None:
    lab = server(LABDCS_LOGIN__LOG_INTERVAL_S="2")
    before = lab.log_size()
    statuses: dict[int, int] = {}
    retry_after: set[str] = set()
    start = time.monotonic()
    with lab.client(("admin", WRONG)) as http:
        while time.monotonic() - start < 4.0:
            answer = http.get("/api/cells")
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            if answer.status_code == 429:
                retry_after.add(answer.headers["retry-after"])
    elapsed = time.monotonic() - start
    tried = statuses.get(401, 0)  # passwords actually checked
    # From loopback the lockout grows to 5 s at most: the admin at the console gets in soon after.
    with lab.client() as http:
        back = wait_until(lambda: http.get("/api/cells").status_code == 200, 8, "the admin to get in again")
    admin_wait = time.monotonic() - start - elapsed
    # A remote address (through the trusted proxy at 127.0.0.1) is locked out for much longer.
    remote = {"X-Forwarded-For": "203.0.113.7"}
    with lab.client(("admin", WRONG), headers=remote) as http:
        remote_statuses = [http.get("/api/cells").status_code for _ in range(12)]
    with lab.client(headers=remote) as http:
        remote_admin = http.get("/api/cells")  # the right password waits too
    with lab.client(headers={"X-Forwarded-For": "198.51.100.9"}) as http:
        other_client = http.get("/api/cells").status_code
    # The refusals after the first of an interval: one summary line, at the first request after it.
    wait_until(lambda: "more refused logins" in lab.process.log_text(), 10, "the summary line")
    text = lab.process.log_text()
    log_bytes = lab.log_size() - before
    refusal_lines = [line for line in text.splitlines() if "refused login" in line]
    assert back and statuses.get(429, 0) > 0 and tried <= 12, statuses
    assert remote_statuses == [401] * 6 + [429] * 6, remote_statuses
    assert remote_admin.status_code == 429 and other_client == 200, remote_admin.text
    assert admin_wait < 6.5, admin_wait
    assert len(refusal_lines) <= 6 and log_bytes < 4096, refusal_lines
    assert WRONG not in text
    rate = sum(statuses.values()) / elapsed
    fault_report(
        "Password guessing against the web login",
        f"{sum(statuses.values())} tries in {elapsed:.1f} s from loopback ({rate:.0f}/s): {tried} passwords "
        f"checked, {statuses.get(429, 0)} answered 429 (Retry-After {'/'.join(sorted(retry_after, key=int))}"
        " s); "
        f"the admin got in {admin_wait:.1f} s later; a remote address locked out after 6 failures "
        "(also for the right password), another client unaffected; "
        f"{len(refusal_lines)} log lines, {log_bytes} bytes",
    )


def _half_request(port: int, data: bytes) -> tuple[float, bytes]:
    """Sends ``data`` and waits: (seconds until the server closed the connection, what it sent)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(data)
        start = time.monotonic()
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except TimeoutError:
            return float("inf"), received
        return time.monotonic() - start, received


def test_half_sent_requests_are_disconnected(
    server: Callable[..., Server], fault_report: Callable[..., None]
) -> None:
    lab = server(LABDCS_HTTP_LIMITS__HEADER_TIMEOUT_S="2", LABDCS_HTTP_LIMITS__BODY_TIMEOUT_S="2")
    silent, _ = _half_request(lab.port, b"")
    headers, _ = _half_request(lab.port, b"GET /api/cells HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")
    auth = httpx.BasicAuth(*ADMIN)._auth_header  # type: ignore[attr-defined]
    body_wait, body_answer = _half_request(
        lab.port,
        b"POST /api/cells HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Authorization: " + auth.encode() + b'\r\nContent-Length: 100\r\n\r\n{"serial":',
    )
    assert silent < 4 and headers < 4, (silent, headers)
    assert body_wait < 4 and b" 408 " in body_answer.split(b"\r\n")[0], body_answer[:200]
    with lab.client() as http:  # and the service still answers
        assert http.get("/api/cells").status_code == 200
    fault_report(
        "Slow-loris: half-sent requests",
        f"header timeout 2 s: a silent connection closed after {silent:.1f} s, half the headers after "
        f"{headers:.1f} s; body timeout 2 s: a stalled body answered 408 and closed after {body_wait:.1f} s "
        "(defaults: 10 s for the headers, 30 s of pause in a body)",
    )


@needs_chromium
def test_swagger_ui_loads_with_every_other_host_blocked(
    server: Callable[..., Server], chromium: Any, fault_report: Callable[..., None]
) -> None:
    lab = server()
    context = chromium.new_context(http_credentials={"username": ADMIN[0], "password": ADMIN[1]})
    blocked: list[str] = []
    violations: list[str] = []

    def route(request: Any) -> None:
        if request.request.url.startswith(lab.url):
            request.continue_()
        else:
            blocked.append(request.request.url)
            request.abort()

    try:
        page = context.new_page()
        page.route("**/*", route)
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None
        )
        page.goto(f"{lab.url}/docs")
        page.wait_for_selector(".opblock-tag", timeout=20_000)
        tags = page.locator(".opblock-tag").count()
        operations = page.locator(".opblock").count()
        title = page.locator(".title").first.inner_text()
        for path in ("/", "/experiments/new", "/cells/new", "/import", "/stations"):
            page.goto(f"{lab.url}{path}")
            page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert blocked == [] and violations == [], (blocked, violations)
    assert tags > 3 and operations > 20 and "labdcs battery experiments" in title
    fault_report(
        "Swagger UI from a CDN in the logged-in origin",
        f"/docs in Chromium with every non-local request blocked: {tags} tags, {operations} operations "
        "shown, 0 requests to other hosts, 0 CSP violations on /docs and 5 UI pages",
    )


def test_a_log_flood_cannot_fill_the_disk_and_logs_are_private(
    tmp_path: Path, fault_report: Callable[..., None]
) -> None:
    """A child of the native runner writing 12 MB of log (the 5.1 MB in 10 s of a login flood, and
    more): its log rotates at the size limit and keeps a bounded number of files, all 0600; what the
    child itself creates is 0600 in 0700 folders."""
    flood = (
        "import os, sys\n"
        "inner = os.path.join(sys.argv[1], 'made', 'inner'); os.makedirs(inner)\n"
        "open(os.path.join(inner, 'data.db'), 'w').write('x')\n"
        "line = 'W' * 99 + '\\n'\n"
        "for _ in range(120_000): sys.stdout.write(line)\n"
    )
    logs = tmp_path / "logs"
    process = ManagedProcess(
        "flood",
        [sys.executable, "-c", flood, str(tmp_path)],
        logs / "flood.log",
        log_max_bytes=1024 * 1024,
        log_backups=3,
    )
    process.start()
    assert process.popen is not None and process.popen.wait(60) == 0
    # The pump thread has written everything once the log no longer grows at its end.
    wait_until(lambda: logs.joinpath("flood.log.3").exists(), 20, "the third rotation")
    files = sorted(logs.iterdir())
    sizes = {path.name: path.stat().st_size for path in files}
    modes = {
        path.name: oct(path.stat().st_mode & 0o777) for path in [*files, tmp_path / "made/inner/data.db"]
    }
    folders = {
        p.name: oct(p.stat().st_mode & 0o777) for p in (logs, tmp_path / "made", tmp_path / "made/inner")
    }
    assert [p.name for p in files] == ["flood.log", "flood.log.1", "flood.log.2", "flood.log.3"], sizes
    assert all(size <= 1024 * 1024 for size in sizes.values()), sizes
    assert set(modes.values()) == {"0o600"} and set(folders.values()) == {"0o700"}, (modes, folders)
    fault_report(
        "A log flood in the native stack",
        f"12 MB written by one child: {len(files)} files kept of at most 1 MiB each (test limit; default "
        f"10 MiB x 4), {sum(sizes.values()) / 1e6:.1f} MB on disk; logs and the child's files 0600, "
        "folders 0700",
    )
