"""Fixtures of the contract tests: the AsyncAPI validator (Node, @asyncapi/parser)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VALIDATOR_DIR = Path(__file__).resolve().parent / "asyncapi-validator"
#: The set-up script runs the same command.
NPM_INSTALL = ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"]
NPM_TIMEOUT_S = 540
VALIDATE_TIMEOUT_S = 120

Validate = Callable[[Path], "subprocess.CompletedProcess[str]"]


def _pinned_parser_version() -> str:
    package = json.loads((VALIDATOR_DIR / "package.json").read_text())
    version: str = package["dependencies"]["@asyncapi/parser"]
    return version


def _installed_parser_version() -> str | None:
    installed = VALIDATOR_DIR / "node_modules" / "@asyncapi" / "parser" / "package.json"
    if not installed.is_file():
        return None
    version: str = json.loads(installed.read_text())["version"]
    return version


@contextmanager
def _install_lock() -> Iterator[None]:
    """One installer at a time (pytest-xdist workers, two checkouts sharing nothing but /tmp)."""
    digest = hashlib.sha256(str(VALIDATOR_DIR).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"labdcs-asyncapi-validator-{digest}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the holder's npm run is bounded by NPM_TIMEOUT_S
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _ensure_node_modules() -> None:
    pinned = _pinned_parser_version()
    if _installed_parser_version() == pinned:
        return
    if shutil.which("npm") is None:
        pytest.fail(
            f"npm is not installed; it is needed once to run: cd {VALIDATOR_DIR} && {' '.join(NPM_INSTALL)}"
        )
    with _install_lock():
        if _installed_parser_version() == pinned:  # another worker installed it meanwhile
            return
        env = {**os.environ, "SCARF_ANALYTICS": "false", "npm_config_update_notifier": "false"}
        try:
            result = subprocess.run(
                NPM_INSTALL,
                cwd=VALIDATOR_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"`{' '.join(NPM_INSTALL)}` in {VALIDATOR_DIR} took more than {NPM_TIMEOUT_S} s")
        if result.returncode != 0:
            pytest.fail(
                f"`{' '.join(NPM_INSTALL)}` in {VALIDATOR_DIR} failed:\n{result.stdout}\n{result.stderr}"
            )
    installed = _installed_parser_version()
    if installed != pinned:
        pytest.fail(f"npm installed @asyncapi/parser {installed}, package.json pins {pinned}")


@pytest.fixture(scope="session")
def asyncapi_validate() -> Validate:
    """Run ``node validate.mjs <file>``; installs the validator's node_modules on first use."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the AsyncAPI document is validated with @asyncapi/parser")
    _ensure_node_modules()

    def validate(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [node, str(VALIDATOR_DIR / "validate.mjs"), str(path)],
            cwd=VALIDATOR_DIR,
            capture_output=True,
            text=True,
            timeout=VALIDATE_TIMEOUT_S,
            check=False,
        )

    return validate
