from enum import StrEnum


class ListDataFilesApiDataFilesGetStatusType0(StrEnum):
    FAILED = "failed"
    IMPORTED = "imported"

    def __str__(self) -> str:
        return str(self.value)
