from enum import StrEnum


class HarvestStatus(StrEnum):
    FAILED = "failed"
    IMPORTED = "imported"
    LIVE = "live"
    SKIPPED = "skipped"
    WAITING = "waiting"

    def __str__(self) -> str:
        return str(self.value)
