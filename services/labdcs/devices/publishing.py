"""What a power or sensor device says about its channels: their description in the meta, and each
channel's retained state, built from the channel and the instrument's last reading.

States go out every ``publish_period`` and at once after a change (:class:`Publications`); their
timestamps are strictly increasing per channel, so no two states of a channel share an InfluxDB
timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labdcs.contract.models import (
    ChannelKind,
    ChannelMeta,
    CommandMeta,
    DeviceKind,
    PowerChannelState,
    PowerLimits,
    PowerStatus,
    QuantityMeta,
    SensorChannelState,
    SensorStatus,
    Verb,
    now_ms,
)
from labdcs.devices.config import ChannelConfig
from labdcs.devices.power import PowerChannel
from labdcs.drivers.base import Quantity, SensorReading

POWER_QUANTITIES = [
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


# --- meta -----------------------------------------------------------------------------------------


def _setting(verb: Verb, unit: str, low: float, high: float, description: str) -> CommandMeta:
    return CommandMeta(verb=verb, value="number", unit=unit, min=low, max=high, description=description)


def power_channel_meta(channel: ChannelConfig, limits: PowerLimits) -> ChannelMeta:
    """A power channel: its limits and the commands it accepts, with their ranges."""
    commands = [
        _setting(
            Verb.SET_VOLTAGE, "V", limits.min_voltage, limits.max_voltage, "ramp the output to this voltage"
        ),
        _setting(Verb.SET_CURRENT_LIMIT, "A", 0.0, limits.max_current, "program the current limit"),
        _setting(Verb.SET_RAMP_RATE, "V/s", 0.0, limits.max_ramp_rate, "ramp rate for later voltage changes"),
        CommandMeta(verb=Verb.ON, value="none", description="switch the output on"),
        CommandMeta(verb=Verb.OFF, value="none", description="switch the output off"),
        CommandMeta(
            verb=Verb.CLEAR_TRIP,
            value="none",
            description="clear a latched trip; the output stays off",
        ),
    ]
    return ChannelMeta(
        id=channel.id,
        label=channel.label,
        kind=ChannelKind.POWER,
        quantities=POWER_QUANTITIES,
        limits=limits,
        commands=commands,
    )


def sensor_channel_meta(channel: ChannelConfig, sensor: SensorChannel) -> ChannelMeta:
    """A sensor channel: the quantities its instrument measures; it accepts no commands."""
    return ChannelMeta(
        id=channel.id,
        label=channel.label,
        kind=ChannelKind.SENSOR,
        quantities=[
            QuantityMeta(name=q.name, unit=q.unit, description=q.description) for q in sensor.quantities
        ],
    )


# --- states ---------------------------------------------------------------------------------------


@dataclass
class _Publication:
    last: float = float("-inf")
    dirty: bool = True


class Publications:
    """When each channel's state is due, and its timestamps (worker thread only)."""

    def __init__(self, channel_ids: list[str]) -> None:
        self._channels = {channel_id: _Publication() for channel_id in channel_ids}
        self._last_ts: dict[str, int] = {}

    @property
    def channel_ids(self) -> list[str]:
        return list(self._channels)

    def mark(self, channel_id: str) -> None:
        """The channel changed: publish its state at the next tick."""
        self._channels[channel_id].dirty = True

    def mark_all(self) -> None:
        for publication in self._channels.values():
            publication.dirty = True

    def due(self, now: float, period: float) -> list[str]:
        return [
            channel_id
            for channel_id, publication in self._channels.items()
            if publication.dirty or now - publication.last >= period
        ]

    def sent(self, channel_id: str, now: float, period: float | None = None) -> None:
        """The channel's state went out at ``now``.

        With ``period``, a periodic state keeps the cadence (the next one is due a period after
        this one was due, not after the tick that sent it, which wakes a little late): at 10 Hz
        the lateness of every tick would otherwise add up to a few percent fewer states. A state
        sent for a change, or after falling more than a period behind, starts the cadence anew.
        """
        publication = self._channels[channel_id]
        on_time = period is not None and not publication.dirty and now - publication.last < 2 * period
        publication.last = publication.last + period if on_time and period is not None else now
        publication.dirty = False

    def next_due(self, period: float) -> float:
        """When the oldest state is due again by the period (monotonic time)."""
        return min(p.last + period for p in self._channels.values())

    def timestamp(self, channel_id: str) -> int:
        """Now in ms, but strictly after the channel's previous state."""
        ts = max(now_ms(), self._last_ts.get(channel_id, 0) + 1)
        self._last_ts[channel_id] = ts
        return ts


@dataclass(frozen=True)
class StateContext:
    """What the states of one tick share: ``ok``, the instrument answers (else ``fault`` says why);
    ``measured``, the channels' readings are from this tick."""

    ts: int
    seq: int
    boot: str
    kind: DeviceKind
    ok: bool
    fault: str | None
    measured: bool


def power_state(channel: PowerChannel, context: StateContext, inhibit: str | None) -> PowerChannelState:
    """The state of a power channel; ``inhibit``: why the interlock refuses `on` now."""
    ok = context.ok
    reading = channel.reading if context.measured and ok else None
    status = channel.status if ok else PowerStatus.FAULT
    if status is PowerStatus.OFF and inhibit is not None:
        status = PowerStatus.INHIBITED
    return PowerChannelState(
        ts=context.ts,
        seq=context.seq,
        boot=context.boot,
        status=status,
        output=channel.output,
        ramping=channel.ramping and ok,
        v_set=channel.v_set,
        v_target=channel.v_target,
        i_limit=channel.i_limit,
        ramp_rate=channel.ramp_rate,
        v_mon=reading.voltage if reading else None,
        i_mon=reading.current if reading else None,
        compliance=reading.in_compliance if reading else None,
        fault=None if ok else context.fault,
        device_kind=context.kind,
        trip=channel.trip,
        inhibit=inhibit,
        switching_off=channel.on_its_way_off or None,
    )


def sensor_state(sensor: SensorChannel, context: StateContext) -> SensorChannelState:
    """The state of a sensor channel: its values when measured this tick, none otherwise."""
    reading = sensor.reading if context.measured else None
    return SensorChannelState(
        ts=context.ts,
        seq=context.seq,
        boot=context.boot,
        status=SensorStatus.OK if context.ok else SensorStatus.FAULT,
        values=dict(reading.values) if reading is not None else {},
        fault=None if context.ok else context.fault,
        device_kind=context.kind,
    )
