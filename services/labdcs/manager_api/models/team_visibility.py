from enum import StrEnum


class TeamVisibility(StrEnum):
    LAB = "lab"
    TEAM = "team"

    def __str__(self) -> str:
        return str(self.value)
