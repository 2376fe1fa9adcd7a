from enum import StrEnum


class Kind(StrEnum):
    HARVESTER = "harvester"
    PERSON = "person"

    def __str__(self) -> str:
        return str(self.value)
