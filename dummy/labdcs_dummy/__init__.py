"""labdcs_dummy: simulated twins of the instruments labdcs drives.

* :mod:`labdcs_dummy.instruments` — behavioural SCPI models (Keithley 2410, R&S HMP4040,
  environment monitor, EA PSB) with a ``SIM:`` command set to inject load changes and faults,
  built by :func:`~labdcs_dummy.instruments.create_model`; one module per instrument family
  (``keithley2410``, ``hmp4040``, ``envmon``, ``psb``) on the common SCPI base ``scpi``;
* :mod:`labdcs_dummy.scpi_server` — serves one model on a TCP socket (``python -m
  labdcs_dummy.scpi_server --model keithley2410 --port 5025``), so the dummy stack runs the
  instruments in their own processes, surviving restarts of the device services;
* ``visa/*.yaml`` — pyvisa-sim definitions of the same instruments (static, no behaviour);
  :func:`visa_sim_path` gives the ``visa_library`` string for them;
* :mod:`labdcs_dummy.can_node` — a simulated CAN supply node for ``can/labdcs_canpsu.dbc``.

Tests of device services run against these, never against mocks.
"""

from __future__ import annotations

from importlib import resources

#: The resource string the pyvisa-sim definitions answer on (``ASRL1::INSTR`` works too).
VISA_SIM_RESOURCE = "TCPIP::127.0.0.1::5025::SOCKET"
VISA_SIM_MODELS = ("keithley2410", "hmp4040", "envmon")

__all__ = ["VISA_SIM_MODELS", "VISA_SIM_RESOURCE", "dbc_path", "visa_sim_path"]


def visa_sim_path(name: str) -> str:
    """The pyvisa-sim ``visa_library`` string (``/…/visa/<name>.yaml@sim``) for a model."""
    if name not in VISA_SIM_MODELS:
        raise ValueError(f"no pyvisa-sim definition for {name!r}; known: {', '.join(VISA_SIM_MODELS)}")
    definition = resources.files(__name__).joinpath("visa", f"{name}.yaml")
    if not definition.is_file():
        raise FileNotFoundError(f"pyvisa-sim definition {name}.yaml is missing from labdcs_dummy")
    return f"{definition}@sim"


def dbc_path() -> str:
    """Filesystem path of ``labdcs_canpsu.dbc`` (for tools such as cantools' CLI)."""
    return str(resources.files(__name__).joinpath("can", "labdcs_canpsu.dbc"))
