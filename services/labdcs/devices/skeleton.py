"""What every device service shares (power supplies and sensors, battery stations), written once.

* One MQTT connection with the retained last will ``online: false``; after every (re)connect the
  retained meta, ``online: true`` and the alarms (:func:`labdcs.participant.announce`); ``online:
  false`` on a clean exit.
* Command intake: paho's network thread only queues (a retained command is never acted on; a full
  queue is answered ``device busy``); the worker decodes (a malformed command is rejected under the
  id that can be salvaged), answers alarm commands (acknowledge) itself and hands channel commands
  to the service. Every command gets exactly one ack, written to the audit log; an expired command is
  refused and a repeated id answered with its first ack (:class:`labdcs.participant.Acknowledger`).
* The instrument's availability: ready (meta with its identity, alarm cleared) or not answering
  (fault, alarm, a retry after a delay that doubles up to ``reconnect_max_s``).
* The device meta around the channels the service describes.

Subclasses own the driver, the channels and the worker loop; they pass their module's logger so
every line of a service keeps its logger name.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from abc import ABC, abstractmethod
from typing import Generic, TypeVar

from labdcs import __version__
from labdcs.contract import topics
from labdcs.contract.codec import encode
from labdcs.contract.limits import MAX_LABEL_LENGTH
from labdcs.contract.models import (
    AckResult,
    ChannelMeta,
    Command,
    DeviceMeta,
    InstrumentIdentity,
    Online,
    Severity,
    now_ms,
)
from labdcs.contract.topics import TopicKind
from labdcs.devices.alarms import DeviceAlarms
from labdcs.devices.config import DeviceConfig
from labdcs.devices.cycler.config import CyclerConfig
from labdcs.drivers.base import Identity
from labdcs.mqtt import owned_id
from labdcs.participant import (
    Acknowledger,
    Inbound,
    announce,
    connect,
    decode_command,
    handle_alarm_command,
    salvage_id,
)

INSTRUMENT_ALARM = "instrument"


#: DeviceConfig and CyclerConfig share what the skeleton reads (device, kind, model, mqtt, ...).
ConfigT = TypeVar("ConfigT", bound="DeviceConfig | CyclerConfig")


class DeviceSkeleton(ABC, Generic[ConfigT]):
    """The contract side of one device service; see the module docstring."""

    def __init__(self, config: ConfigT, logger: logging.Logger) -> None:
        self.config = config
        self.device = config.device
        self.log = logger
        self.boot = secrets.token_hex(6)
        self.started = now_ms()
        self.identity: Identity | None = None
        self.instrument_ok = False
        self.fault: str | None = None
        self._retry_delay = 1.0
        self._next_retry = 0.0
        self._stop = threading.Event()
        self._inbox: queue.Queue[Inbound] = queue.Queue(maxsize=1000)
        #: The retained meta: the subclass encodes it once its channels exist (:meth:`_meta`), and
        #: :meth:`_instrument_ready` again; paho's thread publishes it at every (re)connect.
        self._meta_payload = b""
        self.connection = connect(
            config.mqtt, owned_id(config.mqtt, f"device-{self.device}"), self.device, self.boot
        )
        self._ack = Acknowledger(self.connection, self.device, config.max_command_age_s, logger)
        self.alarms = DeviceAlarms(self.connection, self.device)
        self.connection.add_on_connect(self._on_connect)
        self.connection.subscribe(topics.commands_of(self.device), self._enqueue_command, qos=1)
        self.connection.subscribe(topics.alarm_commands_of(self.device), self._enqueue_command, qos=1)

    # --- what a service adds ----------------------------------------------------------------------

    @abstractmethod
    def _channel_metas(self) -> list[ChannelMeta]:
        """The channels as the meta describes them (limits, quantities, accepted commands)."""

    @abstractmethod
    def _execute(self, command: Command, channel_id: str, verb: str) -> None:
        """Carry out a decoded channel command and answer it (exactly once) with :meth:`_answer`."""

    def _wake_worker(self) -> None:
        """A command is queued: a worker that sleeps on something else than the inbox wakes here."""

    # --- meta -------------------------------------------------------------------------------------

    def _meta(self) -> DeviceMeta:
        identity = None
        if self.identity is not None:
            # What the instrument answers is cut to the contract's bound, so the meta stays in budget.
            cut = MAX_LABEL_LENGTH
            identity = InstrumentIdentity(
                manufacturer=self.identity.manufacturer[:cut],
                model=self.identity.model[:cut],
                serial=self.identity.serial[:cut],
                firmware=self.identity.firmware[:cut],
            )
        return DeviceMeta(
            device=self.device,
            kind=self.config.kind,
            description=self.config.description,
            model=self.config.model,
            driver=self.config.driver.name,
            identity=identity,
            software=__version__,
            boot=self.boot,
            started=self.started,
            publish_period=self.config.publish_period,
            channels=self._channel_metas(),
        )

    def _publish_meta(self) -> None:
        self._meta_payload = encode(self._meta())
        self.connection.publish(topics.meta(self.device), self._meta_payload, qos=1, retain=True)

    # --- network thread ---------------------------------------------------------------------------

    def _on_connect(self) -> None:
        announce(self.connection, self.device, self.boot, self._meta_payload, self.alarms)

    def _enqueue_command(self, topic: str, payload: bytes, retained: bool) -> None:
        if retained:
            # A retained command is a stale leftover someone published by mistake: never act on it.
            self.log.warning("ignoring retained message on command topic %s", topic)
            return
        try:
            self._inbox.put_nowait(Inbound(topic, payload, retained, time.monotonic()))
        except queue.Full:
            info = topics.parse(topic)
            alarm = info.alarm if info else None
            channel = "alarm" if alarm else info.channel if info and info.channel else "?"
            verb = info.verb if info and info.verb else "?"
            reason = "device busy: too many commands waiting"
            principal = info.sender if info else None
            self._ack(
                salvage_id(payload),
                channel,
                verb,
                None,
                AckResult.REJECTED,
                reason,
                principal=principal,
                alarm=alarm,
            )
        self._wake_worker()

    # --- worker thread: commands ------------------------------------------------------------------

    def _next_message(self, timeout: float) -> Inbound | None:
        """The next queued message, waiting up to ``timeout`` s for one."""
        try:
            return self._inbox.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def _handle_command_message(self, message: Inbound) -> None:
        """An alarm command is answered here; a channel command is decoded and handed to _execute."""
        info = topics.parse(message.topic)
        if info is not None and info.kind is TopicKind.ALARM_COMMAND:
            handle_alarm_command(message.topic, message.payload, self.alarms, self._ack)
            return
        if info is None or info.kind is not TopicKind.COMMAND or info.channel is None or info.verb is None:
            self.log.warning("ignoring message on %s: not a command topic", message.topic)
            return
        command = decode_command(message.topic, message.payload, info.channel, info.verb, self._ack)
        if command is not None:
            self._execute(command, info.channel, info.verb)

    def _answer(
        self, command: Command, channel_id: str, verb: str, result: AckResult, reason: str | None = None
    ) -> None:
        """The one ack of a decoded command."""
        self._ack(command.id, channel_id, verb, command.value, result, reason, command.user)

    # --- the instrument's availability ------------------------------------------------------------

    def _retry_due(self, now: float) -> bool:
        """The instrument is not answering and the next attempt to reconnect is due."""
        return not self.instrument_ok and now >= self._next_retry

    def _instrument_ready(self) -> None:
        """Connected and identified: meta with the identity, the fault and its alarm gone."""
        assert self.identity is not None
        self.log.info(
            "%s: instrument %s %s (serial %s, firmware %s) ready",
            self.device,
            self.identity.manufacturer,
            self.identity.model,
            self.identity.serial,
            self.identity.firmware,
        )
        self.instrument_ok = True
        self.fault = None
        self._retry_delay = 1.0
        self.alarms.clear(INSTRUMENT_ALARM)
        self._publish_meta()

    def _instrument_lost(self, reason: str) -> None:
        """Not answering: a fault, an alarm, and the next attempt after a growing delay."""
        first = self.instrument_ok or self.fault is None
        self.instrument_ok = False
        self.fault = reason
        if first:
            self.log.error("%s: instrument not answering: %s", self.device, reason)
        self.alarms.raise_alarm(INSTRUMENT_ALARM, Severity.ERROR, f"instrument not answering: {reason}")
        self._next_retry = time.monotonic() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self.config.reconnect_max_s)

    # --- exit ---------------------------------------------------------------------------------------

    def _publish_offline(self) -> None:
        """``online: false`` for a clean exit, sent before the connection closes."""
        offline = Online(online=False, boot=self.boot, ts=now_ms(), reason="service stopped")
        self.connection.publish_and_wait(topics.online(self.device), encode(offline), qos=1, retain=True)
