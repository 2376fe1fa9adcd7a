"""What every contract participant (device service, interlock service) shares: its MQTT connection
with the retained last will, command expiry, the one ack per command with its audit line, and the
alarm commands (acknowledge)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from labdcs.contract import topics
from labdcs.contract.codec import ContractError, decode_as, encode
from labdcs.contract.models import Ack, AckResult, AlarmVerb, Command, Online, now_ms
from labdcs.contract.topics import TopicKind
from labdcs.devices.alarms import DeviceAlarms
from labdcs.mqtt import MqttConnection, Will
from labdcs.settings import MqttSettings

log = logging.getLogger(__name__)


def connect(settings: MqttSettings, client_id: str, device: str, boot: str) -> MqttConnection:
    """The participant's connection: last will ``online: false`` (retained) and the retained-picture
    sync (``synced``), not started yet."""
    will = Online(online=False, boot=boot, reason="connection lost")
    return MqttConnection(
        settings,
        client_id=client_id,
        will=Will(topics.online(device), encode(will), qos=1, retain=True),
        sync=True,
    )


def announce(connection: MqttConnection, device: str, boot: str, meta: bytes, alarms: DeviceAlarms) -> None:
    """After every (re)connect: retained meta, ``online: true``, the alarms."""
    connection.publish(topics.meta(device), meta, qos=1, retain=True)
    online = Online(online=True, boot=boot, ts=now_ms())
    connection.publish(topics.online(device), encode(online), qos=1, retain=True)
    alarms.republish()


@dataclass(frozen=True)
class Inbound:
    """A message queued for a participant's worker thread, with its arrival time (monotonic)."""

    topic: str
    payload: bytes
    retained: bool
    at: float


def touch_health(path: Path | None) -> None:
    """Touch the health file (containers' healthcheck): the worker loop is alive."""
    if path is not None:
        try:
            path.touch()
        except OSError as exc:
            log.debug("cannot touch %s: %s", path, exc)


def salvage_id(payload: bytes) -> str | None:
    """The id of a command whose body broke the schema, so the client can still match the ack."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict):
        value = data.get("id")
        if isinstance(value, str) and 0 < len(value) <= 64:
            return value
    return None


def expiry_problem(command: Command, max_age_s: float) -> str | None:
    """Why a command is too old (or from the future) to act on, or None."""
    if command.ts is None:
        return None
    age = (now_ms() - command.ts) / 1000.0
    if age > max_age_s:
        return f"command expired: sent {age:.1f} s ago, max age {max_age_s:g} s"
    if age < -max_age_s:
        return f"command timestamp is {-age:.1f} s in the future: check the sender's clock"
    return None


class Acknowledger:
    """Publishes the one ack of every command of a participant and writes the audit line."""

    def __init__(self, connection: MqttConnection, device: str, logger: logging.Logger = log) -> None:
        self.connection = connection
        self.device = device
        self.logger = logger

    def __call__(
        self,
        command_id: str | None,
        channel: str,
        verb: str,
        value: float | bool | None,
        result: AckResult,
        reason: str | None,
        user: str | None = None,
        *,
        alarm: str | None = None,
    ) -> None:
        ack = Ack(
            id=command_id,
            device=self.device,
            channel=channel,
            verb=verb,
            result=result,
            reason=reason,
            ts=now_ms(),
            value=value,
            alarm=alarm,
        )
        level = logging.INFO if result is AckResult.ACCEPTED else logging.WARNING
        self.logger.log(
            level,
            "command id=%s %s/%s %s value=%s user=%s -> %s%s",
            command_id,
            self.device,
            f"alarm/{alarm}" if alarm else channel,
            verb,
            value,
            user,
            result.value,
            f" ({reason})" if reason else "",
        )
        self.connection.publish(topics.ack(self.device), encode(ack), qos=1, retain=False)


def decode_command(
    topic: str, payload: bytes, channel: str, verb: str, ack: Acknowledger, *, alarm: str | None = None
) -> Command | None:
    """The command of a message on a command topic (``alarm``: an alarm's), or None once it has been
    rejected as malformed, under the id that can be salvaged so that the sender can match the ack."""
    kind = TopicKind.COMMAND if alarm is None else TopicKind.ALARM_COMMAND
    try:
        command = decode_as(kind, topic, payload)
    except ContractError as exc:
        ack(salvage_id(payload), channel, verb, None, AckResult.REJECTED, exc.problem, alarm=alarm)
        return None
    assert isinstance(command, Command)
    return command


def handle_alarm_command(
    topic: str, payload: bytes, alarms: DeviceAlarms, ack: Acknowledger, max_age_s: float
) -> None:
    """``.../alarm/<alarm>/cmd/<verb>``: acknowledge (``user`` required), answered with one ack."""
    info = topics.parse(topic)
    assert info is not None and info.alarm is not None and info.verb is not None
    alarm, verb = info.alarm, info.verb
    command = decode_command(topic, payload, "alarm", verb, ack, alarm=alarm)
    if command is None:
        return
    reason = expiry_problem(command, max_age_s)
    if reason is None and verb != AlarmVerb.ACKNOWLEDGE:
        reason = f"unknown verb '{verb}' for alarms; accepted: {', '.join(v.value for v in AlarmVerb)}"
    if reason is None and command.value is not None:
        reason = f"{verb} takes no value"
    if reason is None:
        reason = alarms.acknowledge(alarm, command.user)
    result = AckResult.ACCEPTED if reason is None else AckResult.REJECTED
    ack(command.id, "alarm", verb, command.value, result, reason, command.user, alarm=alarm)
