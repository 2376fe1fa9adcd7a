from enum import StrEnum


class TeamChangeVisibility(StrEnum):
    LAB = "lab"
    TEAM = "team"

    def __str__(self) -> str:
        return str(self.value)
