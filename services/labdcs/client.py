"""A contract client for scripts, the CLI and tests: send commands and wait for their acks,
and take a snapshot of every device's retained meta, online status, states and alarms.

The topic is the identity (:mod:`labdcs.contract.identity`): an ack counts only for a command this
client is waiting for, from the device it was sent to; a snapshot takes states only for the channels
each device's meta declares (``DeviceSnapshot.refused`` counts the others)."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from labdcs.contract import topics
from labdcs.contract.codec import ContractError, decode, encode
from labdcs.contract.identity import Declared
from labdcs.contract.limits import MAX_ALARMS_PER_DEVICE
from labdcs.contract.models import (
    Ack,
    Alarm,
    AlarmVerb,
    Command,
    CyclerChannelState,
    DeviceMeta,
    Online,
    PowerChannelState,
    RuleState,
    SensorChannelState,
    now_ms,
)
from labdcs.contract.topics import TopicKind
from labdcs.mqtt import MqttConnection, owned_id
from labdcs.settings import MqttSettings

log = logging.getLogger(__name__)


class NoAck(TimeoutError):
    """No answer to a command in time: the device is offline or the broker is not reachable."""


AnyChannelState = PowerChannelState | SensorChannelState | CyclerChannelState | RuleState
"""Every state model a channel can have (power, sensor, battery cycler, interlock rule)."""


@dataclass
class DeviceSnapshot:
    device: str
    meta: DeviceMeta | None = None
    online: Online | None = None
    states: dict[str, AnyChannelState] = field(default_factory=dict)
    alarms: dict[str, Alarm] = field(default_factory=dict)
    refused: int = 0
    """States of channels the meta does not declare (or of a device without a meta), and alarms past
    the contract's bound per device, not taken."""


class ContractClient:
    """An MQTT client that speaks the contract from the operator's side. Its commands go out under its
    broker login (the command topic's last level, which the broker's ACL pins to the login), so it
    needs one; ``user`` on a command is only the person it claims to act for."""

    def __init__(self, settings: MqttSettings, name: str = "cli") -> None:
        if settings.username is None:
            raise ValueError(
                "sending commands needs a broker login (mqtt username): a command topic ends in the "
                "sender's login, which the broker checks (docs/contract.md)"
            )
        #: The broker login the commands are sent through: the sender level of their topics.
        self.sender = settings.username
        self.connection = MqttConnection(
            settings, client_id=owned_id(settings, f"{name}-{secrets.token_hex(4)}")
        )
        self._acks: dict[str, Ack] = {}
        #: Command id -> the device it went to: only its ack is taken (bounded by what is in flight).
        self._pending: dict[str, str] = {}
        self._ack_arrived = threading.Condition()
        self.connection.subscribe(topics.ALL_ACKS, self._on_ack)

    def __enter__(self) -> ContractClient:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, timeout: float = 5.0) -> None:
        self.connection.start()
        if not self.connection.wait_connected(timeout):
            self.connection.stop()
            settings = self.connection.settings
            raise ConnectionError(f"cannot reach the MQTT broker at {settings.host}:{settings.port}")

    def stop(self) -> None:
        self.connection.stop()

    def _on_ack(self, topic: str, payload: bytes, retained: bool) -> None:
        try:
            _, ack = decode(topic, payload)
        except ContractError as exc:
            log.warning("malformed ack: %s", exc)
            return
        if isinstance(ack, Ack) and ack.id is not None:
            with self._ack_arrived:
                if self._pending.get(ack.id) != ack.device:
                    return  # not ours, or from another device than the command went to
                self._acks[ack.id] = ack
                self._ack_arrived.notify_all()

    def command(
        self,
        device: str,
        channel: str,
        verb: str,
        value: float | bool | None = None,
        *,
        timeout: float = 5.0,
        user: str | None = None,
        protocol: dict[str, Any] | str | None = None,
        experiment: str | None = None,
    ) -> Ack:
        """Send one command and return its ack; NoAck when none arrives within ``timeout``.
        ``protocol`` and ``experiment`` are the cycler verbs' arguments (load_protocol, start)."""
        body = {"value": value, "protocol": protocol, "experiment": experiment}
        return self._send(topics.command(device, channel, verb, self.sender), body, timeout, user)

    def acknowledge_alarm(self, device: str, alarm: str, user: str, *, timeout: float = 5.0) -> Ack:
        """Acknowledge an alarm, claiming to be ``user``; returns the device's ack."""
        topic = topics.alarm_command(device, alarm, AlarmVerb.ACKNOWLEDGE, self.sender)
        return self._send(topic, {}, timeout, user)

    def _send(self, topic: str, fields: dict[str, Any], timeout: float, user: str | None) -> Ack:
        command_id = f"cli-{secrets.token_hex(6)}"
        body = Command(id=command_id, user=user, ts=now_ms(), **fields)
        info = topics.parse(topic)
        assert info is not None
        with self._ack_arrived:
            self._pending[command_id] = info.device
        self.connection.publish(topic, encode(body), qos=1)
        return self.wait_ack(command_id, timeout)

    def wait_ack(self, command_id: str, timeout: float) -> Ack:
        deadline = time.monotonic() + timeout
        with self._ack_arrived:
            try:
                while command_id not in self._acks:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise NoAck(f"no ack for command {command_id} within {timeout:g} s")
                    self._ack_arrived.wait(remaining)
                return self._acks.pop(command_id)
            finally:
                self._pending.pop(command_id, None)


