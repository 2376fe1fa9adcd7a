"""The battery-station device service: runs test protocols on cycler channels over the MQTT contract.

Same contract and conventions as :mod:`labdcs.devices.service`, from the same skeleton
(:mod:`labdcs.devices.skeleton`: retained meta/online/state, one ack per command, alarms and their
acknowledgement, last will), plus a ``stats`` message at the end of every step and cycle. One
worker thread owns the driver and every channel (:mod:`labdcs.devices.cycler.channel`); paho's
thread only queues commands.

Every sample period (simulated time, :mod:`labdcs.clock`), for each channel: read the instrument,
check the safety envelope (cell ∩ station ∩ instrument ∩ protocol safety; leaving it aborts the
run, switches the output off and raises an alarm, whatever the protocol does), run the protocol
engine one sample, program the source when the engine's setpoint changed, publish the state when
it is due (record period, a change of V or I beyond the record deltas, a step or run-state change)
and the statistics of every finished step and cycle.

With a :class:`~labdcs.clock.SteppedClock` (``speed: max``) nothing sleeps while a run is active:
simulated time advances by one sample period per loop, and the service waits for the broker's
acknowledgement every ``BACKPRESSURE_EVERY`` messages (or ``BACKPRESSURE_BYTES``) so the outgoing
queue never overflows.

Faster than real time (``speed`` above 1), the states of a running channel go out in batches on
``.../<channel>/states`` (contract 2.1.0, :mod:`labdcs.contract.batch`): one MQTT message per state
cost more than the simulation. A batch is sent when it holds ``batch_max_states``, when its first
state is ``batch_max_wait_s`` (wall) old, before it would pass half the byte budget, and before
anything that must follow its states (an ack, an alarm, statistics, a state outside a run); its
last state is then also published retained on ``state``. At speed 1 nothing of this runs.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time

from labdcs.clock import Clock, SteppedClock
from labdcs.contract import topics
from labdcs.contract.batch import BATCH_OVERHEAD, batch_payload
from labdcs.contract.codec import encode
from labdcs.contract.limits import MARGIN, MAX_PROTOCOL_BYTES, MAX_STATES_BYTES
from labdcs.contract.models import (
    AckResult,
    ChannelKind,
    ChannelMeta,
    Command,
    CommandMeta,
    CyclerRunState,
    CyclerStats,
    Severity,
    Verb,
    principal_label,
)
from labdcs.devices.cycler.channel import QUANTITIES, CyclerChannel, Outcome, Rejected
from labdcs.devices.cycler.config import CyclerConfig
from labdcs.devices.skeleton import INSTRUMENT_ALARM, DeviceSkeleton
from labdcs.drivers.base import BidirectionalSourceDriver, InstrumentError
from labdcs.participant import touch_health

__all__ = [
    "BACKPRESSURE_BYTES",
    "BACKPRESSURE_EVERY",
    "CYCLER_VERBS",
    "INSTRUMENT_ALARM",
    "CyclerChannel",
    "CyclerService",
    "Outcome",
    "Rejected",
    "safety_alarm",
]

log = logging.getLogger(__name__)

BACKPRESSURE_EVERY = 200
BACKPRESSURE_BYTES = 4 * 1024 * 1024
#: A batch ends before its JSON would pass this (the contract's budget with its margin).
BATCH_MAX_BYTES = MAX_STATES_BYTES // MARGIN
CYCLER_VERBS = (Verb.LOAD_PROTOCOL, Verb.START, Verb.PAUSE, Verb.RESUME, Verb.STOP)

_COMMANDS = [
    CommandMeta(verb=Verb.LOAD_PROTOCOL, value="none", description="`protocol`: document or text"),
    CommandMeta(verb=Verb.START, value="none", description="start the loaded protocol (`experiment`: id)"),
    CommandMeta(verb=Verb.PAUSE, value="none", description="output off, counters kept"),
    CommandMeta(verb=Verb.RESUME, value="none", description="continue the paused step"),
    CommandMeta(verb=Verb.STOP, value="none", description="end the run, output off"),
]


def safety_alarm(channel_id: str) -> str:
    return f"{channel_id}-safety"


class _Batch:
    """The encoded states of one channel waiting to go out together, and since when (wall s)."""

    __slots__ = ("since", "size", "states")

    def __init__(self) -> None:
        self.states: list[bytes] = []
        self.size = BATCH_OVERHEAD
        self.since = 0.0

    def add(self, encoded: bytes) -> None:
        if not self.states:
            self.since = time.monotonic()
        self.states.append(encoded)
        self.size += len(encoded) + 1

    def take(self) -> list[bytes]:
        states, self.states, self.size = self.states, [], BATCH_OVERHEAD
        return states


class CyclerService(DeviceSkeleton[CyclerConfig]):
    """Runs one battery station until :meth:`stop`."""

    def __init__(self, config: CyclerConfig, driver: BidirectionalSourceDriver, clock: Clock) -> None:
        super().__init__(config, log)
        self.driver = driver
        self.clock = clock
        self.seq = 0
        self._wake = threading.Event()
        self.channels = {c.id: CyclerChannel(c, driver, clock, self.boot) for c in config.channels}
        self._last_record = dict.fromkeys(self.channels, -math.inf)
        self._sent = 0
        self._sent_bytes = 0
        self._meta_payload = encode(self._meta())
        #: Faster than real time: per channel, the encoded states waiting in its batch.
        self._batching = clock.speed > 1
        self._batches: dict[str, _Batch] = {channel_id: _Batch() for channel_id in self.channels}

    def _channel_metas(self) -> list[ChannelMeta]:
        return [
            ChannelMeta(
                id=channel.id,
                label=channel.config.label,
                kind=ChannelKind.CYCLER,
                quantities=QUANTITIES,
                commands=_COMMANDS,
                cycler_limits=channel.meta_limits(),
            )
            for channel in self.channels.values()
        ]

    def _wake_worker(self) -> None:
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
        if self._batching and not isinstance(self.clock, SteppedClock):
            # A state waits at most batch_max_wait_s: send what would wait longer than that.
            self._flush_batches(due_within=period / self.clock.speed)
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
        touch_health(self.config.health_file)
        if not self.instrument_ok:
            if self._retry_due(time.monotonic()):
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
                self._publish_outcome(channel, channel.sample(due), now)
        except InstrumentError as exc:
            self._enter_fault(str(exc))
        if self._batching:
            self._flush_batches(due_within=0.0)

    def _publish_outcome(self, channel: CyclerChannel, outcome: Outcome, now: float) -> None:
        if outcome.alarm is not None:
            self._flush(channel.id)
            self.alarms.raise_alarm(safety_alarm(channel.id), Severity.CRITICAL, outcome.alarm, channel.id)
        if outcome.publish:
            self._last_record[channel.id] = now
            self._publish_state(channel)
        self._publish_stats(channel, outcome.stats)

    def _publish(self, topic: str, payload: bytes, retain: bool) -> None:
        self._sent += 1
        self._sent_bytes += len(payload)
        stepped = isinstance(self.clock, SteppedClock)
        if stepped and (self._sent % BACKPRESSURE_EVERY == 0 or self._sent_bytes >= BACKPRESSURE_BYTES):
            # As fast as possible: wait for the broker now and then instead of overflowing the queue.
            self._sent_bytes = 0
            self.connection.publish_and_wait(topic, payload, qos=1, retain=retain, timeout=30.0)
        else:
            self.connection.publish(topic, payload, qos=1, retain=retain)

    def _publish_state(self, channel: CyclerChannel) -> None:
        fault = None if self.instrument_ok else self.fault
        state = channel.state(self.seq, self.boot, fault)
        self.seq += 1
        encoded = encode(state)
        if not (self._batching and state.run_state is CyclerRunState.RUNNING and state.fault is None):
            self._flush(channel.id)  # what came before goes first
            self._publish(topics.state(self.device, channel.id), encoded, retain=True)
            return
        batch = self._batches[channel.id]
        if batch.size + len(encoded) + 1 > BATCH_MAX_BYTES:
            self._flush(channel.id)
        batch.add(encoded)
        if len(batch.states) >= self.config.batch_max_states:
            self._flush(channel.id)

    def _flush(self, channel_id: str) -> None:
        """Send a channel's batch, then its last state retained on ``state`` (the present); a batch
        of one is that state alone."""
        states = self._batches[channel_id].take()
        if not states:
            return
        if len(states) > 1:
            self._publish(topics.states(self.device, channel_id), batch_payload(states), retain=False)
        self._publish(topics.state(self.device, channel_id), states[-1], retain=True)

    def _flush_batches(self, due_within: float | None = None) -> None:
        """Send every batch, or (``due_within`` wall s) those whose wait would pass its limit by then."""
        deadline = time.monotonic() + (due_within or 0.0) - self.config.batch_max_wait_s
        for channel_id, batch in self._batches.items():
            if batch.states and (due_within is None or batch.since <= deadline):
                self._flush(channel_id)

    def _publish_stats(self, channel: CyclerChannel, stats: list[CyclerStats]) -> None:
        if stats:
            self._flush(channel.id)
        for one in stats:
            self._publish(topics.stats(self.device, channel.id), encode(one), retain=False)

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
        self._instrument_ready()

    def _enter_fault(self, reason: str) -> None:
        self._flush_batches()
        self._instrument_lost(reason)
        for channel in self.channels.values():
            if channel.engine is not None and channel.engine.active:
                # The run cannot be supervised: end it. Output off is attempted after reconnecting.
                channel.engine.abort(channel.last, f"instrument error: {reason}", CyclerRunState.ERROR)
                channel.run_state = CyclerRunState.ERROR
                channel.end_reason = f"instrument error: {reason}"
                self._publish_stats(channel, channel._take_stats())
        self.driver.close()

    # --- commands ---------------------------------------------------------------------------------

    def _handle_commands(self) -> None:
        while (message := self._next_message(0.0)) is not None:
            self._flush_batches()  # the states before the command go before its ack
            self._handle_command_message(message)

    def _execute(self, command: Command, channel_id: str, verb: str) -> None:
        try:
            self._carry_out(command, channel_id, verb)
        except Rejected as exc:
            self._answer(command, channel_id, verb, AckResult.REJECTED, str(exc))
        except InstrumentError as exc:
            self._answer(command, channel_id, verb, AckResult.FAILED, str(exc))
            self._enter_fault(str(exc))
        else:
            self._answer(command, channel_id, verb, AckResult.ACCEPTED)

    def _carry_out(self, command: Command, channel_id: str, verb: str) -> None:
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
            protocol = command.protocol
            size = len((protocol if isinstance(protocol, str) else json.dumps(protocol)).encode())
            if size > MAX_PROTOCOL_BYTES:
                raise Rejected(
                    f"the protocol is {size:,} bytes; a station takes at most {MAX_PROTOCOL_BYTES:,}"
                )
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
            stopped_by = principal_label(self._ack.principal, command.user)
            self._publish_stats(channel, channel.stop(f"stopped by {stopped_by}"))
        self._publish_state(channel)
        self._flush(channel.id)  # the state the command made goes before its ack

    # --- exit -------------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        """A run without supervision is not safe: switch every active channel off."""
        self._flush_batches()
        for channel in self.channels.values():
            if channel.run_state in (CyclerRunState.RUNNING, CyclerRunState.PAUSED) and self.instrument_ok:
                try:
                    self._publish_stats(channel, channel.stop("device service stopped"))
                    self._publish_state(channel)
                except InstrumentError as exc:
                    log.error("%s/%s: cannot switch off on exit: %s", self.device, channel.id, exc)
        self._publish_offline()
