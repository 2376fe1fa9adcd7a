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
from dataclasses import dataclass

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
    CyclerChannelState,
    CyclerLimits,
    CyclerRunState,
    CyclerStats,
    DeviceKind,
    DeviceMeta,
    InstrumentIdentity,
    Online,
    QuantityMeta,
    Severity,
    Verb,
    now_ms,
)
from labdcs.contract.topics import TopicKind
from labdcs.devices.alarms import DeviceAlarms
from labdcs.devices.cycler.config import CyclerChannelConfig, CyclerConfig
from labdcs.devices.cycler.engine import Engine, Safety, Sample
from labdcs.drivers.base import BidirectionalSourceDriver, Identity, InstrumentError, SourceRatings
from labdcs.mqtt import MqttConnection, Will
from labdcs.participant import salvage_id
from labdcs.protocols import Envelope, Protocol, ProtocolError, Report, describe, load, validate

log = logging.getLogger(__name__)

INSTRUMENT_ALARM = "instrument"
BACKPRESSURE_EVERY = 200
CYCLER_VERBS = (Verb.LOAD_PROTOCOL, Verb.START, Verb.PAUSE, Verb.RESUME, Verb.STOP)

_QUANTITIES = [
    QuantityMeta(name="voltage", unit="V", description="cell voltage"),
    QuantityMeta(name="current", unit="A", description="+ charge, - discharge"),
    QuantityMeta(name="power", unit="W", description="+ charge, - discharge"),
    QuantityMeta(name="temperature", unit="degC", description="cell temperature"),
    QuantityMeta(name="charge_capacity", unit="Ah", description="charged in the run"),
    QuantityMeta(name="discharge_capacity", unit="Ah", description="discharged in the run"),
    QuantityMeta(name="charge_energy", unit="Wh", description="charged in the run"),
    QuantityMeta(name="discharge_energy", unit="Wh", description="discharged in the run"),
    QuantityMeta(name="cycle_index", unit="", description="cycles started in the run"),
    QuantityMeta(name="step_index", unit="", description="position of the running step"),
    QuantityMeta(name="run_state", unit="", type="string", description="idle, running, paused, ..."),
]


class Rejected(Exception):
    """A command that is not carried out; the message is the ack's reason."""


def safety_alarm(channel_id: str) -> str:
    return f"{channel_id}-safety"


@dataclass
class Outcome:
    """What one sample of a channel produced, for the service to publish."""

    stats: list[CyclerStats]
    publish: bool
    alarm: str | None = None


