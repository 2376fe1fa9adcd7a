from enum import StrEnum


class ListExperimentsApiExperimentsGetSort(StrEnum):
    CELL = "cell"
    CREATED = "created"
    CYCLES = "cycles"
    FINISHED = "finished"
    ID = "id"
    NAME = "name"
    PROTOCOL = "protocol"
    STARTED = "started"
    STATION = "station"
    STATUS = "status"
    TECHNOLOGY = "technology"

    def __str__(self) -> str:
        return str(self.value)
