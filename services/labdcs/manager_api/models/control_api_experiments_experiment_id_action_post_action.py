from enum import StrEnum


class ControlApiExperimentsExperimentIdActionPostAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"

    def __str__(self) -> str:
        return str(self.value)