class CyclerChannel:
    """One channel: its limits, the loaded protocol and the engine running it; no MQTT here."""

    def __init__(
        self, config: CyclerChannelConfig, driver: BidirectionalSourceDriver, clock: Clock, boot: str
    ):
        self.config = config
        self.id = config.id
        self.hw = config.hw
        self.driver = driver
        self.clock = clock
        self.boot = boot
        self.ratings: SourceRatings | None = None
        self.protocol: Protocol | None = None
        self.report: Report | None = None
        self.experiment: str | None = None
        self.engine: Engine | None = None
        self.safety: Safety | None = None
        self.last: Sample | None = None
        self.published: Sample | None = None
        self._last_ts = 0
        self.applied_version = -1
        self.run_state = CyclerRunState.IDLE
        self.end_reason: str | None = None
        self.output_lost = 0

    # --- limits -------------------------------------------------------------------------------

    def station_envelope(self) -> Envelope:
        """The station: the instrument's ratings, tightened by the configured wiring limits."""
        station = self.config.station
        r = self.ratings

        def tight(a: float | None, b: float | None, lowest: bool = True) -> float | None:
            values = [v for v in (a, b) if v is not None]
            if not values:
                return None
            return min(values) if lowest else max(values)

        return Envelope(
            v_min=tight(station.v_min, r.min_voltage if r else None, lowest=False),
            v_max=tight(station.v_max, r.max_voltage if r else None),
            i_max=tight(station.i_charge_max, r.max_charge_current if r else None),
            i_min=-x
            if (x := tight(station.i_discharge_max, r.max_discharge_current if r else None))
            else None,
            p_max=tight(station.p_max, r.max_power if r else None),
        )

    def check(self, protocol: Protocol) -> Report:
        cell = self.config.cell
        return validate(
            protocol, cell=cell.envelope(), station=self.station_envelope(), capacity_ah=cell.capacity_ah
        )

    def meta_limits(self) -> CyclerLimits:
        cell = self.config.cell
        limits = validate(_EMPTY, cell=cell.envelope(), station=self.station_envelope()).limits
        return CyclerLimits(
            v_min=limits.v_min if limits.v_min is not None else cell.v_min,
            v_max=limits.v_max if limits.v_max is not None else cell.v_max,
            i_min=limits.i_min if limits.i_min is not None else -cell.i_discharge_max,
            i_max=limits.i_max if limits.i_max is not None else cell.i_charge_max,
            t_max=limits.t_max_c,
            capacity=cell.capacity_ah,
        )

    # --- commands -----------------------------------------------------------------------------

    def load(self, document: object, experiment: str | None) -> Report:
        if self.run_state in (CyclerRunState.RUNNING, CyclerRunState.PAUSED):
            raise Rejected(f"a run is {self.run_state.value}: stop it before loading another protocol")
        try:
            protocol = load(document)
        except ProtocolError as exc:
            raise Rejected("invalid protocol: " + "; ".join(exc.problems[:10])) from None
        report = self.check(protocol)
        if not report.ok:
            raise Rejected("protocol refused: " + "; ".join(str(p) for p in report.errors[:10]))
        self.protocol, self.report = protocol, report
        self.experiment = experiment
        self.run_state = CyclerRunState.IDLE
        self.end_reason = None
        log.info("%s: loaded protocol %s v%d\n%s", self.id, protocol.name, protocol.version, describe(report))
        return report

    def start(self, experiment: str | None) -> None:
        if self.protocol is None or self.report is None:
            raise Rejected("no protocol loaded: send load_protocol first")
        if self.run_state in (CyclerRunState.RUNNING, CyclerRunState.PAUSED):
            raise Rejected(f"a run is already {self.run_state.value}")
        sample = self.read()
        self.experiment = (
            experiment or self.experiment or f"exp-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        )
        cell = self.config.cell
        self.engine = Engine(self.protocol, self.report.limits, cell.capacity_ah, self.boot)
        self.safety = Safety(
            self.report.limits, self.protocol.safety.capacity_max_ah, self.config.safety_margin_v
        )
        reason = self.safety.check(sample, 0.0)
        if reason is not None:
            self.engine = None
            raise Rejected(f"cannot start outside the safety limits: {reason}")
        self.engine.start(sample)
        self.applied_version = -1
        self.output_lost = 0
        self.run_state = self.engine.run_state
        self.end_reason = None
        self.apply()

    def pause(self) -> None:
        if self.engine is None or self.run_state is not CyclerRunState.RUNNING:
            raise Rejected(f"nothing to pause: the channel is {self.run_state.value}")
        self.engine.pause()
        self.run_state = self.engine.run_state
        self.apply()

    def resume(self) -> None:
        if self.engine is None or self.run_state is not CyclerRunState.PAUSED:
            raise Rejected(f"nothing to resume: the channel is {self.run_state.value}")
        self.engine.resume()
        self.output_lost = 0
        self.run_state = self.engine.run_state
        self.apply()

    def stop(self, reason: str, state: CyclerRunState = CyclerRunState.ABORTED) -> list[CyclerStats]:
        """End the run: output off first, then the statistics; returns them for publication."""
        try:
            self.driver.set_output(self.hw, False)
            self.read()  # the state shows what the instrument does now: output off
        finally:
            stats: list[CyclerStats] = []
            if self.engine is not None and self.engine.active:
                self.engine.abort(self.last, reason, state)
                stats = self._take_stats()
                self.run_state = self.engine.run_state
                self.end_reason = reason
        return stats

    # --- the sample -----------------------------------------------------------------------------

    def read(self) -> Sample:
        reading = self.driver.read(self.hw)
        sample = Sample(
            t=self.clock.monotonic(),
            ts_ms=self.clock.time_ms(),
            voltage=reading.voltage,
            current=reading.current,
            power=reading.power,
            temperature=reading.temperature,
            mode=reading.mode,
            output_on=reading.output_on,
        )
        self.last = sample
        return sample

    def apply(self) -> None:
        """Program the source when the engine's setpoint changed."""
        engine = self.engine
        if engine is None or engine.setpoint_version == self.applied_version:
            return
        if engine.setpoint is None:
            self.driver.set_output(self.hw, False)
        else:
            self.driver.program(self.hw, engine.setpoint)
            if self.last is None or not self.last.output_on:
                self.driver.set_output(self.hw, True)
        self.applied_version = engine.setpoint_version

    def _take_stats(self) -> list[CyclerStats]:
        if self.engine is None:
            return []
        stats = [s.model_copy(update={"experiment": self.experiment}) for s in self.engine.published]
        self.engine.published.clear()
        return stats

    def sample(self, record_due: bool) -> Outcome:
        before = (self.run_state, self.engine.step_index if self.engine else 0)
        sample = self.read()
        engine = self.engine
        alarm = None
        if engine is not None and engine.active and self.safety is not None:
            reason = self.safety.check(sample, engine.step_ah)
            if (
                reason is None
                and engine.setpoint is not None
                and self.applied_version == engine.setpoint_version
            ):
                self.output_lost = 0 if sample.output_on else self.output_lost + 1
                if self.output_lost >= 2:
                    reason = "the instrument switched the output off (interlock or front panel)"
            if reason is not None:
                engine.on_sample(sample)
                stats = self.stop(f"safety: {reason}")
                return Outcome(stats, True, alarm=reason)
            engine.on_sample(sample)
            self.run_state = engine.run_state
            if not engine.active:
                self.end_reason = engine.end_reason
            self.apply()
        stats = self._take_stats()
        changed = before != (self.run_state, self.engine.step_index if self.engine else 0)
        return Outcome(stats, record_due or changed or bool(stats) or self._moved(sample), alarm)

    def _moved(self, sample: Sample) -> bool:
        record = self.protocol.record if self.protocol is not None else None
        last = self.published
        if record is None or last is None:
            return False
        if record.delta_v is not None and abs(sample.voltage - last.voltage) >= record.delta_v:
            return True
        return record.delta_i is not None and abs(sample.current - last.current) >= record.delta_i

    def record_period(self) -> float:
        engine = self.engine
        if self.protocol is None:
            return math.inf
        step = engine.step if engine is not None else None
        period = step.record_period_s if step is not None else None
        return period or self.protocol.record.period_s

    def state(self, seq: int, boot: str, fault: str | None) -> CyclerChannelState:
        engine = self.engine
        sample = None if fault else self.last
        self.published = sample or self.published
        step = engine.step if engine is not None else None
        running = engine is not None and engine.run_state is not CyclerRunState.IDLE
        # Strictly increasing per channel (the contract's rule), in the clock's own time.
        self._last_ts = max(self.clock.time_ms(), self._last_ts + 1)
        return CyclerChannelState(
            ts=self._last_ts,
            device_kind=DeviceKind.CYCLER,
            seq=seq,
            boot=boot,
            fault=fault,
            run_state=self.run_state,
            output=bool(sample and sample.output_on),
            mode=sample.mode.value if sample else None,
            voltage=sample.voltage if sample else None,
            current=sample.current if sample else None,
            power=sample.power if sample else None,
            temperature=sample.temperature if sample else None,
            experiment=self.experiment,
            protocol=f"{self.protocol.name} v{self.protocol.version}" if self.protocol else None,
            step_index=engine.step_index if engine else 0,
            step_id=step.id if step else None,
            step_type=step.type if step else None,
            cycle_index=engine.cycle_index if engine else 0,
            test_time=(self.clock.monotonic() - engine.start_t) if engine and running else 0.0,
            step_time=engine.step_time if engine and step else 0.0,
            charge_capacity=engine.charge_ah if engine else 0.0,
            discharge_capacity=engine.discharge_ah if engine else 0.0,
            charge_energy=engine.charge_wh if engine else 0.0,
            discharge_energy=engine.discharge_wh if engine else 0.0,
            step_end_reason=self.end_reason or (engine.end_reason if engine else None),
        )


_EMPTY = Protocol.model_validate({"name": "limits", "steps": [{"type": "rest", "until": []}]})


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
                    quantities=_QUANTITIES,
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
