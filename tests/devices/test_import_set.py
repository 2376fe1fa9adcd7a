"""A device service loads its own instrument's stack and nothing else: the SCPI services no CAN or
pandas, the CAN services no VISA or PyMeasure (memory per process, issue 16). The real command line
runs up to the moment the service would start (``stop_on_signals``, just before ``run``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from labdcs.stack.paths import project_root

REPORT = """
import json, sys
import labdcs.cli.services as services

def report(stop):
    print(json.dumps(sorted(sys.modules)))
    sys.exit(0)

services.stop_on_signals = report
from labdcs.cli import main
sys.argv = ["labdcs", "device", "run", "--config", sys.argv[1]]
main()
"""

#: What no device service needs.
NEVER = {"pandas", "pyarrow", "fastapi", "starlette", "uvicorn", "montydb", "pymongo", "matplotlib"}
#: Loaded as an optional import by paho, for DNS SRV lookups no device service makes.
NEVER_LOADED = {"dns.resolver"}
SCPI_STACK = {"pyvisa", "pymeasure"}
CAN_STACK = {"can", "cantools"}
DRIVERS = {
    "labdcs.drivers.keithley2410",
    "labdcs.drivers.hmp4040",
    "labdcs.drivers.envmon",
    "labdcs.drivers.canpsu",
    "labdcs.drivers.psb",
    "labdcs.drivers.canbidi",
}


def imported(config: str) -> set[str]:
    path = project_root() / "dummy" / "devices" / config
    done = subprocess.run(
        [sys.executable, "-c", REPORT, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("config", "driver", "stack", "not_loaded"),
    [
        ("hv1.yaml", "labdcs.drivers.keithley2410", SCPI_STACK, CAN_STACK),
        ("lv1.yaml", "labdcs.drivers.hmp4040", SCPI_STACK, CAN_STACK),
        ("env1.yaml", "labdcs.drivers.envmon", SCPI_STACK, CAN_STACK),
        ("can1.yaml", "labdcs.drivers.canpsu", CAN_STACK, SCPI_STACK | {"numpy"}),
        ("station1.yaml", "labdcs.drivers.psb", SCPI_STACK, CAN_STACK),
    ],
)
def test_a_device_service_imports_only_its_own_instrument_stack(
    config: str, driver: str, stack: set[str], not_loaded: set[str]
) -> None:
    modules = imported(config)
    tops = {name.split(".")[0] for name in modules}
    assert driver in modules
    assert stack <= tops, f"{config}: its own stack {stack - tops} not loaded?"
    assert not (tops & (NEVER | not_loaded)), f"{config} loads {sorted(tops & (NEVER | not_loaded))}"
    others = (DRIVERS - {driver}) & modules
    assert not others, f"{config} loads other instruments' drivers: {sorted(others)}"
    assert "pymeasure.instruments.keithley" not in modules, "PyMeasure's Keithley package loads pandas"
    assert not (modules & NEVER_LOADED), f"{config} loads {sorted(modules & NEVER_LOADED)}"
