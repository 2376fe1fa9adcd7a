"""What every contract participant (device service, interlock service) shares: its MQTT connection
with the retained last will, the command intake (expiry, repeated ids answered with their first ack
and not carried out again), the one ack per command with its audit line, and the alarm commands
(acknowledge). The audit names the authenticated principal, the broker login in the command topic's
last level (the ACL pins it to the publisher), next to the person the command claims (``user``)."""

from __future__ import annotations

import heapq
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from labdcs.contract import topics
from labdcs.contract.codec import ContractError, decode_as, encode
from labdcs.contract.models import Ack, AckResult, AlarmVerb, Command, Online, now_ms, principal_label
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
    age = (now_ms() - command.ts) / 1000.0
    if age > max_age_s:
        return f"command expired: sent {age:.1f} s ago, max age {max_age_s:g} s"
    if age < -max_age_s:
        return f"command timestamp is {-age:.1f} s in the future: check the sender's clock"
    return None


#: Command ids a participant remembers at most: more commands within the max age are refused
#: (``device busy``) rather than forgotten early, which would let a replay through.
MAX_REMEMBERED_IDS = 10_000


class RecentCommands:
    """The ids a participant answered, each with its first ack, until its command expires: a repeated
    id is answered with that ack and not carried out again. Bounded: an id is forgotten once its
    command is older than the max age (a replay is then refused as expired), and at most
    ``limit`` ids are kept."""

    def __init__(self, max_age_s: float, limit: int = MAX_REMEMBERED_IDS) -> None:
        self.max_age_ms = round(max_age_s * 1000)
        self.limit = limit
        self._answered: dict[str, Ack] = {}
        #: (when the id may be forgotten, ms since the epoch; the id): the soonest first.
        self._expiry: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._answered)

    def _forget_expired(self) -> None:
        now = now_ms()
        while self._expiry and self._expiry[0][0] < now:
            _, command_id = heapq.heappop(self._expiry)
            del self._answered[command_id]

    def first_ack(self, command_id: str) -> Ack | None:
        """The first ack of an id answered within the max age, or None."""
        self._forget_expired()
        return self._answered.get(command_id)

    def full(self) -> bool:
        self._forget_expired()
        return len(self._answered) >= self.limit

    def remember(self, command: Command, ack: Ack) -> None:
        """Keep the ack until the command would be refused as expired (its ``ts`` plus the max age)."""
        if command.id not in self._answered:
            self._answered[command.id] = ack
            heapq.heappush(self._expiry, (command.ts + self.max_age_ms, command.id))


