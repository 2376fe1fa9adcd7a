"""``labdcs status`` as a table: one row per device, channel and active alarm, in aligned columns.

Column widths come from the longest cell, so a long status (``inhibited``) or rule name does not
push the rest of its row out of line; colours are applied after padding, since escape codes would
otherwise count as width.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import click

from labdcs.client import AnyChannelState, DeviceSnapshot
from labdcs.contract.models import CyclerChannelState, PowerChannelState, RuleState, SensorChannelState

HEADER = ("DEVICE / CHANNEL", "STATUS", "AGE", "DETAIL")
_COLOURS = {"online": "green", "OFFLINE": "red", "ACTIVE": "red", "fault": "red", "tripped": "red"}


@dataclass(frozen=True)
class Row:
    name: str
    status: str
    age: str
    detail: str


def rows(devices: Mapping[str, DeviceSnapshot], now_ms: float) -> list[Row]:
    """Each device, then its channels (sorted) and its active alarms (oldest first)."""
    out = []
    for name, snap in devices.items():
        online = snap.online is not None and snap.online.online
        model = snap.meta.model if snap.meta else "(no meta)"
        reason = snap.online.reason if snap.online is not None and not online else None
        detail = model + (f"; {reason}" if reason else "")
        out.append(Row(name, "online" if online else "OFFLINE", "", detail))
        for channel, state in sorted(snap.states.items()):
            out.append(Row(f"  {channel}", _status(state), age(now_ms - state.ts), describe(state)))
        for alarm in sorted(snap.alarms.values(), key=lambda a: a.raised):
            if alarm.active:
                acknowledged = f"; acknowledged by {alarm.acknowledged_by}" if alarm.acknowledged_by else ""
                detail = f"[{alarm.severity.value}] {alarm.message}{acknowledged}"
                out.append(Row(f"  alarm {alarm.alarm}", "ACTIVE", age(now_ms - alarm.raised), detail))
    return out


def render(table: list[Row]) -> list[str]:
    """The header and the rows as lines; the first three columns padded to their widest cell."""
    cells = [HEADER, *((r.name, r.status, r.age, r.detail) for r in table)]
    widths = [max(len(row[i]) for row in cells) for i in range(3)]
    lines = []
    for index, (name, status, when, detail) in enumerate(cells):
        padded = status.ljust(widths[1])
        colour = _COLOURS.get(status) if index else None
        shown = click.style(padded, fg=colour) if colour else padded
        line = f"{name.ljust(widths[0])}  {shown}  {when.rjust(widths[2])}  {detail}"
        lines.append(line.rstrip())
    return lines


def age(ms: float) -> str:
    """How long ago, in the unit a person reads at a glance."""
    seconds = max(0.0, ms / 1000)
    for limit, unit, size in ((120, "s", 1), (120 * 60, "min", 60), (48 * 3600, "h", 3600)):
        if seconds < limit:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds / 86400:.0f} d"


def _status(state: AnyChannelState) -> str:
    return state.run_state.value if isinstance(state, CyclerChannelState) else state.status.value


def describe(state: AnyChannelState) -> str:
    """The state's values in words (its status is a column of its own)."""
    notes: list[str] = []
    if isinstance(state, PowerChannelState):
        measured = (
            f"{state.v_mon:.4g} V  {state.i_mon:.4g} A"
            if state.v_mon is not None and state.i_mon is not None
            else "no readback"
        )
        detail = f"set {state.v_set:.4g} V (target {state.v_target:.4g} V)  {measured}"
        notes += [f"trip: {state.trip}"] if state.trip else []
        notes += [f"inhibited: {state.inhibit}"] if state.inhibit else []
    elif isinstance(state, RuleState):
        detail = (state.reason if state.active else state.detail) or state.detail
        notes += ["reset needed"] if state.status == "latched" else []
    elif isinstance(state, CyclerChannelState):
        detail = _describe_cycler(state)
    else:
        assert isinstance(state, SensorChannelState)
        detail = "  ".join(f"{k} {v:.4g}" for k, v in state.values.items()) or "no values"
    notes += [f"fault: {state.fault}"] if state.fault else []
    return "  ".join([detail, *notes])


def _describe_cycler(state: CyclerChannelState) -> str:
    measured = [
        f"{value:.4g} {unit}"
        for value, unit in (
            (state.voltage, "V"),
            (state.current, "A"),
            (state.temperature, "degC"),
        )
        if value is not None
    ]
    regulation = f" ({state.mode})" if state.output and state.mode else ""
    parts = [f"output {'on' if state.output else 'off'}{regulation}"]
    parts += measured or ["no readback"]
    if state.protocol:
        step = f"step {state.step_index}" + (f" {state.step_type}" if state.step_type else "")
        parts.append(f"{state.protocol}: {step}, cycle {state.cycle_index}")
    if state.experiment:
        parts.append(f"experiment {state.experiment}")
    if state.step_end_reason and state.run_state.value in ("finished", "aborted", "error"):
        parts.append(f"ended: {state.step_end_reason}")
    return "  ".join(parts)
