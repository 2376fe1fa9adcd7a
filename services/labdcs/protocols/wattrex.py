"""Import protocols written in the WattRex line format (one instruction per line).

::

    CC, 2.5, VOLTAGE, 4.2      # constant current 2.5 A (positive: charge) until 4.2 V
    CV, 4.2, CURRENT, 0.1      # hold 4.2 V until the current falls to 0.1 A
    WAIT, 60                   # rest 60 s
    CC, -2.5, VOLTAGE, 2.8     # discharge at 2.5 A until 2.8 V
    CP, -10, TIME, 600         # discharge at 10 W for 600 s

Modes: ``CC`` (A), ``CV`` (V), ``CP`` (W) and ``WAIT`` (s); the sign of a CC/CP setpoint is the
direction (+ charge, - discharge, as in our contract). Limit types: ``VOLTAGE`` (V), ``CURRENT``
(A, magnitude), ``TIME`` (s), ``POWER`` (W, magnitude) and ``CAPACITY`` (Ah). The original rules
are kept (a CC step cannot be limited by CURRENT, a CV step not by VOLTAGE, a CV setpoint is
positive); unlike the original, a ``-1`` "no limit" is refused, because every step must end, and one
parser reads every line (fields separated by commas, spaces around them ignored).
"""

from __future__ import annotations

from labdcs.protocols.loading import ProtocolError
from labdcs.protocols.model import (
    ConstantCurrent,
    ConstantPower,
    ConstantVoltage,
    Current,
    Direction,
    EndCondition,
    Leaf,
    Protocol,
    Quantity,
    Rest,
    Step,
)

_LIMITS = {
    "VOLTAGE": (Quantity.VOLTAGE, "V"),
    "CURRENT": (Quantity.CURRENT, "A"),
    "TIME": (Quantity.TIME, "s"),
    "POWER": (Quantity.POWER, "W"),
    "CAPACITY": (Quantity.CAPACITY, "Ah"),
}
_FORBIDDEN = {"CC": "CURRENT", "CV": "VOLTAGE", "CP": "POWER"}


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{what} {text!r} is not a finite number")
    return value


def _condition(limit_type: str, text: str, direction: Direction | None) -> EndCondition:
    if limit_type not in _LIMITS:
        raise ValueError(f"unknown limit type {limit_type!r}; use {', '.join(_LIMITS)}")
    quantity, unit = _LIMITS[limit_type]
    value = _number(text, f"{limit_type} limit")
    if value == -1:
        raise ValueError(f"{limit_type} limit -1 ('no limit') is refused: every step must be able to end")
    if quantity is Quantity.VOLTAGE:
        op = "<=" if direction is Direction.DISCHARGE else ">="
    elif quantity in (Quantity.CURRENT, Quantity.POWER):
        op, value = "<=", abs(value)
    else:
        op = ">="
    return EndCondition(quantity=quantity, op=op, value=value, unit=unit)


def _instruction(fields: list[str]) -> Leaf:
    mode = fields[0].upper()
    if mode == "WAIT":
        if len(fields) != 2:
            raise ValueError(f"WAIT takes exactly one value (seconds), got {len(fields) - 1}")
        seconds = _number(fields[1], "WAIT time")
        if seconds <= 0:
            raise ValueError(f"WAIT time {seconds:g} s must be positive")
        return Rest(until=[EndCondition(quantity=Quantity.TIME, op=">=", value=seconds, unit="s")])
    if mode not in _FORBIDDEN:
        raise ValueError(f"unknown mode {fields[0]!r}; use CC, CV, CP or WAIT")
    if len(fields) != 4:
        raise ValueError(f"{mode} needs 4 fields (MODE, setpoint, LIMIT_TYPE, limit), got {len(fields)}")
    setpoint = _number(fields[1], f"{mode} setpoint")
    limit_type = fields[2].upper()
    if limit_type == _FORBIDDEN[mode]:
        raise ValueError(
            f"a {mode} instruction cannot be limited by {limit_type} (it holds that quantity constant)"
        )
    if setpoint == 0:
        raise ValueError(f"{mode} setpoint 0 does nothing; use WAIT to rest")
    if mode == "CV":
        if setpoint < 0:
            raise ValueError(f"CV setpoint {setpoint:g} V must be positive")
        return ConstantVoltage(voltage_v=setpoint, until=[_condition(limit_type, fields[3], None)])
    direction = Direction.CHARGE if setpoint > 0 else Direction.DISCHARGE
    until = [_condition(limit_type, fields[3], direction)]
    if mode == "CC":
        return ConstantCurrent(direction=direction, current=Current(value=abs(setpoint)), until=until)
    return ConstantPower(direction=direction, power_w=abs(setpoint), until=until)


def parse_wattrex(text: str, name: str = "wattrex-import") -> Protocol:
    """The protocol of a WattRex profile; ProtocolError lists every bad line."""
    steps: list[Step] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = [field.strip() for field in line.split(",")]
        try:
            steps.append(_instruction(fields))
        except ValueError as exc:
            problems.append(f"line {number} ({line}): {exc}")
    if not steps and not problems:
        problems.append("the profile has no instructions")
    if problems:
        raise ProtocolError(problems)
    return Protocol(name=name, description="imported from a WattRex profile", steps=steps)