class Acknowledger:
    """The command intake every participant shares: the one ack of every command with its audit line,
    and the commands' ``ts`` and ids (:func:`decode_command`): expired commands are refused, a repeated
    id is answered with its first ack."""

    def __init__(
        self, connection: MqttConnection, device: str, max_age_s: float, logger: logging.Logger = log
    ) -> None:
        self.connection = connection
        self.device = device
        self.max_age_s = max_age_s
        self.logger = logger
        self.recent = RecentCommands(max_age_s)
        #: The decoded command being carried out (the worker's), whose ack :attr:`recent` keeps, and
        #: the broker login it came through (its ack and audit line name it).
        self._open: Command | None = None
        self._open_principal: str | None = None
        # The network thread acks too (device busy): the memory is shared.
        self._lock = threading.Lock()

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
        principal: str | None = None,
        alarm: str | None = None,
    ) -> None:
        """Publish the one ack of a command and write its audit line; ``principal``: the broker login
        the command came through (its topic's sender level; by default the admitted command's),
        ``user``: the person it claimed."""
        with self._lock:
            opened = self._open
            if opened is not None and opened.id == command_id:
                principal = principal or self._open_principal
            else:
                opened = None
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
            principal=principal,
            user=user,
        )
        if opened is not None:
            with self._lock:
                if self._open is opened:
                    self._open = self._open_principal = None
                    self.recent.remember(opened, ack)
        self._audit(ack)
        self.connection.publish(topics.ack(self.device), encode(ack), qos=1, retain=False)

    @property
    def principal(self) -> str | None:
        """The broker login of the command being carried out (None between commands)."""
        with self._lock:
            return self._open_principal

    def _audit(
        self, ack: Ack, repeat: str = "", principal: str | None = None, user: str | None = None
    ) -> None:
        """The audit line of an ack (a repeat: of the command that repeated an id, by its own sender)."""
        level = logging.INFO if ack.result is AckResult.ACCEPTED and not repeat else logging.WARNING
        by = principal_label(principal, user) if repeat else principal_label(ack.principal, ack.user)
        self.logger.log(
            level,
            "command id=%s %s/%s %s value=%s by %s -> %s%s%s",
            ack.id,
            self.device,
            f"alarm/{ack.alarm}" if ack.alarm else ack.channel,
            ack.verb,
            ack.value,
            by,
            ack.result.value,
            f" ({ack.reason})" if ack.reason else "",
            repeat,
        )

    def admit(self, command: Command, channel: str, verb: str, alarm: str | None, principal: str) -> bool:
        """Whether to carry out a decoded command; if not, it has been answered: a repeated id with its
        first ack (``repeat: true``), an expired command or one too many with a rejection."""
        with self._lock:
            first = self.recent.first_ack(command.id)
            if first is None:
                reason = expiry_problem(command, self.max_age_s)
                if reason is None and self.recent.full():
                    reason = (
                        f"device busy: {len(self.recent)} commands within the last {self.max_age_s:g} s; "
                        "try again later"
                    )
                if reason is None:
                    self._open, self._open_principal = command, principal
                    return True
        if first is not None:
            again = first.model_copy(update={"repeat": True})
            note = f"; repeated id, first answered at {first.ts}: not carried out again"
            self._audit(again, note, principal, command.user)
            self.connection.publish(topics.ack(self.device), encode(again), qos=1, retain=False)
            return False
        self(
            command.id,
            channel,
            verb,
            command.value,
            AckResult.REJECTED,
            reason,
            command.user,
            principal=principal,
            alarm=alarm,
        )
        return False


def sender_of(topic: str) -> str | None:
    """The broker login a command came through: its topic's last level (None: not a command topic)."""
    info = topics.parse(topic)
    return info.sender if info is not None else None


def decode_command(
    topic: str, payload: bytes, channel: str, verb: str, ack: Acknowledger, *, alarm: str | None = None
) -> Command | None:
    """The command of a message on a command topic (``alarm``: an alarm's) to carry out, or None once
    it has been answered: rejected as malformed (under the id that can be salvaged, so that the sender
    can match the ack) or expired, or a repeated id answered with its first ack."""
    kind = TopicKind.COMMAND if alarm is None else TopicKind.ALARM_COMMAND
    principal = sender_of(topic)
    try:
        command = decode_as(kind, topic, payload)
    except ContractError as exc:
        reason = exc.problem
        ack(
            salvage_id(payload),
            channel,
            verb,
            None,
            AckResult.REJECTED,
            reason,
            principal=principal,
            alarm=alarm,
        )
        return None
    assert isinstance(command, Command) and principal is not None
    return command if ack.admit(command, channel, verb, alarm, principal) else None


def handle_alarm_command(topic: str, payload: bytes, alarms: DeviceAlarms, ack: Acknowledger) -> None:
    """``.../alarm/<alarm>/cmd/<verb>/<sender>``: acknowledge (``user`` required), answered with one
    ack; the alarm records the person claimed and the login it came through."""
    info = topics.parse(topic)
    assert info is not None and info.alarm is not None and info.verb is not None and info.sender is not None
    alarm, verb, principal = info.alarm, info.verb, info.sender
    command = decode_command(topic, payload, "alarm", verb, ack, alarm=alarm)
    if command is None:
        return
    reason: str | None = None
    if verb != AlarmVerb.ACKNOWLEDGE:
        reason = f"unknown verb '{verb}' for alarms; accepted: {', '.join(v.value for v in AlarmVerb)}"
    if reason is None and command.value is not None:
        reason = f"{verb} takes no value"
    if reason is None:
        reason = alarms.acknowledge(alarm, command.user, principal)
    result = AckResult.ACCEPTED if reason is None else AckResult.REJECTED
    ack(
        command.id,
        "alarm",
        verb,
        command.value,
        result,
        reason,
        command.user,
        principal=principal,
        alarm=alarm,
    )
