"""The command blocks of README.md and docs/*.md, read the way a user reads them.

A bash/sh block holds one command per line (``# ...`` after it is what the text says of it; a
``# -> accepted`` / ``# -> rejected: REASON`` comment is a promise about the outcome). A console block
holds ``$ command`` lines, each followed by the output the text shows (``...`` elides).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^```(bash|sh|console|shell)\n(.*?)^```", re.S | re.M)


@dataclass(frozen=True)
class Command:
    doc: str
    """The file, relative to the checkout"""
    line: int
    command: str
    comment: str = ""
    expected: tuple[str, ...] = ()
    """console blocks: the output lines the text shows after the command"""

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def promise(self) -> tuple[str, str] | None:
        """("accepted" | "rejected", reason or "") when the comment promises an outcome."""
        found = re.match(r"->\s*(accepted|rejected)(?::\s*(.*))?", self.comment)
        if not found:
            return None
        reason = (found.group(2) or "").strip() if found.group(1) == "rejected" else ""
        return found.group(1), reason


@dataclass
class Block:
    doc: str
    line: int
    language: str
    commands: list[Command] = field(default_factory=list)


def _split_comment(text: str) -> tuple[str, str]:
    """``command  # comment`` -> (command, comment); a # inside quotes is not a comment."""
    quote = ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1].isspace()):
            return text[:index].rstrip(), text[index + 1 :].strip()
    return text.rstrip(), ""


def blocks(root: Path) -> list[Block]:
    found: list[Block] = []
    for path in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        text = path.read_text()
        doc = str(path.relative_to(root))
        for match in FENCE.finditer(text):
            first = text.count("\n", 0, match.start(2)) + 1
            block = Block(doc, first, match.group(1))
            lines = match.group(2).splitlines()
            if block.language == "console":
                index = 0
                while index < len(lines):
                    if lines[index].startswith("$ "):
                        command, comment = _split_comment(lines[index][2:])
                        at = first + index
                        output = []
                        index += 1
                        while index < len(lines) and not lines[index].startswith("$ "):
                            if lines[index].strip():
                                output.append(lines[index])
                            index += 1
                        block.commands.append(Command(doc, at, command, comment, tuple(output)))
                    else:
                        index += 1
            else:
                for offset, raw in enumerate(lines):
                    command, comment = _split_comment(raw.strip())
                    if command:
                        block.commands.append(Command(doc, first + offset, command, comment))
            found.append(block)
    return found
