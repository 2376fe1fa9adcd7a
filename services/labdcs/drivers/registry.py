"""Driver names used in configuration files, their settings, and the factory.

A device's configuration names its driver and how to reach the instrument::

    driver: {name: keithley2410, resource: "TCPIP::10.0.0.5::5025::SOCKET"}
    driver: {name: canpsu, interface: socketcan, channel: can0, node_id: 3}

:class:`DriverSettings` validates that block (unknown keys are errors, so a typo does not
silently fall back to a default) and :func:`create_driver` turns it into a driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from labdcs.clock import Clock
from labdcs.drivers.base import BidirectionalSourceDriver, PowerSupplyDriver, SensorDriver
from labdcs.drivers.canids import NODE_ID_MASK

if TYPE_CHECKING:
    from labdcs.drivers.scpi import ScpiDriver

DriverKind = Literal["hv", "lv", "env", "cycler"]
DriverClass = type[PowerSupplyDriver] | type[SensorDriver] | type[BidirectionalSourceDriver]

#: name -> ("module:class" of the driver, kind of device it serves). Named, not imported: a device
#: service imports only its own driver's stack (:func:`driver_class`).
KNOWN_DRIVERS: dict[str, tuple[str, DriverKind]] = {
    "keithley2410": ("labdcs.drivers.keithley2410:Keithley2410Driver", "hv"),
    "hmp4040": ("labdcs.drivers.hmp4040:HMP4040Driver", "lv"),
    "envmon": ("labdcs.drivers.envmon:EnvMonDriver", "env"),
    "canpsu": ("labdcs.drivers.canpsu:CanPsuDriver", "lv"),
    "psb": ("labdcs.drivers.psb:PsbDriver", "cycler"),
    "canbidi": ("labdcs.drivers.canbidi:CanBidiDriver", "cycler"),
}


def driver_class(name: str) -> DriverClass:
    """The driver class registered as ``name`` (imports its module, and its instrument stack)."""
    module, _, attribute = KNOWN_DRIVERS[name][0].partition(":")
    found: DriverClass = getattr(importlib.import_module(module), attribute)
    return found


SCPI_DRIVERS = frozenset({"keithley2410", "hmp4040", "envmon", "psb"})
CAN_DRIVERS = frozenset({"canpsu", "canbidi"})
#: SCPI drivers whose simulated twin can run inside the device process (``simulate: true``, no resource).
SCPI_SIMULATABLE = frozenset({"psb"})
_CAN_FIELDS = ("interface", "channel", "bitrate", "node_id", "simulate")


class DriverSettings(BaseModel):
    """How to reach one instrument. SCPI drivers use ``resource``/``visa_library``; CAN ones the bus."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="driver name: " + ", ".join(KNOWN_DRIVERS))
    # SCPI (PyVISA)
    resource: str | None = Field(None, description="VISA resource, e.g. TCPIP::10.0.0.5::5025::SOCKET")
    visa_library: str = Field("@py", description='"@py" (pyvisa-py) or "<file>.yaml@sim" (pyvisa-sim)')
    timeout_s: float = Field(
        2.0, gt=0, description="answer timeout (SCPI) / write confirmation timeout (CAN)"
    )
    compound_reads: bool = Field(
        True,
        description="SCPI: read a snapshot in one compound query (A?;:B?); false: one query per "
        "quantity, for firmware without IEEE 488.2 compound messages (pyvisa-sim: always per quantity)",
    )
    # CAN (python-can)
    interface: str = Field("socketcan", description="python-can interface: socketcan, virtual, pcan, ...")
    channel: str = Field("can0", description="python-can channel, e.g. can0")
    bitrate: int = Field(500000, gt=0, description="CAN bit rate in bit/s")
    node_id: int = Field(1, ge=1, le=NODE_ID_MASK, description="CAN node id of the supply (1..63)")
    simulate: bool = Field(
        False,
        description="canpsu, canbidi: start the simulated node from labdcs_dummy on the same virtual bus; "
        "psb: run the simulated supply and cell inside the device process",
    )
    # multi-head sensors
    channels: int = Field(1, ge=1, le=64, description="envmon: number of sensor heads")
    # battery stations
    cell: dict[str, Any] | None = Field(
        None,
        description="simulated stations (simulate: true): the simulated cell, "
        "labdcs_dummy.cell.CellParameters (chemistry, capacity_ah, soc, ...)",
    )

    @field_validator("name")
    @classmethod
    def _known_name(cls, name: str) -> str:
        if name not in KNOWN_DRIVERS:
            raise ValueError(f"unknown driver {name!r}; known drivers: {', '.join(sorted(KNOWN_DRIVERS))}")
        return name

    @field_validator("resource")
    @classmethod
    def _parsable_resource(cls, resource: str | None) -> str | None:
        if resource is None:
            return None
        from labdcs.drivers.scpi import check_resource_name  # pyvisa: only for SCPI instruments

        return check_resource_name(resource)

    @model_validator(mode="after")
    def _fields_fit_driver(self) -> DriverSettings:
        if self.cell is not None and not self.simulate:
            raise ValueError("'cell' describes the simulated cell: it needs simulate: true")
        if self.name in SCPI_SIMULATABLE and self.simulate:
            if self.resource is not None:
                raise ValueError(
                    f"driver {self.name!r} with simulate: true runs its simulated twin in the process; "
                    "drop 'resource' (or drop simulate to reach a simulator over TCP)"
                )
        elif self.name in SCPI_DRIVERS:
            if not self.resource:
                raise ValueError(
                    f"driver {self.name!r} talks SCPI and needs 'resource' (a VISA resource string, "
                    "e.g. TCPIP::192.168.1.20::5025::SOCKET or ASRL/dev/ttyUSB0::INSTR)"
                )
            misplaced = [f for f in _CAN_FIELDS if getattr(self, f) != type(self).model_fields[f].default]
            if misplaced:
                raise ValueError(
                    f"driver {self.name!r} talks SCPI; {', '.join(misplaced)} only apply to CAN drivers"
                    + (
                        " (for a simulated instrument use visa_library='<file>.yaml@sim')"
                        if self.simulate
                        else ""
                    )
                )
        if self.name in CAN_DRIVERS:
            if (
                self.resource is not None
                or self.visa_library != type(self).model_fields["visa_library"].default
            ):
                raise ValueError(
                    f"driver {self.name!r} is a CAN driver; resource and visa_library do not apply"
                )
            if self.simulate and self.interface != "virtual":
                raise ValueError(
                    f"simulate=True starts a simulated node on a python-can virtual bus: "
                    f"it needs interface 'virtual', not {self.interface!r}"
                )
        if self.channels != 1 and self.name != "envmon":
            raise ValueError(f"'channels' only applies to envmon; {self.name!r} has a fixed channel count")
        return self


