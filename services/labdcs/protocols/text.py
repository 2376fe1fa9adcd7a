"""The text form of a protocol: what people write by hand, in the style of PyBaMM experiment strings.
The users' description, with examples a test parses, is docs/protocols.md.

::

    Protocol: cc-cv-cycling
    Version: 3
    Capacity: 2.5 Ah
    Safety: v_min 2.5 V, v_max 4.25 V, i_min -5 A, i_max 5 A, t_max 55 degC
    Record: every 1 s, on 5 mV, on 10 mA

    Rest for 30 minutes
    Cycle 100 times:
        [chg] Charge at 1 A until 4.2 V or 3 hours then abort
        Hold at 4.2 V until C/50
        Rest for 10 minutes
        Discharge at 0.5C until 2.5 V
        Rest for 10 minutes

Steps, one per line (an optional ``[id]`` first):

- ``Rest for <duration>`` / ``Rest until <conditions>``
- ``Charge|Discharge at <current>`` (A, mA, ``0.5C``, ``C/20``): constant current
- ``Charge|Discharge at <power>`` (W, mW): constant power
- ``Charge|Discharge at <current> and hold at <V> V``: CC-CV
- ``Hold at <V> V [limited to <current>]``: constant voltage
- ``Pulse charge|discharge at <current> for <duration>, rest <duration>, <n> times``
- ``Cycle <n> times:`` (each pass is a cycle) / ``Repeat <n> times:`` (no cycle boundary), with the
  repeated steps indented below.

Endings: ``for <duration>`` and/or ``until <condition> [or <condition>]...``; a condition is a value
with its unit (``4.2 V``, ``C/50``, ``50 mA``, ``1.2 Ah``, ``5 Wh``, ``10 W``, ``45 degC``, ``2 hours``),
optionally preceded by ``above``/``below`` when the default comparison is not meant (voltage: above
while charging, below while discharging; current and power: below; the others: above), and optionally
followed by ``then abort``, ``then end`` or ``then goto <id>``.

:func:`parse` turns text into a :class:`Protocol`; :func:`labdcs.protocols.text_writer.format_protocol`
writes the canonical text back; ``parse(format_protocol(p)) == p`` for every protocol.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import ValidationError

from labdcs.protocols.model import (
    CcCv,
    ConstantCurrent,
    ConstantPower,
    ConstantVoltage,
    Current,
    Direction,
    EndCondition,
    Goto,
    Leaf,
    Loop,
    Parameters,
    Protocol,
    Pulses,
    Quantity,
    Record,
    Rest,
    SafetyLimits,
    Step,
)


class TextError(ValueError):
    """Text that is not a protocol; the message names the line."""

    def __init__(self, line: int, text: str, problem: str) -> None:
        super().__init__(f"line {line}: {problem}: {text.strip()!r}" if text else f"line {line}: {problem}")
        self.line = line
        self.problem = problem


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TIME_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "secs": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "min": 60.0,
    "mins": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hr": 3600.0,
    "hrs": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
#: unit word -> (quantity, factor to the model's unit, model unit)
_UNITS: dict[str, tuple[Quantity, float, str]] = {
    "v": (Quantity.VOLTAGE, 1.0, "V"),
    "mv": (Quantity.VOLTAGE, 1e-3, "V"),
    "a": (Quantity.CURRENT, 1.0, "A"),
    "ma": (Quantity.CURRENT, 1e-3, "A"),
    "ah": (Quantity.CAPACITY, 1.0, "Ah"),
    "mah": (Quantity.CAPACITY, 1e-3, "Ah"),
    "wh": (Quantity.ENERGY, 1.0, "Wh"),
    "mwh": (Quantity.ENERGY, 1e-3, "Wh"),
    "w": (Quantity.POWER, 1.0, "W"),
    "mw": (Quantity.POWER, 1e-3, "W"),
    "degc": (Quantity.TEMPERATURE, 1.0, "degC"),
    "°c": (Quantity.TEMPERATURE, 1.0, "degC"),
    "oc": (Quantity.TEMPERATURE, 1.0, "degC"),
    "c": (Quantity.CURRENT, 1.0, "C"),
    **{word: (Quantity.TIME, factor, "s") for word, factor in _TIME_UNITS.items()},
}
_VALUE = re.compile(rf"^(?:(?P<num>{_NUMBER})\s*(?P<unit>[a-zA-Z°]+)|C/(?P<den>{_NUMBER}))$", re.IGNORECASE)
_LABEL = re.compile(r"^\[(?P<id>[^\]]+)\]\s*(?P<rest>.*)$")
_LOOP = re.compile(r"^(?P<kind>cycle|repeat)\s+(?P<n>\d+)\s+times?\s*:$", re.IGNORECASE)
_PULSE = re.compile(
    r"^pulse\s+(?P<dir>charge|discharge)\s+at\s+(?P<cur>.+?)\s+for\s+(?P<on>.+?)\s*,\s*rest\s+(?P<off>.+?)"
    r"\s*,\s*(?P<n>\d+)\s+times?$",
    re.IGNORECASE,
)
_CCCV = re.compile(
    r"^(?P<dir>charge|discharge)\s+at\s+(?P<cur>.+?)\s+and\s+hold\s+at\s+(?P<v>.+)$", re.IGNORECASE
)
_DRIVE = re.compile(r"^(?P<dir>charge|discharge)\s+at\s+(?P<value>.+)$", re.IGNORECASE)
_HOLD = re.compile(r"^hold\s+at\s+(?P<v>.+?)(?:\s+limited\s+to\s+(?P<lim>.+))?$", re.IGNORECASE)
_REST = re.compile(r"^rest$", re.IGNORECASE)
_PERIOD = re.compile(r"^(?P<step>.+?)\s*\((?P<period>[^()]+?)\s+period\)$", re.IGNORECASE)
_THEN = re.compile(r"^(?P<cond>.+?)\s+then\s+(?:goto\s+(?P<id>\S+)|(?P<word>abort|end|next))$", re.IGNORECASE)


@dataclass(frozen=True)
class _Line:
    number: int
    indent: int
    text: str


def _value(text: str, line: _Line) -> tuple[Quantity, float, str]:
    """``4.2 V`` -> (voltage, 4.2, "V"); ``C/50`` -> (current, 0.02, "C"); ``2 h`` -> (time, 7200, "s")."""
    match = _VALUE.match(text.strip())
    if match is None:
        raise TextError(line.number, line.text, f"cannot read the value {text.strip()!r}")
    if match["den"] is not None:
        denominator = float(match["den"])
        if denominator <= 0:
            raise TextError(line.number, line.text, f"C/{match['den']} is not a C-rate")
        return Quantity.CURRENT, 1.0 / denominator, "C"
    unit = match["unit"].lower()
    if unit not in _UNITS:
        raise TextError(line.number, line.text, f"unknown unit {match['unit']!r}")
    quantity, factor, model_unit = _UNITS[unit]
    return quantity, float(match["num"]) * factor, model_unit


def _expect(text: str, line: _Line, *quantities: Quantity) -> tuple[float, str]:
    quantity, value, unit = _value(text, line)
    if quantity not in quantities:
        wanted = " or ".join(q.value for q in quantities)
        raise TextError(
            line.number, line.text, f"{text.strip()!r} is a {quantity.value}, expected a {wanted}"
        )
    return value, unit


def _current(text: str, line: _Line) -> Current:
    value, unit = _expect(text, line, Quantity.CURRENT)
    if value <= 0:
        raise TextError(line.number, line.text, "the current is a magnitude: give it without a sign")
    return Current(value=value, unit="C" if unit == "C" else "A")


def default_op(quantity: Quantity, direction: Direction | None) -> str:
    if quantity is Quantity.VOLTAGE:
        return "<=" if direction is Direction.DISCHARGE else ">="
    if quantity in (Quantity.CURRENT, Quantity.POWER):
        return "<="
    return ">="


def _condition(text: str, direction: Direction | None, line: _Line) -> EndCondition:
    goto = Goto.NEXT.value
    then = _THEN.match(text.strip())
    if then is not None:
        text = then["cond"]
        goto = then["id"] if then["id"] else then["word"].lower()
    words = text.strip().split(maxsplit=1)
    op: str | None = None
    if len(words) == 2 and words[0].lower() in ("above", "below"):
        op = ">=" if words[0].lower() == "above" else "<="
        text = words[1]
    quantity, value, unit = _value(text, line)
    return EndCondition(
        quantity=quantity, op=op or default_op(quantity, direction), value=value, unit=unit, goto=goto
    )


def _split_ending(text: str) -> tuple[str, str | None, str | None]:
    """``X for 2 hours or until 4.2 V`` -> (``X``, ``2 hours``, ``4.2 V``)."""
    lowered = text.lower()
    until_at = lowered.find(" until ")
    head, until = (text, None) if until_at < 0 else (text[:until_at], text[until_at + 7 :])
    if head.lower().endswith(" or"):
        head = head[:-3]
    for_at = head.lower().find(" for ")
    duration = None
    if for_at >= 0:
        head, duration = head[:for_at], head[for_at + 5 :]
    return head.strip(), duration, until


def _endings(
    duration: str | None, until: str | None, direction: Direction | None, line: _Line
) -> list[EndCondition]:
    conditions: list[EndCondition] = []
    if duration is not None:
        seconds, _ = _expect(duration, line, Quantity.TIME)
        conditions.append(EndCondition(quantity=Quantity.TIME, op=">=", value=seconds, unit="s"))
    if until is not None:
        parts = [part for part in re.split(r"\s+or\s+", until.strip(), flags=re.IGNORECASE) if part]
        if not parts:
            raise TextError(line.number, line.text, "'until' needs a condition")
        conditions.extend(_condition(part, direction, line) for part in parts)
    return conditions


def _leaf(text: str, step_id: str | None, line: _Line) -> Leaf:
    pulse = _PULSE.match(text)
    until: str | None = None
    until_at = text.lower().find(" until ")
    if pulse is None and until_at >= 0 and text.lower().startswith("pulse"):
        pulse, until = _PULSE.match(text[:until_at].strip()), text[until_at + 7 :]
    if pulse is not None:
        direction = Direction(pulse["dir"].lower())
        on_s, _ = _expect(pulse["on"], line, Quantity.TIME)
        off_s, _ = _expect(pulse["off"], line, Quantity.TIME)
        return Pulses(
            id=step_id,
            direction=direction,
            current=_current(pulse["cur"], line),
            on_s=on_s,
            off_s=off_s,
            count=int(pulse["n"]),
            until=_endings(None, until, direction, line),
        )
    head, duration, until = _split_ending(text)
    if _REST.match(head):
        return Rest(id=step_id, until=_endings(duration, until, None, line))
    cccv = _CCCV.match(head)
    if cccv is not None:
        direction = Direction(cccv["dir"].lower())
        voltage, _ = _expect(cccv["v"], line, Quantity.VOLTAGE)
        return CcCv(
            id=step_id,
            direction=direction,
            current=_current(cccv["cur"], line),
            voltage_v=voltage,
            until=_endings(duration, until, direction, line),
        )
    hold = _HOLD.match(head)
    if hold is not None:
        voltage, _ = _expect(hold["v"], line, Quantity.VOLTAGE)
        limit = _current(hold["lim"], line) if hold["lim"] else None
        return ConstantVoltage(
            id=step_id, voltage_v=voltage, current_limit=limit, until=_endings(duration, until, None, line)
        )
    drive = _DRIVE.match(head)
    if drive is not None:
        direction = Direction(drive["dir"].lower())
        quantity, value, _ = _value(drive["value"], line)
        endings = _endings(duration, until, direction, line)
        if quantity is Quantity.POWER:
            return ConstantPower(id=step_id, direction=direction, power_w=value, until=endings)
        if quantity is Quantity.CURRENT:
            return ConstantCurrent(
                id=step_id, direction=direction, current=_current(drive["value"], line), until=endings
            )
        raise TextError(
            line.number, line.text, f"charge/discharge at a {quantity.value}: use a current or a power"
        )
    raise TextError(
        line.number,
        line.text,
        "not a step (expected Rest, Charge at, Discharge at, Hold at, Pulse, "
        "Cycle N times: or Repeat N times:)",
    )


def _lines(text: str) -> list[_Line]:
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        content = raw.split("#", 1)[0].rstrip().expandtabs(4)
        if content.strip():
            lines.append(_Line(number, len(content) - len(content.lstrip()), content.strip()))
    return lines


def _block(lines: list[_Line], start: int, indent: int) -> tuple[list[Step], int]:
    """Steps at exactly ``indent`` from ``lines[start]`` on; returns them and the index after the block."""
    steps: list[Step] = []
    index = start
    while index < len(lines) and lines[index].indent >= indent:
        line = lines[index]
        if line.indent != indent:
            raise TextError(line.number, line.text, "unexpected indentation")
        step_id, text = None, line.text
        label = _LABEL.match(text)
        if label is not None:
            step_id, text = label["id"].strip(), label["rest"]
        loop = _LOOP.match(text)
        if loop is None:
            period = _PERIOD.match(text)
            if period is not None:
                text = period["step"]
            try:
                leaf = _leaf(text, step_id, line)
                if period is not None:
                    seconds, _ = _expect(period["period"], line, Quantity.TIME)
                    leaf = leaf.model_copy(update={"record_period_s": seconds})
                    type(leaf).model_validate(leaf.model_dump())
                steps.append(leaf)
            except ValidationError as exc:
                raise TextError(line.number, line.text, _first_error(exc)) from None
            index += 1
            continue
        if index + 1 >= len(lines) or lines[index + 1].indent <= indent:
            raise TextError(line.number, line.text, "a loop needs its steps indented below it")
        body, index = _block(lines, index + 1, lines[index + 1].indent)
        try:
            steps.append(
                Loop(id=step_id, count=int(loop["n"]), cycle=loop["kind"].lower() == "cycle", steps=body)
            )
        except ValidationError as exc:
            raise TextError(line.number, line.text, _first_error(exc)) from None
    return steps, index


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else str(error["msg"])


def _header(protocol: dict[str, object], key: str, value: str, line: _Line) -> None:
    key = key.lower()
    if key == "protocol":
        protocol["name"] = value
    elif key == "version":
        if not value.isdigit():
            raise TextError(line.number, line.text, "the version is a whole number")
        protocol["version"] = int(value)
    elif key == "description":
        protocol["description"] = value
    elif key == "capacity":
        capacity, _ = _expect(value, line, Quantity.CAPACITY)
        protocol["parameters"] = Parameters(capacity_ah=capacity)
    elif key == "safety":
        limits: dict[str, float] = {}
        names = {"v_min": Quantity.VOLTAGE, "v_max": Quantity.VOLTAGE, "i_min": Quantity.CURRENT}
        names |= {"i_max": Quantity.CURRENT, "t_max": Quantity.TEMPERATURE, "capacity_max": Quantity.CAPACITY}
        for item in value.split(","):
            words = item.strip().split(maxsplit=1)
            if len(words) != 2 or words[0].lower() not in names:
                raise TextError(
                    line.number, line.text, f"unknown safety limit {item.strip()!r}: use {', '.join(names)}"
                )
            amount, unit = _expect(words[1], line, names[words[0].lower()])
            if unit == "C":
                raise TextError(line.number, line.text, "safety current limits are given in A")
            field = {"t_max": "t_max_c", "capacity_max": "capacity_max_ah"}.get(
                words[0].lower(), words[0].lower()
            )
            limits[field] = amount
        protocol["safety"] = SafetyLimits.model_validate(limits)
    elif key == "record":
        record: dict[str, float] = {}
        for item in value.split(","):
            words = item.strip().split(maxsplit=1)
            if len(words) == 2 and words[0].lower() == "every":
                record["period_s"], _ = _expect(words[1], line, Quantity.TIME)
            elif len(words) == 2 and words[0].lower() == "on":
                amount, unit = _expect(words[1], line, Quantity.VOLTAGE, Quantity.CURRENT)
                record["delta_v" if unit == "V" else "delta_i"] = amount
            else:
                raise TextError(
                    line.number, line.text, f"cannot read {item.strip()!r}: use 'every 1 s', 'on 5 mV'"
                )
        protocol["record"] = Record.model_validate(record)
    else:
        raise TextError(line.number, line.text, f"unknown header {key!r}")


_HEADER = re.compile(
    r"^(?P<key>protocol|version|description|capacity|safety|record)\s*:\s*(?P<value>.*)$", re.I
)


def parse(text: str, name: str = "unnamed") -> Protocol:
    """The protocol written in ``text``; TextError names the line of the first problem."""
    lines = _lines(text)
    document: dict[str, object] = {"name": name}
    index = 0
    while index < len(lines):
        header = _HEADER.match(lines[index].text)
        if header is None:
            break
        try:
            _header(document, header["key"], header["value"].strip(), lines[index])
        except ValidationError as exc:
            raise TextError(lines[index].number, lines[index].text, _first_error(exc)) from None
        index += 1
    if index >= len(lines):
        raise TextError(lines[-1].number + 1 if lines else 1, "", "the protocol has no steps")
    steps, end = _block(lines, index, lines[index].indent)
    if end < len(lines):
        raise TextError(lines[end].number, lines[end].text, "unexpected indentation")
    try:
        return Protocol.model_validate({**document, "steps": steps})
    except ValidationError as exc:
        raise TextError(lines[0].number, "", _first_error(exc)) from None
