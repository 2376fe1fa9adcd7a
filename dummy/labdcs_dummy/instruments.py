"""Behavioural models of the SCPI instruments labdcs drives, for tests and the dummy stack.

Each model takes one SCPI program message (a line, possibly several ``;``-separated commands)
and returns the reply line or None, like the instrument's parser behind its socket. They model
what the device services must cope with: readback that follows the setpoint with noise, a load
that draws current, compliance/current limiting, the instrument's own range limits, an error
queue (``SYST:ERR?``), and an instrument that stops answering.

Parsing follows SCPI far enough for what the drivers send: case-insensitive headers in short or
long form, optional nodes (``[SOURce]:VOLTage[:LEVel]``), a numeric suffix of 1, ``MIN``/``MAX``
numeric keywords, ``ON``/``OFF`` booleans, channel lists ``(@1,2)`` / ``(@1:3)``. Every command
after a ``;`` is taken as a full path from the root (the drivers always send full paths).

Test control lives under ``SIM:`` and works even while the instrument is muted:

============================  ===================================================================
``SIM:MUTE ON|OFF``           stop/resume answering (queries time out; settings are ignored)
``SIM:NOISE ON|OFF``          measurement noise on/off (on by default)
``SIM:LOAD <ohm>[,(@ch)]``    resistive load of an output (supplies)
``SIM:TEMP <degC>[,(@ch)]``   hold a head's temperature (env monitor) until ``SIM:DRIFT ON``
``SIM:HUM <pct>[,(@ch)]``     hold a head's humidity (env monitor) until ``SIM:DRIFT ON``
``SIM:DRIFT ON|OFF``          env monitor: release held values (ON) or freeze the present ones
============================  ===================================================================

Each has a query form (``SIM:LOAD? (@2)``).

The models live in one module per instrument family (:mod:`labdcs_dummy.keithley2410`,
:mod:`labdcs_dummy.hmp4040`, :mod:`labdcs_dummy.envmon`, :mod:`labdcs_dummy.psb`) on the common
SCPI base (:mod:`labdcs_dummy.scpi`); this module names them and builds them (:func:`create_model`).
"""

from __future__ import annotations

from typing import Any

from labdcs_dummy.envmon import EnvMonModel
from labdcs_dummy.hmp4040 import HMP4040Model
from labdcs_dummy.keithley2410 import Keithley2410Model
from labdcs_dummy.scpi import ScpiError, ScpiInstrument

__all__ = [
    "MODELS",
    "MODEL_NAMES",
    "EnvMonModel",
    "HMP4040Model",
    "Keithley2410Model",
    "ScpiError",
    "ScpiInstrument",
    "create_model",
]

#: Model name (as in driver names) -> model class.
MODELS: dict[str, type[ScpiInstrument]] = {
    "keithley2410": Keithley2410Model,
    "hmp4040": HMP4040Model,
    "envmon": EnvMonModel,
}


#: Every model create_model() builds.
MODEL_NAMES = (*sorted(MODELS), "psb")


def create_model(name: str, seed: int | None = None, **options: Any) -> ScpiInstrument:
    """A fresh instrument model by driver name (``keithley2410``, ``hmp4040``, ``envmon``, ``psb``)."""
    if name == "psb":  # imported on demand: it brings the cell simulator and the station
        from labdcs_dummy.psb import PsbModel

        return PsbModel(seed=seed, **options)
    try:
        model = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown instrument model {name!r}; known: {', '.join(MODEL_NAMES)}") from None
    return model(seed=seed, **options)
