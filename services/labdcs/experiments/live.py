"""The live picture of the lab behind the monitor page: one row per station channel, pushed to every
open monitor as it changes.

It hears the contract through the queue worker's connection (the manager already subscribes to
``meta``, ``online``, ``state`` and ``stats``; :meth:`MonitorHub.attach` adds alarms), so the page
is at most one message behind the station, without polling InfluxDB. Like the queue, paho's thread
only queues; one worker thread decodes, looks up the experiment (name, cell, operator, protocol
text) and rebuilds the rows a message touches.

Each open stream is a :class:`Subscription` that keeps only the newest row per channel until it is
sent: a slow browser gets fewer, newer rows, and its memory is bounded by the number of channels,
never by the message rate. :attr:`MonitorHub.max_streams` bounds the streams themselves.

Which environment sensors belong to a station is configuration
(``LABDCS_STATION_ENVIRONMENT='{"station1": ["env1/box"]}'``: a sensor channel ``device/channel``
or a whole sensor device); their alarms, and the interlock rules that act on the station or read
those sensors, concern the station too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from labdcs.contract import topics
from labdcs.contract.codec import ContractError, decode
from labdcs.contract.models import (
    Alarm,
    CyclerChannelState,
    DeviceKind,
    DeviceMeta,
    Online,
    RuleState,
    SensorChannelState,
)
from labdcs.contract.topics import TopicKind
from labdcs.experiments.documents import now_ms
from labdcs.experiments.stepview import StepTrend, leaves
from labdcs.experiments.store import NotFound, Store, StoreError
from labdcs.mqtt.connection import MqttConnection
from labdcs.protocols import Leaf, Protocol
from labdcs.protocols.text_writer import format_step

log = logging.getLogger(__name__)

#: More channels than any lab has: a flood of made-up devices cannot grow the hub without bound.
MAX_ROWS = 2000


class AlarmView(BaseModel):
    device: str
    alarm: str
    severity: str
    message: str
    active: bool
    acknowledged: bool


class RuleView(BaseModel):
    rule: str
    status: str
    active: bool
    reason: str | None = None


class SensorView(BaseModel):
    sensor: str = Field(description="device/channel")
    status: str
    values: dict[str, float | None]
    ts: int


class MonitorRow(BaseModel):
    """One station channel as the monitor shows it (JSON of the stream's events)."""

    key: str = Field(description="station/channel")
    station: str
    channel: str
    label: str = ""
    online: bool = False
    fault: str | None = None
    run_state: str | None = None
    mode: str | None = None
    experiment: str | None = None
    name: str | None = None
    cell: str | None = None
    operator: str | None = None
    protocol: str | None = None
    team: str | None = Field(default=None, description="The team the running experiment belongs to")
    voltage: float | None = None
    current: float | None = None
    power: float | None = None
    temperature: float | None = None
    cycle: int = 0
    step_index: int = 0
    step: str | None = Field(default=None, description="The step as the protocol's text form writes it")
    step_time: float = 0.0
    test_time: float = 0.0
    end: str | None = Field(default=None, description="The end condition expected first")
    end_eta_s: float | None = Field(default=None, description="s until it, from the latest trend")
    charge_ah: float = 0.0
    discharge_ah: float = 0.0
    end_reason: str | None = None
    alarms: list[AlarmView] = Field(default_factory=list)
    interlocks: list[RuleView] = Field(default_factory=list)
    environment: list[SensorView] = Field(default_factory=list)
    ts: int | None = Field(default=None, description="The state's time on the station clock, ms")
    received: int | None = Field(default=None, description="When the manager heard it, ms")


@dataclass
class _Context:
    """What the store says about an experiment, looked up once."""

    name: str
    cell: str
    operator: str
    protocol: str
    team: str
    steps: list[Leaf]
    capacity_ah: float | None


@dataclass
class _Channel:
    label: str = ""
    state: CyclerChannelState | None = None
    received: int | None = None
    trend: StepTrend = field(default_factory=StepTrend)


class TooManyStreams(Exception):
    """Every allowed monitor stream is open."""


class Subscription:
    """One open stream: the newest row per channel not yet sent, and an event to wake its sender."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: dict[str, str] = {}
        self.ready = asyncio.Event()

    def offer(self, key: str, data: str) -> None:
        with self._lock:
            self._pending[key] = data  # replaces an unsent older row of the same channel
        with contextlib.suppress(RuntimeError):  # a closed loop: the stream is gone
            self._loop.call_soon_threadsafe(self.ready.set)

    def take(self) -> list[str]:
        with self._lock:
            rows, self._pending = list(self._pending.values()), {}
        return rows

    @property
    def pending(self) -> int:
        return len(self._pending)


class MonitorHub:
    """See the module docstring; :meth:`start`, :meth:`stop`, :meth:`open`, :meth:`close`."""

    def __init__(
        self, store: Store, environment: dict[str, list[str]] | None = None, max_streams: int = 20
    ) -> None:
        self.store = store
        self.environment = environment or {}
        self.max_streams = max_streams
        self._inbox: queue.Queue[tuple[str, bytes]] = queue.Queue(maxsize=100_000)
        self._lock = threading.Lock()
        self._channels: dict[tuple[str, str], _Channel] = {}
        self._online: dict[str, bool] = {}
        self._sensors: dict[tuple[str, str], SensorChannelState] = {}
        self._alarms: dict[tuple[str, str], Alarm] = {}
        self._rules: dict[tuple[str, str], RuleState] = {}
        self._contexts: OrderedDict[str, _Context | None] = OrderedDict()
        self._rows: dict[str, str] = {}
        self._subscriptions: set[Subscription] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.dropped = 0

    # --- lifecycle ----------------------------------------------------------------------------

    def attach(self, connection: MqttConnection) -> None:
        """Hear alarms on the queue's connection (the queue hands over the rest: :meth:`on_message`)."""
        connection.subscribe(topics.ALL_ALARMS, self.on_message)

    def start(self) -> None:
        self._seed()
        self._thread = threading.Thread(target=self._run, name="experiments-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _seed(self) -> None:
        """The stations the store knows, so an offline one is on the monitor before it speaks."""
        try:
            stations, _ = self.store.stations(0, MAX_ROWS)
        except StoreError as exc:
            log.warning("monitor: cannot read the stations: %s", exc)
            return
        for station in stations:
            self._online.setdefault(station.id, station.online)
            for channel in station.channels:
                self._channels.setdefault((station.id, channel.id), _Channel(label=channel.label))
            self._refresh_station(station.id)

    # --- streams ------------------------------------------------------------------------------

    def open(self) -> tuple[Subscription, list[str]]:
        """A new stream and every row as it is now; TooManyStreams when all are taken."""
        subscription = Subscription(asyncio.get_running_loop())
        with self._lock:
            if len(self._subscriptions) >= self.max_streams:
                raise TooManyStreams(
                    f"{self.max_streams} live monitor streams are open, the most this service allows: "
                    "close a monitor tab, or raise LABDCS_MONITOR_STREAMS"
                )
            self._subscriptions.add(subscription)
            return subscription, [self._rows[k] for k in sorted(self._rows)]

    def close(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    @property
    def streams(self) -> int:
        return len(self._subscriptions)

    def rules_of(self, station: str) -> list[tuple[str, str]]:
        """(interlock device, rule) of every rule heard that acts on the station or reads its sensors."""
        with self._lock:
            rules = list(self._rules.items())
        return sorted(key for key, rule in rules if self._rule_concerns(rule, station))

    def rows(self) -> list[MonitorRow]:
        with self._lock:
            data = [self._rows[k] for k in sorted(self._rows)]
        return [MonitorRow.model_validate_json(d) for d in data]

    # --- incoming messages --------------------------------------------------------------------

    @property
    def backlog(self) -> int:
        """Messages heard and not taken into the picture yet."""
        return self._inbox.qsize()

    def on_message(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """From paho's thread: queue only."""
        try:
            self._inbox.put_nowait((topic, payload))
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                topic, payload = self._inbox.get(timeout=0.25)
            except queue.Empty:
                continue
            try:
                self.handle(topic, payload)
            except Exception:
                log.exception("monitor: cannot handle a message on %s", topic)

    def handle(self, topic: str, payload: bytes) -> None:
        """Take one contract message into the picture and push the rows it changed."""
        if not payload:
            return
        try:
            info, message = decode(topic, payload)
        except ContractError:
            return
        device = info.device
        if info.kind is TopicKind.META and isinstance(message, DeviceMeta):
            if message.kind is DeviceKind.CYCLER:
                for meta in message.channels:
                    known = self._channel(device, meta.id)
                    if known is not None:
                        known.label = meta.label
                self._refresh_station(device)
        elif info.kind is TopicKind.ONLINE and isinstance(message, Online):
            self._online[device] = message.online
            self._refresh_station(device)
        elif info.kind is TopicKind.STATE and isinstance(message, CyclerChannelState):
            assert info.channel is not None
            channel = self._channel(device, info.channel)
            if channel is None:
                return
            channel.state, channel.received = message, now_ms()
            channel.trend.update(message)
            self._online.setdefault(device, True)
            self._refresh(device, info.channel)
        elif info.kind is TopicKind.STATE and isinstance(message, SensorChannelState):
            assert info.channel is not None
            if self._stations_of_sensor(device, info.channel):
                self._sensors[(device, info.channel)] = message
                for station in self._stations_of_sensor(device, info.channel):
                    self._refresh_station(station)
        elif info.kind is TopicKind.STATE and isinstance(message, RuleState):
            assert info.channel is not None
            self._rules[(device, info.channel)] = message
            for station in self._stations():
                if self._rule_concerns(message, station):
                    self._refresh_station(station)
        elif info.kind is TopicKind.ALARM and isinstance(message, Alarm):
            self._alarms[(device, message.alarm)] = message
            for station in self._stations():
                if self._alarm_concerns(message, station):
                    self._refresh_station(station)

    def _channel(self, device: str, channel_id: str) -> _Channel | None:
        """The channel's entry, made on first sight; None past :data:`MAX_ROWS` (not shown)."""
        key = (device, channel_id)
        if key not in self._channels and len(self._channels) < MAX_ROWS:
            self._channels[key] = _Channel()
        return self._channels.get(key)

    # --- what concerns a station --------------------------------------------------------------

    def _stations(self) -> set[str]:
        return {device for device, _ in self._channels}

    def _stations_of_sensor(self, device: str, channel: str) -> list[str]:
        return [s for s, refs in self.environment.items() if f"{device}/{channel}" in refs or device in refs]

    def _rule_concerns(self, rule: RuleState, station: str) -> bool:
        if any(t.device == station for t in rule.targets) or any(h.device == station for h in rule.hold):
            return True
        return any(f"{ref}/" in rule.detail for ref in self.environment.get(station, []))

    def _alarm_concerns(self, alarm: Alarm, station: str) -> bool:
        if alarm.device == station:
            return True
        refs = self.environment.get(station, [])
        if any(alarm.device == ref.split("/")[0] for ref in refs):
            return True
        rule = self._rules.get((alarm.device, alarm.alarm))
        return rule is not None and self._rule_concerns(rule, station)

    # --- rows ---------------------------------------------------------------------------------

    def _refresh_station(self, station: str) -> None:
        for device, channel in list(self._channels):
            if device == station:
                self._refresh(device, channel)

    def _refresh(self, station: str, channel_id: str) -> None:
        row = self._row(station, channel_id)
        data = row.model_dump_json()
        with self._lock:
            if self._rows.get(row.key) == data:
                return
            self._rows[row.key] = data
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            subscription.offer(row.key, data)

    def _row(self, station: str, channel_id: str) -> MonitorRow:
        channel = self._channels.get((station, channel_id)) or _Channel()
        row = MonitorRow(
            key=f"{station}/{channel_id}",
            station=station,
            channel=channel_id,
            label=channel.label,
            online=self._online.get(station, False),
            alarms=[
                AlarmView(
                    device=a.device,
                    alarm=a.alarm,
                    severity=a.severity.value,
                    message=a.message,
                    active=a.active,
                    acknowledged=a.acknowledged is not None,
                )
                for a in self._alarms.values()
                if (a.active or a.acknowledged is None) and self._alarm_concerns(a, station)
            ],
            interlocks=[
                RuleView(rule=rule, status=r.status.value, active=r.active, reason=r.reason)
                for (_, rule), r in sorted(self._rules.items())
                if self._rule_concerns(r, station)
            ],
            environment=[
                SensorView(sensor=f"{d}/{c}", status=s.status.value, values=dict(s.values), ts=s.ts)
                for (d, c), s in sorted(self._sensors.items())
                if station in self._stations_of_sensor(d, c)
            ],
        )
        state = channel.state
        if state is None:
            return row
        row.fault, row.run_state, row.mode = state.fault, state.run_state.value, state.mode
        row.voltage, row.current, row.power, row.temperature = (
            state.voltage, state.current, state.power, state.temperature,
        )  # fmt: skip
        row.cycle, row.step_index, row.step_time, row.test_time = (
            state.cycle_index, state.step_index, state.step_time, state.test_time,
        )  # fmt: skip
        row.charge_ah, row.discharge_ah = state.charge_capacity, state.discharge_capacity
        row.experiment, row.protocol, row.end_reason = state.experiment, state.protocol, state.step_end_reason
        row.ts, row.received = state.ts, channel.received
        context = self._context(state.experiment) if state.experiment else None
        if context is not None:
            row.name, row.cell, row.operator, row.protocol, row.team = (
                context.name, context.cell, context.operator, context.protocol, context.team,
            )  # fmt: skip
        if state.step_index and state.run_state.value in ("running", "paused"):
            known = context is not None and state.step_index <= len(context.steps)
            step = context.steps[state.step_index - 1] if context is not None and known else None
            if step is not None:
                row.step = format_step(step)
                end = channel.trend.nearest_end(step, context.capacity_ah if context else None)
                if end is not None:
                    row.end, row.end_eta_s = end.condition, end.eta_s
            else:
                row.step = f"step {state.step_index} ({state.step_type})"
        return row

    def _context(self, experiment_id: str) -> _Context | None:
        if experiment_id in self._contexts:
            self._contexts.move_to_end(experiment_id)
            return self._contexts[experiment_id]
        context: _Context | None = None
        try:
            experiment = self.store.experiment(experiment_id)
            doc = self.store.protocol(experiment.protocol)
            protocol = Protocol.model_validate(doc.document)
            capacity = experiment.capacity_ah or protocol.parameters.capacity_ah
            if capacity is None:
                _, capacity = self.store.cell_envelope(self.store.cell(experiment.cell))
            context = _Context(
                name=experiment.name,
                cell=experiment.cell,
                operator=experiment.operator,
                protocol=f"{doc.name} v{doc.version}",
                team=experiment.team,
                steps=leaves(protocol),
                capacity_ah=capacity,
            )
        except (NotFound, StoreError, ValueError) as exc:
            log.debug("monitor: experiment %s: %s", experiment_id, exc)
        if context is None:
            return None  # not ours (or not yet readable): asked again with the next state
        self._contexts[experiment_id] = context
        if len(self._contexts) > 256:
            self._contexts.popitem(last=False)
        return context


def sse(event: str | None, data: str) -> str:
    """One Server-Sent Event (``data`` is one line of JSON)."""
    return (f"event: {event}\n" if event else "") + f"data: {data}\n\n"


#: What a row says about a run, withheld from a login that may not read the run's team.
RUN_FIELDS = ("experiment", "name", "cell", "operator", "protocol", "step", "end", "end_eta_s", "end_reason")


def visible(data: str, teams: list[str] | None) -> str:
    """A row (JSON) as a login that reads ``teams`` (None: every team) may see it: the station, its
    values and alarms always; the run's names only when its team is readable."""
    if teams is None or '"team":null' in data:
        return data
    row = json.loads(data)
    if row.get("team") in teams:
        return data
    row.update(dict.fromkeys(RUN_FIELDS), name="a run of another team")
    return json.dumps(row, separators=(",", ":"))


def snapshot(rows: list[str]) -> str:
    return sse("snapshot", "[" + ",".join(rows) + "]")
