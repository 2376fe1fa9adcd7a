from enum import StrEnum


class Status(StrEnum):
    ABORTED = "aborted"
    ERROR = "error"
    FINISHED = "finished"
    PAUSED = "paused"
    QUEUED = "queued"
    RUNNING = "running"

    def __str__(self) -> str:
        return str(self.value)
