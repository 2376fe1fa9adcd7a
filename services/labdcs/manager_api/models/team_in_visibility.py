from enum import StrEnum


class TeamInVisibility(StrEnum):
    LAB = "lab"
    TEAM = "team"

    def __str__(self) -> str:
        return str(self.value)
