from enum import StrEnum


class Technology(StrEnum):
    LEAD_ACID = "lead-acid"
    LI_ION = "li-ion"
    NA_ION = "na-ion"
    OTHER = "other"
    REDOX_FLOW = "redox-flow"

    def __str__(self) -> str:
        return str(self.value)
