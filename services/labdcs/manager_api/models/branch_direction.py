from enum import StrEnum


class BranchDirection(StrEnum):
    CHARGE = "charge"
    DISCHARGE = "discharge"

    def __str__(self) -> str:
        return str(self.value)
