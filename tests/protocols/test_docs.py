"""docs/protocols.md is the users' grammar of the text form: every example in it must mean what it
says, so the page cannot drift from the parser. Whole protocols (```text blocks) parse, read back
from their canonical text and pass the checks for a typical cell; every example in the tables'
`example` column parses as a header or a step; every mistake in the table gets its answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labdcs.protocols import Envelope, TextError, format_protocol, parse, validate

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocols.md"
#: An NMC 18650 of 2.5 Ah on a station channel of +-5 A: what the examples are written for.
CELL = Envelope(v_min=2.5, v_max=4.2, i_min=-5.0, i_max=5.0, t_max_c=60.0)
HEADER = re.compile(r"^(protocol|version|description|capacity|safety|record)\s*:", re.IGNORECASE)


def _blocks() -> list[str]:
    return re.findall(r"^```text\n(.*?)^```$", DOC.read_text(), flags=re.MULTILINE | re.DOTALL)


def _table(heading: str) -> list[dict[str, str]]:
    """The rows of the Markdown table whose first column is ``heading``, as {column: cell}."""
    rows: list[dict[str, str]] = []
    columns: list[str] | None = None
    for line in DOC.read_text().splitlines():
        if not line.startswith("|"):
            columns = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if columns is None:
            columns = cells if cells[0] == heading else []
        elif columns and not set(line) <= set("|-: "):
            rows.append(dict(zip(columns, cells, strict=True)))
    return rows


def _examples() -> list[str]:
    found = [
        example
        for heading in ("header", "step")
        for row in _table(heading)
        for example in re.findall(r"`([^`]+)`", row["example"])
    ]
    assert len(found) >= 20, found
    return found


def _as_protocol(example: str) -> str:
    """A one-line example as a whole protocol: a header gets a step, a loop gets a body."""
    if example.lower().startswith("protocol:"):
        return f"{example}\nRest for 1 s\n"
    if HEADER.match(example):
        return f"Protocol: example\n{example}\nRest for 1 s\n"
    if example.endswith(":"):
        return f"Protocol: example\n{example}\n    Rest for 1 s\n"
    return f"Protocol: example\n{example}\n"


def test_the_page_has_whole_examples() -> None:
    assert len(_blocks()) >= 4


@pytest.mark.parametrize("text", _blocks(), ids=lambda text: text.splitlines()[0])
def test_every_whole_example_parses_reads_back_and_passes_the_checks(text: str) -> None:
    protocol = parse(text)
    assert parse(format_protocol(protocol)) == protocol
    report = validate(protocol, cell=CELL, capacity_ah=2.5)
    assert report.ok, [str(p) for p in report.errors]


@pytest.mark.parametrize("example", _examples())
def test_every_table_example_parses(example: str) -> None:
    protocol = parse(_as_protocol(example))
    assert parse(format_protocol(protocol)) == protocol


@pytest.mark.parametrize("row", _table("you wrote"), ids=lambda row: row["you wrote"])
def test_every_mistake_gets_the_documented_answer(row: dict[str, str]) -> None:
    wrote = row["you wrote"].strip("`")
    with pytest.raises(TextError) as refused:
        parse(f"Protocol: example\n{wrote}\n")
    assert row["the answer"] in str(refused.value)
