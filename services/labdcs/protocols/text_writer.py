"""Writing the text form (:mod:`labdcs.protocols.text`, where its grammar is described): the canonical
text of a protocol, and the line of one step or end condition as people read it in the UI."""

from __future__ import annotations

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
    Protocol,
    Quantity,
    Rest,
    Step,
)
from labdcs.protocols.text import default_op


def _number(value: float) -> str:
    return repr(float(value)).removesuffix(".0") if float(value).is_integer() else repr(float(value))


def _duration(seconds: float) -> str:
    for unit, size in (("hours", 3600.0), ("minutes", 60.0)):
        if seconds >= size and (seconds / size).is_integer():
            count = seconds / size
            return f"{_number(count)} {unit[:-1] if count == 1 else unit}"
    return f"{_number(seconds)} {'second' if seconds == 1 else 'seconds'}"


def _format_current(current: Current) -> str:
    if current.unit == "A":
        return f"{_number(current.value)} A"
    inverse = 1.0 / current.value
    if current.value < 1 and inverse.is_integer() and 1.0 / inverse == current.value:
        return f"C/{_number(inverse)}"
    return f"{_number(current.value)}C"


def _format_value(condition: EndCondition) -> str:
    if condition.quantity is Quantity.TIME:
        return _duration(condition.value)
    if condition.unit == "C":
        return _format_current(Current(value=condition.value, unit="C"))
    return f"{_number(condition.value)} {condition.unit}"


def _format_condition(condition: EndCondition, direction: Direction | None) -> str:
    text = _format_value(condition)
    if condition.op != default_op(condition.quantity, direction):
        text = f"{'above' if condition.op == '>=' else 'below'} {text}"
    if condition.goto != Goto.NEXT.value:
        target = (
            condition.goto
            if condition.goto in (Goto.END.value, Goto.ABORT.value)
            else f"goto {condition.goto}"
        )
        text += f" then {target}"
    return text


def _format_endings(conditions: list[EndCondition], direction: Direction | None) -> str:
    """``for X`` for a leading plain time condition, then ``until a or b``."""
    rest = list(conditions)
    text = ""
    first = rest[0] if rest else None
    if (
        first is not None
        and first.quantity is Quantity.TIME
        and first.op == ">="
        and first.goto == Goto.NEXT.value
    ):
        text = f" for {_duration(first.value)}"
        rest = rest[1:]
    if rest:
        text += (
            (" or" if text else "") + " until " + " or ".join(_format_condition(c, direction) for c in rest)
        )
    return text


def _format_leaf(step: Leaf) -> str:
    text = _format_leaf_body(step)
    if step.record_period_s is not None:
        text += f" ({_duration(step.record_period_s)} period)"
    return text


def _format_leaf_body(step: Leaf) -> str:
    label = f"[{step.id}] " if step.id else ""
    if isinstance(step, Rest):
        return f"{label}Rest{_format_endings(step.until, None)}"
    if isinstance(step, ConstantCurrent):
        head = f"{step.direction.value.capitalize()} at {_format_current(step.current)}"
        return label + head + _format_endings(step.until, step.direction)
    if isinstance(step, CcCv):
        head = (
            f"{step.direction.value.capitalize()} at {_format_current(step.current)} "
            f"and hold at {_number(step.voltage_v)} V"
        )
        return label + head + _format_endings(step.until, step.direction)
    if isinstance(step, ConstantVoltage):
        head = f"Hold at {_number(step.voltage_v)} V"
        if step.current_limit is not None:
            head += f" limited to {_format_current(step.current_limit)}"
        return label + head + _format_endings(step.until, None)
    if isinstance(step, ConstantPower):
        head = f"{step.direction.value.capitalize()} at {_number(step.power_w)} W"
        return label + head + _format_endings(step.until, step.direction)
    head = (
        f"Pulse {step.direction.value} at {_format_current(step.current)} for {_duration(step.on_s)}, "
        f"rest {_duration(step.off_s)}, {step.count} {'time' if step.count == 1 else 'times'}"
    )
    until = " or ".join(_format_condition(c, step.direction) for c in step.until)
    return label + head + (f" until {until}" if until else "")


def format_step(step: Leaf) -> str:
    """One step as its line of the text form (``Charge at 1C until 4.2 V``): what people read."""
    return _format_leaf(step)


def format_condition(condition: EndCondition, direction: Direction | None = None) -> str:
    """One end condition as the text form writes it after ``until`` (``4.2 V``, ``C/50 then end``)."""
    return _format_condition(condition, direction)


def _format_steps(steps: list[Step], indent: int, out: list[str]) -> None:
    for step in steps:
        if isinstance(step, Loop):
            label = f"[{step.id}] " if step.id else ""
            word = "Cycle" if step.cycle else "Repeat"
            out.append(" " * indent + f"{label}{word} {step.count} {'time' if step.count == 1 else 'times'}:")
            _format_steps(step.steps, indent + 4, out)
        else:
            out.append(" " * indent + _format_leaf(step))


def format_protocol(protocol: Protocol) -> str:
    """The canonical text form of ``protocol``."""
    out = [f"Protocol: {protocol.name}", f"Version: {protocol.version}"]
    if protocol.description:
        out.append(f"Description: {protocol.description}")
    if protocol.parameters.capacity_ah is not None:
        out.append(f"Capacity: {_number(protocol.parameters.capacity_ah)} Ah")
    safety = protocol.safety
    items = [
        (name, value, unit)
        for name, value, unit in (
            ("v_min", safety.v_min, "V"),
            ("v_max", safety.v_max, "V"),
            ("i_min", safety.i_min, "A"),
            ("i_max", safety.i_max, "A"),
            ("t_max", safety.t_max_c, "degC"),
            ("capacity_max", safety.capacity_max_ah, "Ah"),
        )
        if value is not None
    ]
    if items:
        out.append("Safety: " + ", ".join(f"{name} {_number(value)} {unit}" for name, value, unit in items))
    record = [f"every {_duration(protocol.record.period_s)}"]
    if protocol.record.delta_v is not None:
        record.append(f"on {_number(protocol.record.delta_v)} V")
    if protocol.record.delta_i is not None:
        record.append(f"on {_number(protocol.record.delta_i)} A")
    out.append("Record: " + ", ".join(record))
    out.append("")
    _format_steps(protocol.steps, 0, out)
    return "\n".join(out) + "\n"