def snapshot(settings: MqttSettings, *, timeout: float = 3.0) -> dict[str, DeviceSnapshot]:
    """Every device's retained meta, online, states and alarms, returned as soon as the broker has
    sent them all: the connection's sync round trip (``MqttConnection(sync=True)``) comes back after
    the retained messages of the subscriptions made before it. Waiting for a pause in the traffic
    instead never ends on a busy broker, where live states keep arriving. If the round trip does not
    complete within ``timeout`` (from the start), what arrived is returned and a warning logged."""
    connection = MqttConnection(
        settings, client_id=owned_id(settings, f"status-{secrets.token_hex(4)}"), sync=True
    )
    devices: dict[str, DeviceSnapshot] = {}
    declared = Declared()

    def on_message(topic: str, payload: bytes, retained: bool) -> None:
        if not payload:
            return
        try:
            info, message = decode(topic, payload)
        except ContractError as exc:
            log.warning("%s", exc)
            return
        if info.kind is TopicKind.STATE and declared.undeclared(info, message) is not None:
            if info.device in devices:  # a device without a meta gets no entry of its own
                devices[info.device].refused += 1
            return
        snapshot = devices.setdefault(info.device, DeviceSnapshot(info.device))
        if info.kind is TopicKind.META and isinstance(message, DeviceMeta):
            snapshot.meta = message
            declared.update(info.device, message)
        elif info.kind is TopicKind.STATE and isinstance(message, AnyChannelState):
            assert info.channel is not None
            snapshot.states[info.channel] = message
        elif info.kind is TopicKind.ONLINE and isinstance(message, Online):
            snapshot.online = message
        elif info.kind is TopicKind.ALARM and isinstance(message, Alarm):
            assert info.alarm is not None
            if info.alarm not in snapshot.alarms and len(snapshot.alarms) >= MAX_ALARMS_PER_DEVICE:
                snapshot.refused += 1
                return
            snapshot.alarms[info.alarm] = message

    for topic_filter in (topics.ALL_META, topics.ALL_ONLINE, topics.ALL_STATE, topics.ALL_ALARMS):
        connection.subscribe(topic_filter, on_message)
    deadline = time.monotonic() + timeout
    connection.start()
    try:
        if not connection.wait_connected(timeout):
            raise ConnectionError(f"cannot reach the MQTT broker at {settings.host}:{settings.port}")
        if not connection.synced.wait(max(0.0, deadline - time.monotonic())):
            log.warning(
                "the broker did not confirm the end of the retained messages within %g s: "
                "the snapshot may be incomplete",
                timeout,
            )
    finally:
        connection.stop()  # before reading: no message changes ``devices`` any more
    return dict(sorted(devices.items()))


def wait_online(settings: MqttSettings, devices: list[str], *, timeout: float) -> list[str]:
    """Wait until every named device reports ``online: true``; returns those that did not."""
    online: set[str] = set()
    changed = threading.Event()

    def on_online(topic: str, payload: bytes, retained: bool) -> None:
        info = topics.parse(topic)
        if info is None or not payload:
            return
        try:
            _, message = decode(topic, payload)
        except ContractError:
            return
        if isinstance(message, Online):
            (online.add if message.online else online.discard)(info.device)
            changed.set()

    connection = MqttConnection(settings, client_id=owned_id(settings, f"wait-{secrets.token_hex(4)}"))
    connection.subscribe(topics.ALL_ONLINE, on_online)
    connection.start()
    deadline = time.monotonic() + timeout
    try:
        while not set(devices) <= online:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            changed.wait(remaining)
            changed.clear()
    finally:
        connection.stop()
    return [device for device in devices if device not in online]
