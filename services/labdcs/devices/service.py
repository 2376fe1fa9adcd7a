"""The device service: one process per instrument, between its driver and the MQTT contract.

A single worker thread owns the driver and all channel state; paho's network thread only queues
incoming commands. The worker loop publishes state every period and on change, walks ramps one
step per tick, answers every command exactly once, and survives a broker restart (paho queues QoS 1
messages, subscriptions are renewed on reconnect) and an instrument that stops answering (fault
state, alarm, reconnection with backoff; outputs are never switched on by a (re)connect).

Safety (see ``docs/safety.md``): readings above a channel's trip levels switch it off and latch a
trip that only ``clear_trip`` removes (restored from the broker's retained state after a restart);
with an ``interlock:`` section the service follows the interlock's rules (refuses ``on`` and raises,
holds channels down, orders ``off`` after the channels a rule names) and puts its outputs in the
safe state when the interlock's heartbeat is missing (:mod:`labdcs.devices.safety`).
"""

from __future__ import annotations

import logging
import math
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field

from labdcs import __version__
from labdcs.clock import ClockJumpDetector
from labdcs.contract import topics
from labdcs.contract.codec import ContractError, decode, decode_as, encode
from labdcs.contract.models import (
    AckResult,
    Alarm,
    ChannelKind,
    ChannelMeta,
    Command,
    CommandMeta,
    DeviceMeta,
    Heartbeat,
    InstrumentIdentity,
    Online,
    PowerChannelState,
    PowerLimits,
    PowerStatus,
    QuantityMeta,
    RuleAction,
    RuleState,
    SensorChannelState,
    SensorStatus,
    Severity,
    Verb,
    now_ms,
)
from labdcs.contract.topics import TopicKind
from labdcs.devices.alarms import DeviceAlarms
from labdcs.devices.config import ChannelConfig, DeviceConfig
from labdcs.devices.power import CommandRejected, PowerChannel
from labdcs.devices.safety import InterlockLink
from labdcs.drivers.base import (
    Driver,
    Identity,
    InstrumentError,
    OutputLimits,
    PowerSupplyDriver,
    Quantity,
    SensorDriver,
    SensorReading,
)
from labdcs.participant import (
    Acknowledger,
    Inbound,
    announce,
    connect,
    expiry_problem,
    handle_alarm_command,
    salvage_id,
    touch_health,
)

log = logging.getLogger(__name__)

INSTRUMENT_ALARM = "instrument"
CLOCK_JUMP_ALARM = "clock_jump"
LIMITS_ALARM = "limits"
WATCHDOG_ALARM = "watchdog"


def trip_alarm(channel: str) -> str:
    return f"{channel}-trip"


def order_alarm(channel: str) -> str:
    return f"{channel}-order"


_POWER_QUANTITIES = [
    QuantityMeta(name="v_set", unit="V", description="programmed setpoint (walks during a ramp)"),
    QuantityMeta(name="v_target", unit="V", description="setpoint asked for"),
    QuantityMeta(name="i_limit", unit="A", description="current limit"),
    QuantityMeta(name="ramp_rate", unit="V/s", description="ramp rate in use"),
    QuantityMeta(name="v_mon", unit="V", description="measured voltage"),
    QuantityMeta(name="i_mon", unit="A", description="measured current"),
    QuantityMeta(name="output", unit="", type="boolean", description="output on"),
    QuantityMeta(name="ramping", unit="", type="boolean", description="a ramp is in progress"),
    QuantityMeta(name="compliance", unit="", type="boolean", description="current limit reached"),
    QuantityMeta(name="status", unit="", type="string", description="off, on, ramping or fault"),
]


@dataclass
class SensorChannel:
    id: str
    hw: int
    quantities: list[Quantity] = field(default_factory=list)
    reading: SensorReading | None = None


@dataclass
class _Publication:
    last: float = float("-inf")
    dirty: bool = True
    inhibit: str | None = None


