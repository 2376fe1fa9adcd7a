"""Docs as tests: every command a user runs from README.md and docs/*.md is run against the stack as
`labdcs up --dummy` starts it, and what the text promises of it is checked, so the docs cannot drift
from the product. A command that cannot run here is listed in NOT_RUN with the reason."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from labdcs.stack.paths import project_root
from tests.acceptance.conftest import UserStack
from tests.acceptance.docs import Block, Command, blocks
from tests.support import wait_until

ROOT = project_root()
DOCKER = "needs a Docker engine (none here): tests/test_compose.py checks the compose files statically"

#: (pattern, why a documented command is not run by this suite)
NOT_RUN: list[tuple[str, str]] = [
    (r"labdcs up\b", "the stack under test: the fixture runs this very command (free ports, own flags)"),
    (r"^\./scripts/test\b", "the test suite itself: .ci/run runs it"),
    (r"^docker compose\b", DOCKER),
    (r"labdcs gen\b", "regenerates committed files: tests compare each generator's output with them"),
    (
        r"labdcs (device run|interlock run|experiments serve|ingest|harvest)\b",
        "a long-running service: `labdcs up --dummy` runs it, and its own tests start it",
    ),
    (
        r"labdcs init\b",
        "makes or rotates secrets: `labdcs up` ran it; tests/test_security_init.py runs each mode",
    ),
    (
        r"node-red-admin hash-pw|NODERED_ADMIN_PASSWORD_HASH_FILE=",
        "a password typed at a prompt / a site's own hash: tests/nodered/test_security.py",
    ),
    (r"--config rules\.yaml", "the reader's own rules file: README.md runs it on dummy/interlock.yaml"),
    (
        r"-r -n -t labdcs/v1/can1/",
        "removes a device for good, which needs its service stopped: `labdcs up` restarts it",
    ),
]

RUNNABLE = re.compile(
    r"^(\.venv/bin/)?labdcs (status|cmd|alarm|interlock check)\b|^mosquitto_(sub|pub) |^curl "
)


def _reason(command: Command) -> str | None:
    return next((why for pattern, why in NOT_RUN if re.search(pattern, command.command)), None)


def _documented() -> list[Block]:
    return blocks(ROOT)


def test_every_documented_command_is_run_or_says_why_not() -> None:
    commands = [c for block in _documented() for c in block.commands]
    assert len(commands) > 40, "the docs' command blocks were not found"
    unclassified = [
        c.where + " " + c.command for c in commands if not _reason(c) and not RUNNABLE.search(c.command)
    ]
    assert not unclassified, (
        f"documented commands neither run by tests/acceptance nor in NOT_RUN: {unclassified}"
    )
    stale = [pattern for pattern, _ in NOT_RUN if not any(re.search(pattern, c.command) for c in commands)]
    assert not stale, f"NOT_RUN reasons that match no documented command any more: {stale}"


# --- running documented commands -----------------------------------------------------------------


@dataclass
class Output:
    """Lines printed by the commands of one doc's session, foreground and background alike."""

    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def follow(self, process: subprocess.Popen[str]) -> None:
        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                with self.lock:
                    self.lines.append(line.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()

    def add(self, text: str) -> None:
        with self.lock:
            self.lines.extend(text.splitlines())

    def snapshot(self) -> list[str]:
        with self.lock:
            return list(self.lines)


#: What an expected output line is compared on: its topic and these fields (the rest of a sample
#: line, timestamps and readings, differs from run to run).
COMPARED = ("id", "device", "channel", "verb", "result", "kind", "alarm", "contract", "principal", "user")


def _expectation(line: str) -> tuple[str | None, dict[str, Any], bool]:
    """(topic or None, compared fields, whether a reason is shown) of a documented output line."""
    topic, _, body = line.partition(" ") if line.startswith("labdcs/") else (None, "", line)
    try:  # a whole sample message: its top-level fields
        sample = json.loads(body)
        fields = {k: v for k, v in sample.items() if isinstance(v, str | bool)}
    except ValueError:  # an elided one ({"device":"hv1",...}): the fields shown outside nested parts
        top = body[1:]
        while re.search(r"\{[^{}]*\}|\[[^\[\]]*\]", top):
            top = re.sub(r"\{[^{}]*\}|\[[^\[\]]*\]", "", top)
        fields = {key: json.loads(value) for key, value in re.findall(r'"(\w+)":("[^"]*"|true|false)', top)}
    return topic, {k: v for k, v in fields.items() if k in COMPARED}, '"reason":"' in body


def _matches(expected: str, actual: str) -> bool:
    topic, fields, reason = _expectation(expected)
    if topic is not None:
        if not actual.startswith(topic + " "):
            return False
        actual = actual[len(topic) + 1 :]
    try:
        message = json.loads(actual)
    except ValueError:
        return False
    if not isinstance(message, dict):
        return False
    if reason and not message.get("reason"):
        return False
    return all(message.get(k) == v for k, v in fields.items())


class Session:
    """One doc's commands run in order, as a user runs them in a terminal; ``cmd &`` keeps running in
    the background and its output counts for the commands after it."""

    def __init__(self, stack: UserStack) -> None:
        self.stack = stack
        self.output = Output()
        self.background: list[subprocess.Popen[str]] = []

    def close(self) -> None:
        for process in self.background:
            _end(process)

    def run(self, command: Command) -> None:
        if command.command.endswith("&"):
            process = self.stack.spawn(command.command.rstrip("&").strip())
            self.background.append(process)
            self.output.follow(process)
            return
        expected = list(command.expected)
        if command.command.startswith("mosquitto_sub") and " -C " not in command.command:
            self._subscribe(command, expected)
            return
        tries = 3 if self.background and expected else 1  # an ack missed before a subscriber was ready
        for attempt in range(tries):
            before = len(self.output.snapshot())
            done = self.stack.shell(command.command)
            self.output.add(done.stdout + done.stderr)
            self._check_outcome(command, done)
            try:
                self._wait_for(expected, before, command, timeout=10 if attempt < tries - 1 else 20)
                return
            except AssertionError:
                if attempt == tries - 1:
                    raise

    def _subscribe(self, command: Command, expected: list[str]) -> None:
        """A subscriber that runs until stopped: it must print what the text shows, then is stopped."""
        process = self.stack.spawn(command.command)
        output = Output()
        output.follow(process)
        try:
            lines = [e for e in expected if e.strip() != "..."] or ["labdcs/v1/"]
            wait_until(
                lambda: all(any(_matches(e, a) or a.startswith(e) for a in output.snapshot()) for e in lines),
                30,
                f"{command.where}: `{command.command}` to print {lines}",
                interval=0.1,
            )
        finally:
            _end(process)
        self.output.add("\n".join(output.snapshot()))

    def _check_outcome(self, command: Command, done: subprocess.CompletedProcess[str]) -> None:
        text = done.stdout + done.stderr
        promise = command.promise
        if promise is not None:
            outcome, reason = promise
            assert text.startswith(outcome), (
                f"{command.where}: `{command.command}` promised {outcome}: {text}"
            )
            assert reason in text, f"{command.where}: the docs promise the reason {reason!r}; printed: {text}"
            return
        if re.match(r"(\.venv/bin/)?labdcs (cmd|alarm ack)\b", command.command):
            assert re.match(r"(accepted|rejected|failed)\b", text), f"{command.where}: no ack: {text}"
        elif not command.command.startswith("mosquitto_pub"):
            assert done.returncode == 0, (
                f"{command.where}: `{command.command}` exited {done.returncode}: {text}"
            )

    def _wait_for(self, expected: list[str], start: int, command: Command, timeout: float) -> None:
        def seen() -> bool:
            lines = self.output.snapshot()[start:]
            return all(any(_matches(e, a) for a in lines) for e in expected if e.strip() != "...")

        wait_until(
            seen, timeout, f"{command.where}: the output the docs show for `{command.command}`: {expected}"
        )


def _end(process: subprocess.Popen[str]) -> None:
    import os
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


@pytest.fixture
def session(user_stack: UserStack) -> Iterator[Session]:
    opened = Session(user_stack)
    yield opened
    opened.close()


def _commands(doc: str, skip_first_block_of_readme: bool = False) -> list[Command]:
    found = [c for block in _documented() if block.doc == doc for c in block.commands]
    return [c for c in found if _reason(c) is None]


# --- README ---------------------------------------------------------------------------------------


def _status(stack: UserStack) -> dict[str, Any]:
    done = stack.shell(".venv/bin/labdcs status --json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _channel(stack: UserStack, device: str, channel: str) -> dict[str, Any]:
    state: dict[str, Any] = _status(stack)[device]["states"][channel]
    return state


def dummy_devices() -> dict[str, list[str]]:
    """Every dummy device and its channel ids, from the configurations `labdcs up --dummy` runs."""
    found = {}
    for path in sorted((ROOT / "dummy" / "devices").glob("*.yaml")):
        config = yaml.safe_load(path.read_text())
        found[config["device"]] = [channel["id"] for channel in config.get("channels", [])] or ["ch1"]
    return found


def walk_readme(stack: UserStack, session: Session) -> None:
    """README.md's walkthrough, line by line, with what each line's comment promises."""
    walkthrough = next(b for b in _documented() if b.doc == "README.md" and "status" in b.commands[0].command)
    for command in walkthrough.commands:
        session.run(command)
        if command.command.endswith("labdcs status"):  # "every device online/offline with its last state"
            text = session.output.snapshot()
            shown = _status(stack)
            for device, channels in dummy_devices().items():
                assert any(line.startswith(device) and "online" in line for line in text), (device, text)
                assert shown[device]["online"] is True, device
                assert set(channels) <= set(shown[device]["states"]), (device, shown[device]["states"])
            assert {"hv-needs-lv", "dew-point"} <= set(shown["interlock"]["states"]), "the rules"
        if command.command.endswith("lv1 ch1 off"):  # "hv1 ramps down first, then lv1/ch1 goes off"
            wait_until(lambda: _channel(stack, "hv1", "ch1")["output"] is False, 60, "hv1/ch1 off")
            wait_until(lambda: _channel(stack, "lv1", "ch1")["output"] is False, 60, "lv1/ch1 off")


def test_readme_walkthrough_does_what_the_readme_says(user_stack: UserStack, session: Session) -> None:
    walk_readme(user_stack, session)


# --- the other docs -------------------------------------------------------------------------------


def _simulator(stack: UserStack, name: str) -> int:
    """The TCP port of a simulated instrument, from `labdcs up`'s table of services."""
    found = re.search(rf"^{re.escape(name)}\s+\d+\s+tcp://127\.0\.0\.1:(\d+)", stack.up_output(), re.M)
    assert found, f"{name} not in the table `labdcs up` printed"
    return int(found.group(1))


def _scpi(port: int, *commands: str) -> None:
    """The simulated world's own controls (humid air in the detector box), not a labdcs interface."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall("".join(f"{command}\n" for command in commands).encode() + b"*OPC?\n")
        assert sock.recv(64).strip() == b"1"


def _rule(stack: UserStack, rule: str) -> dict[str, Any]:
    state: dict[str, Any] = _status(stack)["interlock"]["states"][rule]
    return state


def _humid_box(stack: UserStack) -> None:
    """docs/contract.md's safety example starts from a box whose dew point came within 3 K."""
    _scpi(_simulator(stack, "sim-env1"), "SIM:TEMP 21.2", "SIM:HUM 96")
    wait_until(lambda: _rule(stack, "dew-point")["active"], 60, "the dew-point rule in force", interval=0.5)


def _dry_box(stack: UserStack) -> None:
    """... and resets the rule once the air is dry again (a latched rule holds until then)."""
    _scpi(_simulator(stack, "sim-env1"), "SIM:HUM 40")
    wait_until(lambda: not _rule(stack, "dew-point")["condition"], 60, "the dew point back", interval=0.5)


#: Situations a doc's example starts from, made in the simulated world before the command runs.
BEFORE: dict[tuple[str, str], Callable[[UserStack], None]] = {
    ("docs/contract.md", '"id":"op-6"'): _humid_box,
    ("docs/contract.md", "dew-point/cmd/reset"): _dry_box,
}


#: Every doc with a command this suite runs (README.md's walkthrough apart: its own test, above).
RUN_DOCS = sorted({c.doc for block in _documented() for c in block.commands if _reason(c) is None})


@pytest.mark.parametrize("doc", RUN_DOCS)
def test_documented_commands_do_what_the_docs_show(user_stack: UserStack, session: Session, doc: str) -> None:
    commands = _commands(doc)
    if doc == "README.md":  # the walkthrough has its own test, in order, with its promises
        walkthrough = next(b for b in _documented() if b.doc == doc and "status" in b.commands[0].command)
        commands = [c for c in commands if c not in walkthrough.commands]
    assert commands, f"no runnable command found in {doc}"
    for command in commands:
        for (where, marker), make in BEFORE.items():
            if where == doc and marker in command.command:
                make(user_stack)
        session.run(command)


def test_labdcs_up_runs_every_service_the_readme_lists(user_stack: UserStack) -> None:
    """README.md's table "What runs with `labdcs up --dummy`" against the table `labdcs up` prints."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("## What runs with `labdcs up --dummy`") :]
    table = table[: table.index("\n\n", table.index("| service |"))]
    listed = {name for row in table.splitlines()[2:] for name in re.findall(r"`([\w-]+)`", row.split("|")[1])}
    assert {"mosquitto", "influxdb", "nodered", "experiments", "interlock", "station1"} <= listed, listed
    running = {
        line.split()[0] for line in user_stack.up_output().splitlines() if re.match(r"^[\w-]+\s+\d+\s", line)
    }
    assert listed <= running, (
        f"listed in README.md but not started by `labdcs up --dummy`: {listed - running}"
    )
