"""The docs agree with what ships about logins and secrets: no password is ever printed, every
Mosquitto command logs in (the broker refuses anonymous clients), and every path into the secrets
folder they name is one ``labdcs init`` (or Node-RED's first start) really creates."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from labdcs.nodered import runtime as nodered
from labdcs.stack.paths import project_root

DOCS = [project_root() / "README.md", *sorted((project_root() / "docs").glob("*.md"))]

#: Claims that a password is shown, and the folder an older nodered.md named (it never existed).
CONTRADICTIONS = [
    r"\b(shown|printed|displayed)\b[^.]{0,40}\bonce\b",
    r"\b(prints?|shows?|displays?) (the |its |their )?(two )?passwords?\b",
    r"\.labdcs/secrets",
]
MOSQUITTO_COMMAND = re.compile(r"\bmosquitto_(sub|pub)\b[^\n`]*")
LOGIN = re.compile(r' -u (?P<user>[\w-]+) -P "\$\(cat secrets/mqtt/(?P=user)\)"')
SECRETS_PATH = re.compile(r"(?<![\w/.$-])secrets/[\w.-][\w./-]*")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_no_doc_says_a_password_is_shown(doc: Path) -> None:
    text = _text(doc)
    for pattern in CONTRADICTIONS:
        found = re.search(pattern, text, re.IGNORECASE)
        assert found is None, f"{doc.name}: {found.group(0)!r} contradicts 'a password is never printed'"


def test_security_and_nodered_docs_say_passwords_are_never_printed_and_where_they_are() -> None:
    for name in ("security.md", "nodered.md"):
        text = " ".join(_text(project_root() / "docs" / name).split())
        assert "never prints a password" in text, name
    nodered_doc = _text(project_root() / "docs" / "nodered.md")
    assert "cat secrets/nodered/admin-password" in nodered_doc


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_mosquitto_command_logs_in_with_a_password_file(doc: Path) -> None:
    commands = [match.group(0) for match in MOSQUITTO_COMMAND.finditer(_text(doc))]
    anonymous = [command for command in commands if not LOGIN.search(command)]
    assert anonymous == [], f"{doc.name}: the broker refuses these (no login): {anonymous}"


def test_every_secrets_path_the_docs_name_exists_after_labdcs_init(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    made = subprocess.run(
        [sys.executable, "-m", "labdcs", "init", "--dummy", "--secrets-dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    # Node-RED's settings.js makes these at its first start (docs/nodered.md).
    logins = nodered.logins(folder / "nodered", environ={})
    node_red = {login.password_file.name for login in logins if login.password_file is not None}
    node_red |= {f"{name}-hash" for name in node_red} | {"credential-secret"}
    named = {path.rstrip(".") for doc in DOCS for path in SECRETS_PATH.findall(_text(doc))}
    assert "secrets/mqtt/cli" in named
    missing = [
        path
        for path in sorted(named)
        if not (tmp_path / path).exists()
        and not (path.startswith("secrets/nodered/") and Path(path).name in node_red)
    ]
    assert missing == [], f"the docs name secrets that `labdcs init` does not make: {missing}"