def create_driver(
    settings: DriverSettings, clock: Clock | None = None
) -> PowerSupplyDriver | SensorDriver | BidirectionalSourceDriver:
    """A driver for ``settings`` (not yet opened); ``clock`` drives a simulated battery station."""
    if settings.name in ("psb", "canbidi"):
        return create_source_driver(settings, clock)
    # Each driver's module (PyMeasure, pyvisa, python-can, cantools) is imported only by the device
    # that uses it: a device service loads no other instrument's stack (memory per process).
    scpi: ScpiDriver | None = None
    if settings.name == "keithley2410":
        from labdcs.drivers.keithley2410 import Keithley2410Driver

        assert settings.resource is not None
        scpi = Keithley2410Driver(settings.resource, settings.visa_library, settings.timeout_s)
    elif settings.name == "hmp4040":
        from labdcs.drivers.hmp4040 import HMP4040Driver

        assert settings.resource is not None
        scpi = HMP4040Driver(settings.resource, settings.visa_library, settings.timeout_s)
    elif settings.name == "envmon":
        from labdcs.drivers.envmon import EnvMonDriver

        assert settings.resource is not None
        scpi = EnvMonDriver(
            settings.resource, settings.visa_library, settings.timeout_s, channels=settings.channels
        )
    if scpi is not None:
        scpi.compound_reads = scpi.compound_reads and settings.compound_reads
        assert isinstance(scpi, PowerSupplyDriver | SensorDriver)
        return scpi
    if settings.name == "canpsu":
        from labdcs.drivers.canpsu import CanPsuDriver

        simulator = None
        if settings.simulate:
            # Dummy-stack code, imported only when asked for (production installs may lack it).
            can_node = importlib.import_module("labdcs_dummy.can_node")
            simulator = can_node.CanPsuNode(
                channel=settings.channel, node_id=settings.node_id, interface=settings.interface
            )
            simulator.start()
        return CanPsuDriver(
            interface=settings.interface,
            channel=settings.channel,
            bitrate=settings.bitrate,
            node_id=settings.node_id,
            timeout_s=settings.timeout_s,
            simulator=simulator,
        )
    raise AssertionError(f"driver {settings.name!r} is in KNOWN_DRIVERS but create_driver cannot build it")


def create_source_driver(settings: DriverSettings, clock: Clock | None = None) -> BidirectionalSourceDriver:
    """A battery-station driver; with ``simulate`` its simulated twin (and cell) runs on ``clock``."""
    station = None
    if settings.simulate:
        # Dummy-stack code, imported only when asked for (production installs may lack it).
        cell_module = importlib.import_module("labdcs_dummy.cell")
        cell = cell_module.CellParameters(**(settings.cell or {}))
        if settings.name == "psb":
            from labdcs.drivers.psb import PsbDriver

            psb = importlib.import_module("labdcs_dummy.psb")
            model = psb.PsbModel(clock=clock, cell=cell)
            return PsbDriver(
                "TCPIP::simulated::0::SOCKET", timeout_s=settings.timeout_s, handler=model.handle
            )
        station_module = importlib.import_module("labdcs_dummy.station")
        ratings = station_module.StationRatings(max_voltage=65.0, max_current=32.0, max_power=1000.0)
        station = station_module.SimulatedStation(cell, clock=clock, ratings=ratings)
    if settings.name == "psb":
        from labdcs.drivers.psb import PsbDriver

        assert settings.resource is not None
        return PsbDriver(settings.resource, settings.visa_library, settings.timeout_s)
    from labdcs.drivers.canbidi import CanBidiDriver

    simulator = None
    if station is not None:
        node_module = importlib.import_module("labdcs_dummy.bidi_node")
        simulator = node_module.BidiNode(
            station, channel=settings.channel, node_id=settings.node_id, interface=settings.interface
        )
        simulator.start()
    return CanBidiDriver(
        interface=settings.interface,
        channel=settings.channel,
        bitrate=settings.bitrate,
        node_id=settings.node_id,
        timeout_s=settings.timeout_s,
        simulator=simulator,
    )
