from enum import StrEnum


class Scope(StrEnum):
    CONTROL = "control"
    IMPORT = "import"
    READ = "read"

    def __str__(self) -> str:
        return str(self.value)
