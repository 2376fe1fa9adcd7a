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

The jobs live in their own modules: the contract side every device service shares
(:mod:`~labdcs.devices.skeleton`: connection, will, command intake and acks, instrument faults),
channel descriptions and states (:mod:`~labdcs.devices.publishing`), trips and the interlock
(:mod:`~labdcs.devices.protection`), limits and adoption at (re)connection
(:mod:`~labdcs.devices.power_setup`), one output's ramps and switching (:mod:`~labdcs.devices.power`).
This module is the worker: the loop, the instrument's (re)connection, the power commands, the exit.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from labdcs.clock import ClockJumpDetector
from labdcs.contract import topics
from labdcs.contract.codec import ContractError, decode, encode
from labdcs.contract.models import (
    AckResult,
    Alarm,
    ChannelKind,
    ChannelMeta,
    Command,
    PowerChannelState,
    SensorChannelState,
    Severity,
    Verb,
    now_ms,
)
from labdcs.devices.config import DeviceConfig
from labdcs.devices.power import CommandRejected, PowerChannel, power_driver
from labdcs.devices.power_setup import (
    LIMITS_ALARM,
    apply_configured_current_limit,
    effective_limits,
    enforce_limits_after_connect,
    follow_instrument,
)
from labdcs.devices.protection import WATCHDOG_ALARM, Protection, order_alarm, trip_alarm
from labdcs.devices.publishing import (
    POWER_QUANTITIES,
    Publications,
    SensorChannel,
    StateContext,
    power_channel_meta,
    power_state,
    sensor_channel_meta,
    sensor_state,
)
from labdcs.devices.skeleton import INSTRUMENT_ALARM, DeviceSkeleton
from labdcs.drivers.base import Driver, InstrumentError, OutputReading, PowerSupplyDriver, SensorDriver
from labdcs.participant import Inbound, touch_health

__all__ = [
    "CLOCK_JUMP_ALARM",
    "INSTRUMENT_ALARM",
    "LIMITS_ALARM",
    "POWER_QUANTITIES",
    "WATCHDOG_ALARM",
    "CommandRejected",
    "DeviceService",
    "PowerChannel",
    "SensorChannel",
    "order_alarm",
    "trip_alarm",
]

log = logging.getLogger(__name__)

CLOCK_JUMP_ALARM = "clock_jump"


