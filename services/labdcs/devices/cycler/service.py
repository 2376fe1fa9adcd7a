"""The battery-station device service: runs test protocols on cycler channels over the MQTT contract.

Same contract and conventions as :mod:`labdcs.devices.service` (retained meta/online/state, one ack
per command, alarms, last will), plus a ``stats`` message at the end of every step and cycle. One
worker thread owns the driver and every channel; paho's thread only queues commands.

Every sample period (simulated time, :mod:`labdcs.clock`), for each channel: read the instrument,
check the safety envelope (cell ∩ station ∩ instrument ∩ protocol safety; leaving it aborts the
run, switches the output off and raises an alarm, whatever the protocol does), run the protocol
engine one sample, program the source when the engine's setpoint changed, publish the state when
it is due (record period, a change of V or I beyond the record deltas, a step or run-state change)
and the statistics of every finished step and cycle.

With a :class:`~labdcs.clock.SteppedClock` (``speed: max``) nothing sleeps while a run is active:
simulated time advances by one sample period per loop, and the service waits for the broker's
acknowledgement every ``BACKPRESSURE_EVERY`` messages so the outgoing queue never overflows.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import secrets
import threading
import time

from labdcs import __version__
from labdcs.clock import Clock, SteppedClock
from labdcs.contract import topics
from labdcs.contract.codec import ContractError, decode_as, encode
from labdcs.contract.models import (
    Ack,
    AckResult,
    ChannelKind,
    ChannelMeta,
    Command,
    CommandMeta,
    CyclerRunState,
    DeviceMeta,
    InstrumentIdentity,
    Online,
    Severity,
    Verb,
    now_ms,
)
from labdcs.contract.topics import TopicKind
from labdcs.devices.alarms import DeviceAlarms
from labdcs.devices.cycler.channel import QUANTITIES, CyclerChannel, Outcome, Rejected
from labdcs.devices.cycler.config import CyclerConfig
from labdcs.drivers.base import BidirectionalSourceDriver, Identity, InstrumentError
from labdcs.mqtt import MqttConnection, Will
from labdcs.participant import salvage_id

log = logging.getLogger(__name__)

INSTRUMENT_ALARM = "instrument"
BACKPRESSURE_EVERY = 200
CYCLER_VERBS = (Verb.LOAD_PROTOCOL, Verb.START, Verb.PAUSE, Verb.RESUME, Verb.STOP)


__all__ = ["CyclerChannel", "CyclerService", "Outcome", "Rejected", "safety_alarm"]


def safety_alarm(channel_id: str) -> str:
    return f"{channel_id}-safety"


class CyclerService:
    """Runs one battery station until :meth:`stop`."""

    def __init__(self, config: CyclerConfig, driver: BidirectionalSourceDriver, clock: Clock) -> None:
        self.config = config
        self.driver = driver
        self.clock = clock
        self.device = config.device
        self.boot = secrets.token_hex(6)
        self.started = now_ms()
        self.seq = 0
        self.identity: Identity | None = None
        self.instrument_ok = False
        self.fault: str | None = None
        self._retry_delay = 1.0
        self._next_retry = 0.0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._commands: queue.Queue[tuple[str, bytes]] = queue.Queue(maxsize=1000)
        self.channels = {c.id: CyclerChannel(c, driver, clock, self.boot) for c in config.channels}
        self._last_record = dict.fromkeys(self.channels, -math.inf)
        self._sent = 0
        will = Online(online=False, boot=self.boot, reason="connection lost")
        self.connection = MqttConnection(
            config.mqtt,
            client_id=f"labdcs-device-{self.device}",
            will=Will(topics.online(self.device), encode(will), qos=1, retain=True),
        )
        self.alarms = DeviceAlarms(self.connection, self.device)
        self.connection.add_on_connect(self._on_connect)
        self.connection.subscribe(topics.commands_of(self.device), self._enqueue_command, qos=1)

    # --- meta -------------------------------------------------------------------------------------

    def _meta(self) -> DeviceMeta:
        commands = [
            CommandMeta(verb=Verb.LOAD_PROTOCOL, value="none", description="`protocol`: document or text"),
            CommandMeta(
                verb=Verb.START, value="none", description="start the loaded protocol (`experiment`: id)"
            ),
            CommandMeta(verb=Verb.PAUSE, value="none", description="output off, counters kept"),
            CommandMeta(verb=Verb.RESUME, value="none", description="continue the paused step"),
            CommandMeta(verb=Verb.STOP, value="none", description="end the run, output off"),
        ]
        identity = None
        if self.identity is not None:
            i = self.identity
            identity = InstrumentIdentity(
                manufacturer=i.manufacturer, model=i.model, serial=i.serial, firmware=i.firmware
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
            channels=[
                ChannelMeta(
                    id=channel.id,
                    label=channel.config.label,
                    kind=ChannelKind.CYCLER,
                    quantities=QUANTITIES,
                    commands=commands,
                    cycler_limits=channel.meta_limits(),
                )
                for channel in self.channels.values()
            ],
        )

    def _on_connect(self) -> None:
        self.connection.publish(topics.meta(self.device), encode(self._meta()), qos=1, retain=True)
        online = Online(online=True, boot=self.boot, ts=now_ms())
        self.connection.publish(topics.online(self.device), encode(online), qos=1, retain=True)
        self.alarms.republish()

    def _enqueue_command(self, topic: str, payload: bytes, retained: bool) -> None:
        if retained:
            log.warning("ignoring retained message on command topic %s", topic)
            return
        try:
            self._commands.put_nowait((topic, payload))
        except queue.Full:
            info = topics.parse(topic)
            self._ack(
                salvage_id(payload),
                info.channel if info and info.channel else "?",
                "?",
                AckResult.REJECTED,
                "device busy",
            )
        self._wake.set()

    # --- loop -------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def run(self) -> None:
        log.info(
            "station %s (%s, driver %s, speed %g) starting",
            self.device,
            self.config.model,
            self.config.driver.name,
            self.clock.speed,
        )
        self.connection.start()
        self._connect_instrument()
        try:
            while not self._stop.is_set():
                self._wait()
                self._handle_commands()
                self._tick()
            self._shutdown()
        finally:
            self.connection.stop()
            self.driver.close()
            log.info("station %s stopped", self.device)

    def _running(self) -> bool:
        return any(c.run_state is CyclerRunState.RUNNING for c in self.channels.values())

    def _wait(self) -> None:
        period = self.config.sample_period if self._running() else self.config.publish_period
        for channel in self.channels.values():
            if channel.engine is not None:
                period = channel.engine.period_hint(period)
        if isinstance(self.clock, SteppedClock) and not self._running():
            # Nothing runs: do not spin; let the idle cell relax in (scaled-down) simulated time.
            started = time.monotonic()
            woken = self._wake.wait(min(period, 0.2))
            self.clock.advance(time.monotonic() - started)
        else:
            woken = self.clock.wait(period, self._wake)
        if woken:
            self._wake.clear()

    def _tick(self) -> None:
        if self.config.health_file is not None:
            with contextlib.suppress(OSError):
                self.config.health_file.touch()
        if not self.instrument_ok:
            if time.monotonic() >= self._next_retry:
                self._connect_instrument()
            if not self.instrument_ok:
                for channel in self.channels.values():
                    self._publish_state(channel)
                return
        now = self.clock.monotonic()
        try:
            for channel in self.channels.values():
                active = channel.run_state in (CyclerRunState.RUNNING, CyclerRunState.PAUSED)
                period = channel.record_period() if active else self.config.publish_period
                due = now - self._last_record[channel.id] >= period - 1e-9
                outcome = channel.sample(due)
                if outcome.alarm is not None:
                    self.alarms.raise_alarm(
                        safety_alarm(channel.id), Severity.CRITICAL, outcome.alarm, channel.id
                    )
                if outcome.publish:
                    self._last_record[channel.id] = now
                    self._publish_state(channel)
                for stats in outcome.stats:
                    self._publish(topics.stats(self.device, channel.id), encode(stats), retain=False)
        except InstrumentError as exc:
            self._enter_fault(str(exc))

    def _publish(self, topic: str, payload: bytes, retain: bool) -> None:
        self._sent += 1
        if isinstance(self.clock, SteppedClock) and self._sent % BACKPRESSURE_EVERY == 0:
            # As fast as possible: wait for the broker now and then instead of overflowing the queue.
            self.connection.publish_and_wait(topic, payload, qos=1, retain=retain, timeout=30.0)
        else:
            self.connection.publish(topic, payload, qos=1, retain=retain)

    def _publish_state(self, channel: CyclerChannel) -> None:
        fault = None if self.instrument_ok else self.fault
        state = channel.state(self.seq, self.boot, fault)
        self.seq += 1
        self._publish(topics.state(self.device, channel.id), encode(state), retain=True)

    # --- instrument -------------------------------------------------------------------------------

    def _connect_instrument(self) -> None:
        try:
            self.driver.open()
            self.identity = self.driver.identify()
            for channel in self.channels.values():
                channel.ratings = self.driver.ratings(channel.hw)
                channel.read()
        except InstrumentError as exc:
            self._enter_fault(str(exc))
            return
        log.info("%s: instrument %s %s ready", self.device, self.identity.manufacturer, self.identity.model)
        self.instrument_ok = True
        self.fault = None
        self._retry_delay = 1.0
        self.alarms.clear(INSTRUMENT_ALARM)
        self.connection.publish(topics.meta(self.device), encode(self._meta()), qos=1, retain=True)

    def _enter_fault(self, reason: str) -> None:
        first = self.instrument_ok or self.fault is None
        self.instrument_ok = False
        self.fault = reason
        if first:
            log.error("%s: instrument not answering: %s", self.device, reason)
        self.alarms.raise_alarm(INSTRUMENT_ALARM, Severity.ERROR, f"instrument not answering: {reason}")
        for channel in self.channels.values():
            if channel.engine is not None and channel.engine.active:
                # The run cannot be supervised: end it. Output off is attempted after reconnecting.
                channel.engine.abort(channel.last, f"instrument error: {reason}", CyclerRunState.ERROR)
                channel.run_state = CyclerRunState.ERROR
                channel.end_reason = f"instrument error: {reason}"
                for stats in channel._take_stats():
                    self._publish(topics.stats(self.device, channel.id), encode(stats), retain=False)
        self.driver.close()
        self._next_retry = time.monotonic() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self.config.reconnect_max_s)

    # --- commands ---------------------------------------------------------------------------------

    def _handle_commands(self) -> None:
        while True:
            try:
                topic, payload = self._commands.get_nowait()
            except queue.Empty:
                return
            self._handle_command(topic, payload)

    def _handle_command(self, topic: str, payload: bytes) -> None:
        info = topics.parse(topic)
        if info is None or info.kind is not TopicKind.COMMAND or info.channel is None or info.verb is None:
            return
        channel_id, verb = info.channel, info.verb
        try:
            command = decode_as(TopicKind.COMMAND, topic, payload)
        except ContractError as exc:
            self._ack(salvage_id(payload), channel_id, verb, AckResult.REJECTED, exc.problem)
            return
        assert isinstance(command, Command)
        try:
            self._execute(command, channel_id, verb)
        except Rejected as exc:
            self._ack(command.id, channel_id, verb, AckResult.REJECTED, str(exc), command.user)
        except InstrumentError as exc:
            self._ack(command.id, channel_id, verb, AckResult.FAILED, str(exc), command.user)
            self._enter_fault(str(exc))
        else:
            self._ack(command.id, channel_id, verb, AckResult.ACCEPTED, None, command.user)

    def _execute(self, command: Command, channel_id: str, verb: str) -> None:
        if command.ts is not None:
            age = (now_ms() - command.ts) / 1000.0
            if age > self.config.max_command_age_s:
                raise Rejected(
                    f"command expired: sent {age:.1f} s ago, max age {self.config.max_command_age_s:g} s"
                )
        channel = self.channels.get(channel_id)
        if channel is None:
            raise Rejected(f"unknown channel '{channel_id}'; this device has: {', '.join(self.channels)}")
        if verb not in CYCLER_VERBS:
            raise Rejected(f"unknown verb '{verb}'; a cycler channel accepts: {', '.join(CYCLER_VERBS)}")
        if verb != Verb.LOAD_PROTOCOL and command.protocol is not None:
            raise Rejected(f"'{verb}' takes no protocol; send it with load_protocol")
        if verb == Verb.LOAD_PROTOCOL:
            if command.protocol is None:
                raise Rejected("load_protocol needs 'protocol': a protocol document or its text form")
            channel.load(command.protocol, command.experiment)
        elif not self.instrument_ok and verb in (Verb.START, Verb.RESUME):
            raise Rejected(f"device offline: instrument not answering ({self.fault})")
        elif verb == Verb.START:
            channel.start(command.experiment)
            self.alarms.clear(safety_alarm(channel.id))
            self._last_record[channel.id] = -math.inf
        elif verb == Verb.PAUSE:
            channel.pause()
        elif verb == Verb.RESUME:
            channel.resume()
        else:
            if channel.run_state not in (CyclerRunState.RUNNING, CyclerRunState.PAUSED):
                raise Rejected(f"nothing to stop: the channel is {channel.run_state.value}")
            for stats in channel.stop(f"stopped by {command.user or 'an operator'}"):
                self._publish(topics.stats(self.device, channel.id), encode(stats), retain=False)
        self._publish_state(channel)

    def _ack(
        self,
        command_id: str | None,
        channel: str,
        verb: str,
        result: AckResult,
        reason: str | None,
        user: str | None = None,
    ) -> None:
        ack = Ack(
            id=command_id,
            device=self.device,
            channel=channel,
            verb=verb,
            result=result,
            reason=reason,
            ts=now_ms(),
        )
        level = logging.INFO if result is AckResult.ACCEPTED else logging.WARNING
        log.log(
            level,
            "command id=%s %s/%s %s user=%s -> %s%s",
            command_id,
            self.device,
            channel,
            verb,
            user,
            result.value,
            f" ({reason})" if reason else "",
        )
        self.connection.publish(topics.ack(self.device), encode(ack), qos=1, retain=False)

    # --- exit -------------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        """A run without supervision is not safe: switch every active channel off."""
        for channel in self.channels.values():
            if channel.run_state in (CyclerRunState.RUNNING, CyclerRunState.PAUSED) and self.instrument_ok:
                try:
                    for stats in channel.stop("device service stopped"):
                        self._publish(topics.stats(self.device, channel.id), encode(stats), retain=False)
                    self._publish_state(channel)
                except InstrumentError as exc:
                    log.error("%s/%s: cannot switch off on exit: %s", self.device, channel.id, exc)
        offline = Online(online=False, boot=self.boot, ts=now_ms(), reason="service stopped")
        self.connection.publish_and_wait(topics.online(self.device), encode(offline), qos=1, retain=True)
