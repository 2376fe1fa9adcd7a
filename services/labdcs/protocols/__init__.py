"""Battery test protocols: the model, its text form, validation, estimates and importers.

- :mod:`labdcs.protocols.model`: the pydantic model (YAML/JSON on disk);
- :mod:`labdcs.protocols.text`: the hand-written text form (PyBaMM experiment style) and its parser;
- :mod:`labdcs.protocols.text_writer`: the canonical text of a protocol, a step, a condition;
- :mod:`labdcs.protocols.loading`: loading from a mapping or text, with step-named errors;
- :mod:`labdcs.protocols.validate`: validation on a cell and a station;
- :mod:`labdcs.protocols.forecast`: the estimate (duration, samples, data volume);
- :mod:`labdcs.protocols.wattrex`: the WattRex line-format importer.
"""

from labdcs.protocols.forecast import Estimate, estimate
from labdcs.protocols.loading import ProtocolError, load
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
from labdcs.protocols.text import TextError, parse
from labdcs.protocols.text_writer import format_protocol
from labdcs.protocols.validate import Envelope, Problem, Report, describe, step_name, validate, walk
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