class DeviceService:
    """Runs one device until :meth:`stop`; see the module docstring for the threading model."""

    def __init__(self, config: DeviceConfig, driver: Driver) -> None:
        self.config = config
        self.driver = driver
        self.device = config.device
        self.boot = secrets.token_hex(6)
        self.started = now_ms()
        self.seq = 0
        self.identity: Identity | None = None
        self.instrument_ok = False
        self.fault: str | None = None
        self._retry_delay = 1.0
        self._next_retry = 0.0
        #: The configured current limits are programmed at the first connection to the instrument only.
        self._configured_limits_applied = False
        self._stop = threading.Event()
        self._abort_exit = threading.Event()
        self._stopping = False
        self._inbox: queue.Queue[Inbound] = queue.Queue(maxsize=1000)
        self._publications: dict[str, _Publication] = {}
        self._last_ts: dict[str, int] = {}
        self.power: dict[str, PowerChannel] = {}
        self.sensors: dict[str, SensorChannel] = {}
        self._channel_configs = {channel.id: channel for channel in config.channels}
        self._build_channels()
        self._meta_payload = encode(self._meta())

        self.connection = connect(config.mqtt, f"labdcs-device-{self.device}", self.device, self.boot)
        self._ack = Acknowledger(self.connection, self.device, log)
        self.alarms = DeviceAlarms(self.connection, self.device)
        self._clock_watch = ClockJumpDetector()
        self.connection.add_on_connect(self._on_connect)
        self.connection.subscribe(topics.commands_of(self.device), self._enqueue_command, qos=1)
        self.connection.subscribe(topics.alarm_commands_of(self.device), self._enqueue_command, qos=1)
        # What the previous run left retained (latched trips, active alarms): read once at start.
        self._previous: dict[str, bytes] = {}
        self._previous_lock = threading.Lock()
        self._restore_filters = [topics.state(self.device, "+"), topics.alarm(self.device, "+")]
        for topic_filter in self._restore_filters:
            self.connection.subscribe(topic_filter, self._collect_previous, qos=1)
        self.safety: InterlockLink | None = None
        if config.interlock is not None:
            interlock = config.interlock.device
            self.safety = InterlockLink(config.interlock, self.device, started=time.monotonic())
            for topic_filter in (
                topics.heartbeat(interlock),
                topics.online(interlock),
                topics.state(interlock, "+"),
            ):
                self.connection.subscribe(topic_filter, self._enqueue_interlock, qos=1)

    # --- set-up -------------------------------------------------------------------------------------

    def _build_channels(self) -> None:
        for channel in self.config.channels:
            self._publications[channel.id] = _Publication()
            if self.config.channel_kind is ChannelKind.POWER:
                assert channel.ramp_rate is not None
                self.power[channel.id] = PowerChannel(
                    id=channel.id,
                    hw=channel.hw,
                    limits=self._effective_limits(channel, None),
                    soft_switch=self.config.soft_switch(channel),
                    ramp_rate=channel.ramp_rate,
                    trip_current=channel.trip_current,
                    trip_voltage=channel.trip_voltage,
                    trip_time_s=channel.trip_time_s,
                )
            else:
                quantities: list[Quantity] = []
                if isinstance(self.driver, SensorDriver):
                    quantities = self.driver.quantities(channel.hw)
                self.sensors[channel.id] = SensorChannel(channel.id, channel.hw, quantities)

    @staticmethod
    def _effective_limits(channel: ChannelConfig, instrument: OutputLimits | None) -> PowerLimits:
        """The tighter of what the configuration allows and what the instrument can do."""
        assert channel.max_voltage is not None and channel.max_current is not None
        assert channel.ramp_rate is not None
        max_voltage, min_voltage, max_current = channel.max_voltage, channel.min_voltage, channel.max_current
        if instrument is not None:
            max_voltage = min(max_voltage, instrument.max_voltage)
            min_voltage = max(min_voltage, instrument.min_voltage)
            max_current = min(max_current, instrument.max_current)
        return PowerLimits(
            max_voltage=max_voltage,
            min_voltage=min_voltage,
            max_current=max_current,
            ramp_rate=channel.ramp_rate,
            max_ramp_rate=channel.max_ramp_rate or channel.ramp_rate,
        )

    def _meta(self) -> DeviceMeta:
        channels: list[ChannelMeta] = []
        for channel in self.config.channels:
            if channel.id in self.power:
                limits = self.power[channel.id].limits
                commands = [
                    CommandMeta(
                        verb=Verb.SET_VOLTAGE,
                        value="number",
                        unit="V",
                        min=limits.min_voltage,
                        max=limits.max_voltage,
                        description="ramp the output to this voltage",
                    ),
                    CommandMeta(
                        verb=Verb.SET_CURRENT_LIMIT,
                        value="number",
                        unit="A",
                        min=0.0,
                        max=limits.max_current,
                        description="program the current limit",
                    ),
                    CommandMeta(
                        verb=Verb.SET_RAMP_RATE,
                        value="number",
                        unit="V/s",
                        min=0.0,
                        max=limits.max_ramp_rate,
                        description="ramp rate for later voltage changes",
                    ),
                    CommandMeta(verb=Verb.ON, value="none", description="switch the output on"),
                    CommandMeta(verb=Verb.OFF, value="none", description="switch the output off"),
                    CommandMeta(
                        verb=Verb.CLEAR_TRIP,
                        value="none",
                        description="clear a latched trip; the output stays off",
                    ),
                ]
                channels.append(
                    ChannelMeta(
                        id=channel.id,
                        label=channel.label,
                        kind=ChannelKind.POWER,
                        quantities=_POWER_QUANTITIES,
                        limits=limits,
                        commands=commands,
                    )
                )
            else:
                sensor = self.sensors[channel.id]
                channels.append(
                    ChannelMeta(
                        id=channel.id,
                        label=channel.label,
                        kind=ChannelKind.SENSOR,
                        quantities=[
                            QuantityMeta(name=q.name, unit=q.unit, description=q.description)
                            for q in sensor.quantities
                        ],
                    )
                )
        identity = None
        if self.identity is not None:
            identity = InstrumentIdentity(
                manufacturer=self.identity.manufacturer,
                model=self.identity.model,
                serial=self.identity.serial,
                firmware=self.identity.firmware,
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
            channels=channels,
        )

    # --- network thread ---------------------------------------------------------------------------

    def _on_connect(self) -> None:
        announce(self.connection, self.device, self.boot, self._meta_payload, self.alarms)
        for publication in self._publications.values():
            publication.dirty = True

    def _enqueue_command(self, topic: str, payload: bytes, retained: bool) -> None:
        if retained:
            # A retained command is a stale leftover someone published by mistake: never act on it.
            log.warning("ignoring retained message on command topic %s", topic)
            return
        try:
            self._inbox.put_nowait(Inbound(topic, payload, retained, time.monotonic()))
        except queue.Full:
            info = topics.parse(topic)
            alarm = info.alarm if info else None
            channel = "alarm" if alarm else info.channel if info and info.channel else "?"
            verb = info.verb if info and info.verb else "?"
            reason = "device busy: too many commands waiting"
            self._ack(salvage_id(payload), channel, verb, None, AckResult.REJECTED, reason, alarm=alarm)

    def _enqueue_interlock(self, topic: str, payload: bytes, retained: bool) -> None:
        try:
            self._inbox.put_nowait(Inbound(topic, payload, retained, time.monotonic()))
        except queue.Full:
            # A lost heartbeat makes the watchdog act sooner, never later: the safe direction.
            log.warning("worker busy: dropped %s", topic)

    def _collect_previous(self, topic: str, payload: bytes, retained: bool) -> None:
        if retained and payload:
            with self._previous_lock:
                self._previous[topic] = payload

    # --- worker thread ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the service to finish (signal-safe). A second call abandons a ramp-down on exit."""
        if self._stop.is_set():
            self._abort_exit.set()
        self._stop.set()

    def run(self) -> None:
        log.info(
            "device %s (%s, driver %s) starting, boot %s",
            self.device,
            self.config.model,
            self.config.driver.name,
            self.boot,
        )
        self.connection.start()
        self._restore_previous_run()
        self._connect_instrument()
        self.alarms.end_inheritance()
        try:
            while not self._stop.is_set():
                self._wait_and_handle_commands(self._next_tick_in())
                self._tick()
            self._shutdown()
        finally:
            self.connection.stop()
            self.driver.close()
            log.info("device %s stopped", self.device)

    def _restore_previous_run(self) -> None:
        """Take over the latched trips and active alarms the previous run left on the broker."""
        wait = self.config.restore_timeout_s
        if not self.connection.synced.wait(wait):
            log.warning(
                "%s: broker's retained state not received within %g s: latched trips of a previous "
                "run are not restored",
                self.device,
                wait,
            )
        for topic_filter in self._restore_filters:
            self.connection.unsubscribe(topic_filter)
        with self._previous_lock:
            previous, self._previous = self._previous, {}
        decoded = []
        for topic, payload in sorted(previous.items()):
            try:
                decoded.append(decode(topic, payload))
            except ContractError as exc:
                log.warning("%s: ignoring what the previous run left: %s", self.device, exc)
        for _, message in decoded:  # alarms first: a restored trip keeps its alarm's times
            if isinstance(message, Alarm):
                self.alarms.inherit(message)
        for info, message in decoded:
            if isinstance(message, PowerChannelState) and message.trip and info.channel in self.power:
                channel = self.power[info.channel]
                channel.trip = message.trip
                log.warning(
                    "%s/%s: trip latched by the previous run kept: %s", self.device, channel.id, message.trip
                )
                self._raise_trip_alarm(channel)

    def _next_tick_in(self) -> float:
        now = time.monotonic()
        if any(channel.ramping for channel in self.power.values()):
            return self.config.ramp_tick
        due = min(p.last + self.config.publish_period for p in self._publications.values())
        if not self.instrument_ok:
            due = min(due, self._next_retry)
        if self.safety is not None:
            deadline = self.safety.next_deadline()
            if deadline is not None:
                due = min(due, deadline + 0.01)
        return max(0.0, min(due - now, self.config.publish_period))

    def _wait_and_handle_commands(self, timeout: float) -> None:
        try:
            message = self._inbox.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return
        info = topics.parse(message.topic)
        if info is not None and self.safety is not None and info.device == self.safety.config.device:
            self._handle_interlock(info, message)
        elif info is not None and info.kind is TopicKind.ALARM_COMMAND:
            handle_alarm_command(
                message.topic, message.payload, self.alarms, self._ack, self.config.max_command_age_s
            )
        else:
            self._handle_command(message.topic, message.payload)
        # Back to the loop: tick now, so the state shows the effect at once.

    def _tick(self) -> None:
        now = time.monotonic()
        touch_health(self.config.health_file)
        jump = self._clock_watch.check()
        if jump is not None:
            self.alarms.raise_alarm(
                CLOCK_JUMP_ALARM,
                Severity.WARNING,
                f"the system clock jumped {jump:+.1f} s: timestamps around {now_ms()} are unreliable",
            )
        self._watch_interlock(now)
        if not self.instrument_ok:
            if now >= self._next_retry:
                self._connect_instrument()
            if not self.instrument_ok:
                self._publish_due(now, fault_only=True)
                return
        try:
            self._enforce_interlock(now)
            for channel in self.power.values():
                if channel.step(self._power_driver, now):
                    self._publications[channel.id].dirty = True
            self._publish_due(now, fault_only=False)
        except InstrumentError as exc:
            self._enter_fault(str(exc))

    @property
    def _power_driver(self) -> PowerSupplyDriver:
        assert isinstance(self.driver, PowerSupplyDriver)
        return self.driver

    def _publish_due(self, now: float, *, fault_only: bool) -> None:
        for channel_id, publication in self._publications.items():
            if not publication.dirty and now - publication.last < self.config.publish_period:
                continue
            if fault_only:
                self._publish_state(channel_id, read=False)
            else:
                self._publish_state(channel_id, read=True)
            publication.last = now
            publication.dirty = False

    def _publish_state(self, channel_id: str, *, read: bool) -> None:
        # Strictly increasing per channel, so no two states of a channel share an InfluxDB timestamp.
        ts = max(now_ms(), self._last_ts.get(channel_id, 0) + 1)
        self._last_ts[channel_id] = ts
        state: PowerChannelState | SensorChannelState
        if channel_id in self.power:
            channel = self.power[channel_id]
            if read:
                reading = self._power_driver.read(channel.hw)
                self._follow_instrument(channel, reading.output_on, reading.voltage_setpoint)
                channel.reading = reading
                trip = channel.check_trip(reading, time.monotonic())
                if trip is not None:
                    self._trip(channel, trip)
            reading_now = channel.reading if read and self.instrument_ok else None
            inhibit = self._inhibit_reason(channel_id)
            status = channel.status if self.instrument_ok else PowerStatus.FAULT
            if status is PowerStatus.OFF and inhibit is not None:
                status = PowerStatus.INHIBITED
            state = PowerChannelState(
                ts=ts,
                seq=self.seq,
                boot=self.boot,
                status=status,
                output=channel.output,
                ramping=channel.ramping and self.instrument_ok,
                v_set=channel.v_set,
                v_target=channel.v_target,
                i_limit=channel.i_limit,
                ramp_rate=channel.ramp_rate,
                v_mon=reading_now.voltage if reading_now else None,
                i_mon=reading_now.current if reading_now else None,
                compliance=reading_now.in_compliance if reading_now else None,
                fault=None if self.instrument_ok else self.fault,
                device_kind=self.config.kind,
                trip=channel.trip,
                inhibit=inhibit,
                switching_off=channel.on_its_way_off or None,
            )
        else:
            sensor = self.sensors[channel_id]
            values: dict[str, float] = {}
            if read:
                assert isinstance(self.driver, SensorDriver)
                sensor.reading = self.driver.read(sensor.hw)
                values = dict(sensor.reading.values)
            state = SensorChannelState(
                ts=ts,
                seq=self.seq,
                boot=self.boot,
                status=SensorStatus.OK if self.instrument_ok else SensorStatus.FAULT,
                values=values,
                fault=None if self.instrument_ok else self.fault,
                device_kind=self.config.kind,
            )
        self.seq += 1
        self.connection.publish(topics.state(self.device, channel_id), encode(state), qos=1, retain=True)

    def _follow_instrument(self, channel: PowerChannel, output_on: bool, setpoint: float) -> None:
        """Someone changed the instrument behind our back (front panel, hardware interlock): adopt it."""
        if output_on != channel.output:
            log.warning(
                "%s/%s: output is %s on the instrument, expected %s; following the instrument",
                self.device,
                channel.id,
                "on" if output_on else "off",
                "on" if channel.output else "off",
            )
            channel.output = output_on
            channel.switching_off = False
            channel.pending_off_since = None
            channel.v_set = setpoint
            channel.v_target = setpoint
        elif not channel.ramping and abs(setpoint - channel.v_set) > 1e-6 * max(1.0, abs(setpoint)):
            log.warning(
                "%s/%s: instrument setpoint is %s V, expected %s V; following the instrument",
                self.device,
                channel.id,
                setpoint,
                channel.v_set,
            )
            channel.v_set = setpoint
            channel.v_target = setpoint

    # --- safety: trips, interlock rules, watchdog ----------------------------------------------------

    def _trip(self, channel: PowerChannel, reason: str) -> None:
        """Switch the output off at once and latch the trip; only `clear_trip` removes it."""
        channel.switch_off_now(self._power_driver)
        channel.trip = reason
        channel.v_target = channel.v_set
        log.error("%s/%s tripped: %s; output off until clear_trip", self.device, channel.id, reason)
        self._raise_trip_alarm(channel)
        self._publications[channel.id].dirty = True

    def _raise_trip_alarm(self, channel: PowerChannel) -> None:
        message = f"{channel.id} tripped: {channel.trip}; output off until clear_trip"
        self.alarms.raise_alarm(trip_alarm(channel.id), Severity.ERROR, message, channel.id)

    def _inhibit_reason(self, channel_id: str) -> str | None:
        if self.safety is None:
            return None
        return self.safety.inhibit(channel_id, time.monotonic())

    def _handle_interlock(self, info: topics.TopicInfo, message: Inbound) -> None:
        """News from the interlock: a heartbeat, its online status, or a rule's state."""
        assert self.safety is not None
        if info.kind is TopicKind.STATE and not message.payload:
            assert info.channel is not None
            self.safety.on_rule_state(info.channel, None)  # deleted: the rule was removed
            return
        try:
            decoded = decode_as(info.kind, message.topic, message.payload)
        except ContractError as exc:
            log.warning("%s: ignoring malformed message from the interlock: %s", self.device, exc)
            return
        if isinstance(decoded, Heartbeat):
            self.safety.on_heartbeat(decoded, message.at)
        elif isinstance(decoded, Online):
            self.safety.on_online(decoded, message.at)
        elif isinstance(decoded, RuleState) and info.channel is not None:
            self.safety.on_rule_state(info.channel, decoded)

    def _watch_interlock(self, now: float) -> None:
        """The watchdog's alarm; republish states whose inhibit changed (rules, heartbeat)."""
        if self.safety is None:
            return
        watchdog = self.safety.watchdog(now)
        # Before the first heartbeat with every output off there is nothing to put in a safe state:
        # the inhibit in the state says why `on` is refused; no alarm for a stack still starting.
        acts = self.safety.last_heartbeat is not None or any(c.output for c in self.power.values())
        if watchdog is not None and (acts or WATCHDOG_ALARM in self.alarms.active):
            if WATCHDOG_ALARM not in self.alarms.active:
                log.error(
                    "%s: %s: outputs to the safe state (%s)",
                    self.device,
                    watchdog,
                    self.safety.config.safe_action,
                )
            self.alarms.raise_alarm(
                WATCHDOG_ALARM,
                Severity.ERROR,
                f"interlock watchdog: no heartbeat from '{self.safety.config.device}': outputs put in the "
                f"safe state ({self.safety.config.safe_action}); nothing is switched back on by itself",
            )
        elif self.safety.heartbeat_ok(now):
            self.alarms.clear(WATCHDOG_ALARM)
        for channel_id, publication in self._publications.items():
            if channel_id not in self.power:
                continue
            summary = self.safety.inhibit_summary(channel_id, now)
            if summary != publication.inhibit:
                publication.inhibit = summary
                publication.dirty = True

    def _enforce_interlock(self, now: float) -> None:
        """Hold channels down as active rules and the watchdog say; let held `off`s go when ordered."""
        if self.safety is None:
            return
        for channel in self.power.values():
            forced = self.safety.forced(channel.id, now)
            if forced is not None and channel.output:
                action, why = forced
                if action is RuleAction.SWITCH_OFF:
                    log.warning("%s/%s: switching off now: %s", self.device, channel.id, why)
                    channel.switch_off_now(self._power_driver)
                    self._publications[channel.id].dirty = True
                elif not channel.switching_off:
                    log.warning("%s/%s: ramping down: %s", self.device, channel.id, why)
                    channel.ramp_down_and_off(now)
                    self._publications[channel.id].dirty = True
            if channel.pending_off_since is not None:
                self._continue_held_off(channel, now)

    def _continue_held_off(self, channel: PowerChannel, now: float) -> None:
        assert self.safety is not None and channel.pending_off_since is not None
        hold = self.safety.hold(channel.id)
        waited = now - channel.pending_off_since
        if hold is not None and waited <= self.safety.config.hold_timeout_s:
            return
        if hold is None:
            log.info("%s/%s: the channels ordered before it are off; switching off", self.device, channel.id)
            self.alarms.clear(order_alarm(channel.id))
        else:
            message = (
                f"{channel.id}: switched off after waiting {waited:.0f} s for "
                f"{', '.join(hold.waiting_for) or 'the interlock'} (rules {', '.join(hold.rules)}): the "
                "interlock's ordering could not be confirmed"
            )
            log.error("%s/%s", self.device, message)
            self.alarms.raise_alarm(order_alarm(channel.id), Severity.ERROR, message, channel.id)
        channel.apply(self._power_driver, Verb.OFF, None, now)
        self._publications[channel.id].dirty = True

    # --- the instrument ---------------------------------------------------------------------------

    def _connect_instrument(self) -> None:
        try:
            self.driver.open()
            self.identity = self.driver.identify()
            for channel_id, channel in self.power.items():
                config = self._channel_configs[channel_id]
                channel.limits = self._effective_limits(config, self._power_driver.output_limits(channel.hw))
                channel.adopt(self._power_driver.read(channel.hw))
                if not self._configured_limits_applied:
                    self._apply_configured_current_limit(channel, config)
                self._enforce_limits_after_connect(channel)
            for sensor in self.sensors.values():
                assert isinstance(self.driver, SensorDriver)
                sensor.quantities = self.driver.quantities(sensor.hw)
        except InstrumentError as exc:
            self._enter_fault(str(exc))
            return
        log.info(
            "%s: instrument %s %s (serial %s, firmware %s) ready",
            self.device,
            self.identity.manufacturer,
            self.identity.model,
            self.identity.serial,
            self.identity.firmware,
        )
        self.instrument_ok = True
        self._configured_limits_applied = True
        self.fault = None
        self._retry_delay = 1.0
        self.alarms.clear(INSTRUMENT_ALARM)
        self._meta_payload = encode(self._meta())
        self.connection.publish(topics.meta(self.device), self._meta_payload, qos=1, retain=True)
        for publication in self._publications.values():
            publication.dirty = True

    def _enforce_limits_after_connect(self, channel: PowerChannel) -> None:
        """Found outside the limits (the configuration got tighter): bring it back in, never up."""
        limits = channel.limits
        if channel.i_limit > limits.max_current:
            log.warning(
                "%s/%s: current limit %s A above %s A; lowering it",
                self.device,
                channel.id,
                channel.i_limit,
                limits.max_current,
            )
            self._power_driver.set_current_limit(channel.hw, limits.max_current)
            channel.i_limit = limits.max_current
        inside = min(max(channel.v_set, limits.min_voltage), limits.max_voltage)
        if inside != channel.v_set:
            message = (
                f"setpoint {channel.v_set} V found outside the limits "
                f"[{limits.min_voltage}, {limits.max_voltage}] V; ramping to {inside} V"
            )
            self.alarms.raise_alarm(LIMITS_ALARM, Severity.WARNING, message, channel.id)
            channel.v_target = inside
            if not channel.output:
                self._power_driver.set_voltage(channel.hw, inside)
                channel.v_set = inside
            channel.last_step = time.monotonic()

    def _apply_configured_current_limit(self, channel: PowerChannel, config: ChannelConfig) -> None:
        """The configured current limit, once per run; an output found on keeps the limit it runs with."""
        wanted = config.current_limit
        if wanted is None:
            return
        wanted = min(wanted, channel.limits.max_current)
        if math.isclose(channel.i_limit, wanted, rel_tol=1e-3):
            return
        if channel.output:
            log.warning(
                "%s/%s: output found on: its current limit stays %s A (configured: %s A)",
                self.device,
                channel.id,
                channel.i_limit,
                wanted,
            )
            return
        log.info(
            "%s/%s: current limit %s A -> %s A (configured)", self.device, channel.id, channel.i_limit, wanted
        )
        self._power_driver.set_current_limit(channel.hw, wanted)
        channel.i_limit = wanted

    def _enter_fault(self, reason: str) -> None:
        first = self.instrument_ok or self.fault is None
        self.instrument_ok = False
        self.fault = reason
        self.driver.close()
        if first:
            log.error("%s: instrument not answering: %s", self.device, reason)
        self.alarms.raise_alarm(INSTRUMENT_ALARM, Severity.ERROR, f"instrument not answering: {reason}")
        for channel in self.power.values():
            channel.switching_off = False
            channel.v_target = channel.v_set
        self._next_retry = time.monotonic() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self.config.reconnect_max_s)
        for publication in self._publications.values():
            publication.dirty = True

    # --- commands ---------------------------------------------------------------------------------

    def _handle_command(self, topic: str, payload: bytes) -> None:
        info = topics.parse(topic)
        if info is None or info.kind is not TopicKind.COMMAND or info.channel is None or info.verb is None:
            log.warning("ignoring message on %s: not a command topic", topic)
            return
        channel_id, verb = info.channel, info.verb
        try:
            command = decode_as(TopicKind.COMMAND, topic, payload)
        except ContractError as exc:
            self._ack(salvage_id(payload), channel_id, verb, None, AckResult.REJECTED, exc.problem)
            return
        assert isinstance(command, Command)
        reason = self._precheck(command, channel_id, verb)
        if reason is not None:
            self._ack(command.id, channel_id, verb, command.value, AckResult.REJECTED, reason, command.user)
            return
        channel = self.power[channel_id]
        try:
            argument = channel.validate(verb, command.value)
        except CommandRejected as exc:
            self._ack(command.id, channel_id, verb, command.value, AckResult.REJECTED, str(exc), command.user)
            return
        if channel.raises(verb, argument):
            inhibit = self._inhibit_reason(channel_id)
            if inhibit is not None:
                reason = f"inhibited: {inhibit}"
                self._ack(
                    command.id, channel_id, verb, command.value, AckResult.REJECTED, reason, command.user
                )
                return
        if not self.instrument_ok:
            reason = f"device offline: instrument not answering ({self.fault})"
            self._ack(command.id, channel_id, verb, command.value, AckResult.REJECTED, reason, command.user)
            return
        now = time.monotonic()
        try:
            if verb == Verb.OFF and self._hold_off(channel, now):
                pass  # the off goes on once the interlock confirms the ordering (see _continue_held_off)
            else:
                channel.apply(self._power_driver, verb, argument, now)
        except InstrumentError as exc:
            self._ack(command.id, channel_id, verb, command.value, AckResult.FAILED, str(exc), command.user)
            self._enter_fault(str(exc))
            return
        if verb == Verb.CLEAR_TRIP:
            self.alarms.clear(trip_alarm(channel_id))
        self._publications[channel_id].dirty = True
        self._ack(command.id, channel_id, verb, command.value, AckResult.ACCEPTED, None, command.user)

    def _hold_off(self, channel: PowerChannel, now: float) -> bool:
        """An `off` that an interlock rule orders after other channels waits for them; True if so."""
        if self.safety is None or not channel.output or channel.on_its_way_off:
            return channel.pending_off_since is not None
        hold = self.safety.hold(channel.id)
        if hold is None:
            return False
        channel.pending_off_since = now
        waiting = (
            f"{', '.join(hold.waiting_for)} to be off"
            if hold.waiting_for
            else "the interlock to confirm the channels ordered before it are off"
        )
        log.info(
            "%s/%s: off waits for %s (rules %s)", self.device, channel.id, waiting, ", ".join(hold.rules)
        )
        return True

    def _precheck(self, command: Command, channel_id: str, verb: str) -> str | None:
        expired = expiry_problem(command, self.config.max_command_age_s)
        if expired is not None:
            return expired
        if self._stopping:
            return "device service is stopping"
        if channel_id not in self._channel_configs:
            known = ", ".join(self._channel_configs)
            return f"unknown channel '{channel_id}'; this device has: {known}"
        if channel_id in self.sensors:
            return f"unknown verb '{verb}'; channel {channel_id} is a sensor and accepts no commands"
        return None

    # --- exit ---------------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        self._stopping = True
        if self.config.exit_action == "ramp_down" and self.instrument_ok:
            self._ramp_down_on_exit()
        if self.instrument_ok:
            try:
                for channel_id in self._publications:
                    self._publish_state(channel_id, read=True)
            except InstrumentError as exc:
                log.warning("%s: final readback failed: %s", self.device, exc)
        offline = Online(online=False, boot=self.boot, ts=now_ms(), reason="service stopped")
        self.connection.publish_and_wait(topics.online(self.device), encode(offline), qos=1, retain=True)

    def _ramp_down_on_exit(self) -> None:
        now = time.monotonic()
        live = [channel for channel in self.power.values() if channel.output]
        if not live:
            return
        log.info("%s: ramping %s down before exiting", self.device, ", ".join(c.id for c in live))
        for channel in live:
            channel.ramp_down_and_off(now)
        deadline = now + self.config.exit_timeout_s
        while any(channel.ramping for channel in live) and self.instrument_ok:
            if self._abort_exit.is_set():
                log.warning(
                    "%s: ramp-down abandoned by a second stop request; outputs left as they are", self.device
                )
                return
            if time.monotonic() > deadline:
                log.error("%s: ramp-down did not finish within %s s", self.device, self.config.exit_timeout_s)
                return
            self._wait_and_handle_commands(self.config.ramp_tick)
            self._tick()
