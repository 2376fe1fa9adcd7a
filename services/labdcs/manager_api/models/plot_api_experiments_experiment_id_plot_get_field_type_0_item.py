from enum import StrEnum


class PlotApiExperimentsExperimentIdPlotGetFieldType0Item(StrEnum):
    CHARGE_CAPACITY = "charge_capacity"
    CURRENT = "current"
    DISCHARGE_CAPACITY = "discharge_capacity"
    POWER = "power"
    TEMPERATURE = "temperature"
    VOLTAGE = "voltage"

    def __str__(self) -> str:
        return str(self.value)
