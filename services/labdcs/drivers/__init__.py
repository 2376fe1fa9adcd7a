"""Instrument drivers: one small synchronous class per instrument model (see :mod:`.base`)."""

from labdcs.drivers.base import (
    Driver,
    Identity,
    InstrumentError,
    OutputLimits,
    OutputReading,
    PowerSupplyDriver,
    Quantity,
    SensorDriver,
    SensorReading,
)

__all__ = [
    "Driver",
    "Identity",
    "InstrumentError",
    "OutputLimits",
    "OutputReading",
    "PowerSupplyDriver",
    "Quantity",
    "SensorDriver",
    "SensorReading",
]
