"""What Grafana does to a panel's query before InfluxDB sees it, done in Python for the tests.

Template variables are resolved the way Grafana resolves them (query variables run their query,
apply their regex; custom variables list their options) and substituted with Grafana's InfluxQL
formatting (a multi-value or All selection becomes a regex group of escaped values, or the
variable's own "All" value where it has one).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from labdcs.ingest.influx import InfluxClient

TIME_RANGE = "time > now() - 15m"
INTERVAL_S = 1

_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")


@dataclass(frozen=True)
class Target:
    dashboard: str
    panel_id: int
    panel_title: str
    ref_id: str
    query: str
    requires: dict[str, str] | None

    @property
    def name(self) -> str:
        return f"{self.dashboard}/{self.panel_id}:{self.panel_title}/{self.ref_id}"


def targets(dashboard: dict[str, Any]) -> Iterator[Target]:
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield Target(
                dashboard["uid"],
                panel["id"],
                panel["title"],
                target["refId"],
                target["query"],
                panel.get("labdcs"),
            )


def referenced(query: str) -> list[str]:
    """Variable names a query uses (Grafana's macros included)."""
    return [braced or plain for braced, plain in _VARIABLE.findall(query)]


def js_regex(text: str) -> re.Pattern[str]:
    """A Grafana variable regex (``/pattern/flags``) as a Python pattern (lookaheads included)."""
    match = re.fullmatch(r"/(.*)/([gimsuy]*)", text, re.DOTALL)
    if match is None:
        return re.compile(text)
    return re.compile(match.group(1), re.IGNORECASE if "i" in match.group(2) else 0)


def custom_options(variable: dict[str, Any]) -> list[str]:
    """Values of a custom variable (``text : value`` pairs or plain values, comma-separated)."""
    values = []
    for item in re.split(r"(?<!\\),", variable["query"]):
        text = item.strip()
        pair = re.fullmatch(r"(.+)\s:\s(.+)", text)
        values.append(pair.group(2).strip() if pair else text)
    return values


class Dashboard:
    """A dashboard's variables against a real InfluxDB."""

    def __init__(
        self,
        data: dict[str, Any],
        client: InfluxClient,
        time_range: str = TIME_RANGE,
        interval_s: int = INTERVAL_S,
    ) -> None:
        self.data = data
        self.client = client
        self.time_range = time_range
        self.interval_s = interval_s
        self.variables = {v["name"]: v for v in data.get("templating", {}).get("list", [])}

    def values(self, name: str, chosen: dict[str, str]) -> list[str]:
        """The options Grafana would offer for ``name`` once ``chosen`` variables have values."""
        variable = self.variables[name]
        if variable["type"] == "custom":
            return custom_options(variable)
        if variable["type"] != "query":
            raise NotImplementedError(f"variable type {variable['type']}")
        query = self.interpolate(variable["query"], chosen)
        found: list[str] = []
        for result in self.client.query(query):
            for series in result.get("series", []):
                column = 0 if series["columns"][0] == "fieldKey" else series["columns"].index("value")
                found.extend(str(row[column]) for row in series["values"])
        if variable.get("regex"):
            pattern = js_regex(variable["regex"])
            found = [value for value in found if pattern.search(value)]
        return sorted(set(found))

    def is_multi(self, name: str) -> bool:
        variable = self.variables[name]
        return bool(variable.get("multi") or variable.get("includeAll"))

    def interpolate(self, query: str, chosen: dict[str, str]) -> str:
        """Substitute macros and variables; multi-value variables get All (every option)."""

        def replace(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            if name == "timeFilter":
                return self.time_range
            if name == "__interval":
                return f"{self.interval_s}s"
            if name == "__interval_ms":
                return str(self.interval_s * 1000)
            if name in chosen:
                return chosen[name]
            if name in self.variables and self.is_multi(name):
                if self.variables[name].get("allValue"):
                    return str(self.variables[name]["allValue"])  # inserted as it is, not escaped
                options = [re.escape(value) for value in self.values(name, chosen)]
                return options[0] if len(options) == 1 else "(" + "|".join(options) + ")"
            raise KeyError(f"no value for ${name} in {query!r}")

        return _VARIABLE.sub(replace, query)

    def single_choices(self, query: str) -> Iterator[dict[str, str]]:
        """Every combination of values of the single-value variables the query uses (variables
        they depend on included)."""
        names: list[str] = []
        pending = [n for n in referenced(query) if n in self.variables]
        while pending:
            name = pending.pop()
            if name in names:
                continue
            names.append(name)
            pending.extend(
                n for n in referenced(self.variables[name].get("query") or "") if n in self.variables
            )
        singles = [n for n in self.variables if n in names and not self.is_multi(n)]
        if not singles:
            yield {}
            return
        options = [self.values(name, {}) for name in singles]
        for combination in itertools.product(*options):
            yield dict(zip(singles, combination, strict=True))

    def is_static(self, name: str) -> bool:
        return bool(self.variables[name]["type"] == "custom")

    def rows(self, query: str, chosen: dict[str, str]) -> int:
        """Rows with at least one value besides the time."""
        count = 0
        for result in self.client.query(self.interpolate(query, chosen)):
            for series in result.get("series", []):
                count += sum(1 for row in series.get("values", []) if any(v is not None for v in row[1:]))
        return count

    def missing_data(self, query: str) -> list[dict[str, str]]:
        """Assignments of the static variables (every option a dashboard offers must work) for
        which no value of the data-driven variables (some device has the data) gives a row."""
        found: dict[tuple[tuple[str, str], ...], bool] = {}
        for chosen in self.single_choices(query):
            static = tuple(sorted((k, v) for k, v in chosen.items() if self.is_static(k)))
            if found.get(static):
                continue
            found[static] = self.rows(query, chosen) > 0
        return [dict(static) for static, ok in found.items() if not ok]