class DeviceService(DeviceSkeleton[DeviceConfig]):
    """Runs one device until :meth:`stop`; see the module docstring for the threading model."""

    def __init__(self, config: DeviceConfig, driver: Driver) -> None:
        super().__init__(config, log)
        self.driver = driver
        self.seq = 0
        #: The configured current limits are programmed at the first connection to the instrument only.
        self._configured_limits_applied = False
        self._abort_exit = threading.Event()
        self._stopping = False
        self.power: dict[str, PowerChannel] = {}
        self.sensors: dict[str, SensorChannel] = {}
        self._channel_configs = {channel.id: channel for channel in config.channels}
        self._build_channels()
        self._publications = Publications([channel.id for channel in config.channels])
        self._meta_payload = encode(self._meta())
        self._clock_watch = ClockJumpDetector()
        #: When the live outputs are next read for the trip check (monotonic).
        self._next_guard = 0.0
        #: Channels the protection read in this tick: their state goes out with that reading.
        self._fresh: set[str] = set()
        # What the previous run left retained (latched trips, active alarms): read once at start.
        self._previous: dict[str, bytes] = {}
        self._previous_lock = threading.Lock()
        self._restore_filters = [topics.state(self.device, "+"), topics.alarm(self.device, "+")]
        for topic_filter in self._restore_filters:
            self.connection.subscribe(topic_filter, self._collect_previous, qos=1)
        self.protection = Protection(
            self.device, config.interlock, self.power, driver, self.alarms, self._publications.mark
        )
        for topic_filter in self.protection.subscriptions():
            self.connection.subscribe(topic_filter, self._enqueue_interlock, qos=1)

    # --- set-up -------------------------------------------------------------------------------------

    def _build_channels(self) -> None:
        for channel in self.config.channels:
            if self.config.channel_kind is ChannelKind.POWER:
                assert channel.ramp_rate is not None
                self.power[channel.id] = PowerChannel(
                    id=channel.id,
                    hw=channel.hw,
                    limits=effective_limits(channel, None),
                    soft_switch=self.config.soft_switch(channel),
                    ramp_rate=channel.ramp_rate,
                    trip_current=channel.trip_current,
                    trip_voltage=channel.trip_voltage,
                    trip_time_s=channel.trip_time_s,
                )
            else:
                quantities = []
                if isinstance(self.driver, SensorDriver):
                    quantities = self.driver.quantities(channel.hw)
                self.sensors[channel.id] = SensorChannel(channel.id, channel.hw, quantities)

    def _channel_metas(self) -> list[ChannelMeta]:
        return [
            power_channel_meta(channel, self.power[channel.id].limits)
            if channel.id in self.power
            else sensor_channel_meta(channel, self.sensors[channel.id])
            for channel in self.config.channels
        ]

    # --- network thread ---------------------------------------------------------------------------

    def _on_connect(self) -> None:
        super()._on_connect()
        self._publications.mark_all()

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
                self.protection.keep_trip(self.power[info.channel], message.trip)

    def _next_tick_in(self) -> float:
        now = time.monotonic()
        if any(channel.ramping for channel in self.power.values()):
            return self.config.ramp_tick
        due = self._publications.next_due(self.config.publish_period)
        if not self.instrument_ok:
            due = min(due, self._next_retry)
        deadline = self.protection.next_deadline()
        if deadline is not None:
            due = min(due, deadline + 0.01)
        if self.instrument_ok and self._guarded():
            due = min(due, self._next_guard)
        return max(0.0, min(due - now, self.config.publish_period))

    def _wait_and_handle_commands(self, timeout: float) -> None:
        message = self._next_message(timeout)
        if message is None:
            return
        info = topics.parse(message.topic)
        if self.protection.from_interlock(info):
            assert info is not None
            self.protection.on_interlock_message(info, message)
        else:
            self._handle_command_message(message)
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
        self.protection.watch(now)
        if not self.instrument_ok:
            if now >= self._next_retry:
                self._connect_instrument()
            if not self.instrument_ok:
                self._publish_due(now, fault_only=True)
                return
        try:
            self.protection.enforce(now)
            self._guard(now)
            for channel in self.power.values():
                if channel.step(self._power_driver, now):
                    self._publications.mark(channel.id)
            self._publish_due(now, fault_only=False)
        except InstrumentError as exc:
            self._enter_fault(str(exc))

    def _guarded(self) -> list[PowerChannel]:
        """The outputs a trip can concern: on, not tripped, with trip levels or an instrument that trips."""
        instrument_trips = isinstance(self.driver, PowerSupplyDriver) and self.driver.reports_trips
        return [
            channel
            for channel in self.power.values()
            if channel.output
            and channel.trip is None
            and (instrument_trips or channel.trip_current is not None or channel.trip_voltage is not None)
        ]

    def _guard(self, now: float) -> None:
        """Read the live outputs at the protection pace and trip at once, not at the next state.

        The trip marks the channel, so its state (``tripped``) goes out in this same tick.
        """
        if now < self._next_guard:
            return
        self._next_guard = now + self.config.protection_period
        guarded = self._guarded()
        if not guarded:
            return
        readings = self._read_outputs([channel.hw for channel in guarded])
        for channel in guarded:
            self._take_reading(channel, readings[channel.hw])
            self._fresh.add(channel.id)

    def _read_outputs(self, hws: list[int]) -> dict[int, OutputReading]:
        """The readings of several outputs of the instrument (hardware channel -> reading)."""
        return self._power_driver.read_many(hws)

    def _take_reading(self, channel: PowerChannel, reading: OutputReading) -> None:
        """Follow what the instrument shows and check the trip levels on it."""
        was_on = channel.output
        follow_instrument(self.device, channel, reading.output_on, reading.voltage_setpoint)
        if channel.output != was_on:
            self._publications.mark(channel.id)
        channel.reading = reading
        trip = channel.check_trip(reading, time.monotonic())
        if trip is not None:
            self.protection.trip(channel, trip)

    @property
    def _power_driver(self) -> PowerSupplyDriver:
        return power_driver(self.driver)

    # --- states -------------------------------------------------------------------------------------

    def _publish_due(self, now: float, *, fault_only: bool) -> None:
        try:
            due = self._publications.due(now, self.config.publish_period)
            if not fault_only:
                self._read_channels([channel_id for channel_id in due if channel_id not in self._fresh])
            for channel_id in due:
                self._publish_state(channel_id, measured=not fault_only)
                self._publications.sent(channel_id, now, self.config.publish_period)
        finally:
            self._fresh.clear()

    def _read_channels(self, channel_ids: list[str]) -> None:
        """Read these channels from the instrument, all in one batch (one query where it can)."""
        power = [self.power[channel_id] for channel_id in channel_ids if channel_id in self.power]
        if power:
            readings = self._read_outputs([channel.hw for channel in power])
            for channel in power:
                self._take_reading(channel, readings[channel.hw])
        sensors = [self.sensors[channel_id] for channel_id in channel_ids if channel_id in self.sensors]
        if sensors:
            assert isinstance(self.driver, SensorDriver)
            values = self.driver.read_many([sensor.hw for sensor in sensors])
            for sensor in sensors:
                sensor.reading = values[sensor.hw]

    def _publish_state(self, channel_id: str, *, measured: bool) -> None:
        """Publish one channel's state; ``measured``: its reading is of this tick."""
        ts = self._publications.timestamp(channel_id)
        state: PowerChannelState | SensorChannelState
        if channel_id in self.power:
            channel = self.power[channel_id]
            state = power_state(
                channel, self._state_context(ts, measured), self.protection.inhibit(channel_id)
            )
        else:
            state = sensor_state(self.sensors[channel_id], self._state_context(ts, measured))
        self.seq += 1
        self.connection.publish(topics.state(self.device, channel_id), encode(state), qos=1, retain=True)

    def _state_context(self, ts: int, measured: bool) -> StateContext:
        return StateContext(
            ts, self.seq, self.boot, self.config.kind, self.instrument_ok, self.fault, measured
        )

    # --- the instrument ---------------------------------------------------------------------------

    def _connect_instrument(self) -> None:
        try:
            self.driver.open()
            self.identity = self.driver.identify()
            for channel_id, channel in self.power.items():
                config = self._channel_configs[channel_id]
                channel.limits = effective_limits(config, self._power_driver.output_limits(channel.hw))
                channel.adopt(self._power_driver.read(channel.hw))
                if not self._configured_limits_applied:
                    apply_configured_current_limit(self.device, channel, config, self._power_driver)
                enforce_limits_after_connect(self.device, channel, self._power_driver, self.alarms)
            for sensor in self.sensors.values():
                assert isinstance(self.driver, SensorDriver)
                sensor.quantities = self.driver.quantities(sensor.hw)
        except InstrumentError as exc:
            self._enter_fault(str(exc))
            return
        self._configured_limits_applied = True
        self._instrument_ready()
        self._publications.mark_all()

    def _enter_fault(self, reason: str) -> None:
        self._fresh.clear()
        self.driver.close()
        self._instrument_lost(reason)
        for channel in self.power.values():
            channel.switching_off = False
            channel.v_target = channel.v_set
        self._publications.mark_all()

    # --- commands ---------------------------------------------------------------------------------

    def _execute(self, command: Command, channel_id: str, verb: str) -> None:
        reason = self._precheck(command, channel_id, verb)
        if reason is not None:
            self._answer(command, channel_id, verb, AckResult.REJECTED, reason)
            return
        channel = self.power[channel_id]
        try:
            argument = channel.validate(verb, command.value)
        except CommandRejected as exc:
            self._answer(command, channel_id, verb, AckResult.REJECTED, str(exc))
            return
        if channel.raises(verb, argument):
            inhibit = self.protection.inhibit(channel_id)
            if inhibit is not None:
                self._answer(command, channel_id, verb, AckResult.REJECTED, f"inhibited: {inhibit}")
                return
        if not self.instrument_ok:
            reason = f"device offline: instrument not answering ({self.fault})"
            self._answer(command, channel_id, verb, AckResult.REJECTED, reason)
            return
        now = time.monotonic()
        try:
            if verb == Verb.OFF and self.protection.hold_off(channel, now):
                pass  # the off goes on once the interlock confirms the ordering (Protection.enforce)
            else:
                channel.apply(self._power_driver, verb, argument, now)
        except InstrumentError as exc:
            self._answer(command, channel_id, verb, AckResult.FAILED, str(exc))
            self._enter_fault(str(exc))
            return
        if verb == Verb.CLEAR_TRIP:
            self.protection.trip_cleared(channel_id)
        self._publications.mark(channel_id)
        self._answer(command, channel_id, verb, AckResult.ACCEPTED)

    def _precheck(self, command: Command, channel_id: str, verb: str) -> str | None:
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
                self._read_channels(self._publications.channel_ids)
                for channel_id in self._publications.channel_ids:
                    self._publish_state(channel_id, measured=True)
            except InstrumentError as exc:
                log.warning("%s: final readback failed: %s", self.device, exc)
        self._publish_offline()

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
