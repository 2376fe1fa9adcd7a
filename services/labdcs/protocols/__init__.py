"""Battery test protocols: the model, its text form, validation, estimates and importers.

- :mod:`labdcs.protocols.model`: the pydantic model (YAML/JSON on disk);
- :mod:`labdcs.protocols.text`: the hand-written text form (PyBaMM experiment style), both ways;
- :mod:`labdcs.protocols.validate`: loading with step-named errors, validation, the estimate;
- :mod:`labdcs.protocols.wattrex`: the WattRex line-format importer.
"""

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
from labdcs.protocols.text import TextError, format_protocol, parse
from labdcs.protocols.validate import (
    Envelope,
    Estimate,
    Problem,
    ProtocolError,
    Report,
    describe,
    estimate,
    load,
    step_name,
    validate,
    walk,
)
from labdcs.protocols.wattrex import parse_wattrex

__all__ = [
    "CcCv",
    "ConstantCurrent",
    "ConstantPower",
    "ConstantVoltage",
    "Current",
    "Direction",
    "EndCondition",
    "Envelope",
    "Estimate",
    "Goto",
    "Leaf",
    "Loop",
    "Parameters",
    "Problem",
    "Protocol",
    "ProtocolError",
    "Pulses",
    "Quantity",
    "Record",
    "Report",
    "Rest",
    "SafetyLimits",
    "Step",
    "TextError",
    "describe",
    "estimate",
    "format_protocol",
    "load",
    "parse",
    "parse_wattrex",
    "step_name",
    "validate",
    "walk",
]
