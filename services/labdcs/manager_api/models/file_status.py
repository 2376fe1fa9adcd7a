from enum import StrEnum


class FileStatus(StrEnum):
    FAILED = "failed"
    IMPORTED = "imported"

    def __str__(self) -> str:
        return str(self.value)
