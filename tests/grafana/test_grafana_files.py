"""The committed Grafana files: generated, valid for Grafana's provisioning, named from the mapping."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from labdcs.cli import cli
from labdcs.grafana import queries as q
from labdcs.grafana.panels import DATASOURCE_TYPE, DATASOURCE_UID, Board
from labdcs.grafana.provisioning import (
    DASHBOARDS_PATH,
    DATASOURCES_FILE,
    INFLUXDB_URL,
    PROVIDERS_FILE,
    render_all,
)
from labdcs.ingest import retention
from labdcs.ingest.mapping import DATABASE
from tests.grafana.grafana_queries import referenced, targets

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "grafana"
DASHBOARD_FILES = sorted((GRAFANA / "dashboards").glob("*.json"))
DASHBOARDS = {path.name: json.loads(path.read_text(encoding="utf-8")) for path in DASHBOARD_FILES}
#: Grafana's macros of the InfluxQL data source, usable in queries without a dashboard variable.
MACROS = {"timeFilter", "__interval", "__interval_ms"}
#: Keys Grafana's provisioning reads (docs: administration/provisioning).
DATASOURCE_KEYS = {
    "name", "type", "access", "orgId", "uid", "url", "user", "database", "basicAuth", "basicAuthUser",
    "withCredentials", "isDefault", "jsonData", "secureJsonData", "version", "editable",
}  # fmt: skip
PROVIDER_KEYS = {
    "name", "orgId", "folder", "folderUid", "type", "disableDeletion", "updateIntervalSeconds",
    "allowUiUpdates", "options",
}  # fmt: skip


def _files_on_disk(folder: Path) -> dict[str, str]:
    """Every file but placeholders such as ``.gitkeep``."""
    return {
        path.relative_to(folder).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


# --- generated equals committed ------------------------------------------------------------------


def test_committed_files_are_what_the_generator_makes() -> None:
    assert DASHBOARD_FILES, "no dashboards committed"
    assert _files_on_disk(GRAFANA) == render_all(), (
        "grafana/ differs from the generator: run `.venv/bin/labdcs gen grafana` and commit the result"
    )


def test_generation_is_deterministic() -> None:
    assert render_all() == render_all()


def test_gen_grafana_writes_every_file_and_removes_stale_dashboards(tmp_path: Path) -> None:
    stale = tmp_path / "dashboards" / "renamed-long-ago.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    result = CliRunner().invoke(cli, ["gen", "grafana", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert not stale.exists() and "removed" in result.output
    assert _files_on_disk(tmp_path) == render_all()


# --- provisioning --------------------------------------------------------------------------------


def test_datasource_provisioning() -> None:
    data = yaml.safe_load((GRAFANA / DATASOURCES_FILE).read_text(encoding="utf-8"))
    assert data["apiVersion"] == 1
    [source] = data["datasources"]
    assert set(source) <= DATASOURCE_KEYS, f"keys Grafana does not read: {set(source) - DATASOURCE_KEYS}"
    assert source["uid"] == DATASOURCE_UID and source["type"] == DATASOURCE_TYPE == "influxdb"
    assert source["access"] == "proxy" and source["url"] == INFLUXDB_URL
    assert source["jsonData"]["dbName"] == DATABASE
    assert source["jsonData"]["version"] == "InfluxQL" and source["jsonData"]["httpMode"] in ("GET", "POST")
    assert source["editable"] is False
    # No secret in the file: credentials come from Docker secrets through $__file{}.
    assert "password" not in source and source["user"] == "reader"
    assert source["secureJsonData"] == {"password": "$__file{/run/secrets/influxdb_reader}"}


def test_dashboard_provider() -> None:
    data = yaml.safe_load((GRAFANA / PROVIDERS_FILE).read_text(encoding="utf-8"))
    assert data["apiVersion"] == 1
    [provider] = data["providers"]
    assert set(provider) <= PROVIDER_KEYS, f"keys Grafana does not read: {set(provider) - PROVIDER_KEYS}"
    assert provider["type"] == "file"
    assert provider["options"]["path"] == DASHBOARDS_PATH
    assert provider["allowUiUpdates"] is False and provider["disableDeletion"] is True
    assert provider["folderUid"] and len(provider["folderUid"]) <= 40


# --- dashboards valid for Grafana ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_is_valid_for_provisioning(name: str) -> None:
    dashboard = DASHBOARDS[name]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 39
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,40}", dashboard["uid"]), "Grafana's uid rule"
    assert name == f"{dashboard['uid']}.json"
    assert dashboard["title"].strip()
    assert dashboard.get("id") is None, "provisioned dashboards carry no instance-specific id"
    assert dashboard["editable"] is False
    assert dashboard["annotations"]["list"] == [], "a list Grafana can add its built-in annotation to"
    panels = _panels(dashboard)
    ids = [panel["id"] for panel in panels]
    assert all(isinstance(i, int) and i > 0 for i in ids) and len(ids) == len(set(ids)), ids
    for panel in panels:
        assert panel["type"] and panel["title"].strip()
        refs = [target["refId"] for target in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), f"{panel['title']}: refIds repeat"
        for target in panel.get("targets", []):
            assert target["rawQuery"] is True and target["query"].startswith("SELECT ")
            assert target["resultFormat"] in ("time_series", "table")


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_datasource_is_the_provisioned_one(name: str) -> None:
    references = [value for key, value in _walk(DASHBOARDS[name]) if key == "datasource"]
    assert references, "panels and variables name their data source"
    for reference in references:
        assert reference == {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
    for panel in _panels(DASHBOARDS[name]):
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == DATASOURCE_UID, panel["title"]
            assert all(t["datasource"]["uid"] == DATASOURCE_UID for t in panel["targets"]), panel["title"]


def test_uids_and_titles_are_unique_across_dashboards() -> None:
    uids = [d["uid"] for d in DASHBOARDS.values()]
    titles = [d["title"] for d in DASHBOARDS.values()]
    assert len(uids) == len(set(uids)) and len(titles) == len(set(titles))


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_fit_the_grid_without_overlapping(name: str) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in _panels(DASHBOARDS[name]):
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["w"] > 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_queries_use_only_defined_variables(name: str) -> None:
    dashboard = DASHBOARDS[name]
    variables = [v["name"] for v in dashboard.get("templating", {}).get("list", [])]
    assert len(variables) == len(set(variables))
    known = set(variables) | MACROS
    for index, variable in enumerate(dashboard.get("templating", {}).get("list", [])):
        if variable["type"] == "query":
            # A variable may only use the ones before it (Grafana resolves them in order).
            assert set(referenced(variable["query"])) <= set(variables[:index]), variable["name"]
    for target in targets(dashboard):
        assert set(referenced(target.query)) <= known, target.name


# --- names from the mapping ----------------------------------------------------------------------

_SOURCE = r'(?:"[^"]+"\.)?(?:"[^"]+"|/\^\([^)/]+\)\$/)'
#: ``FROM a, b``: each source a (policy and) measurement name or a ``/^(m1|m2)$/`` regex.
_FROM = re.compile(rf"FROM ({_SOURCE}(?:, {_SOURCE})*)")
_ONE_SOURCE = re.compile(r'(?:"(?P<policy>[^"]+)"\.)?(?:"(?P<name>[^"]+)"|/\^\((?P<names>[^)/]+)\)\$/)')


def _sources(query: str) -> list[tuple[str, str]]:
    """(policy, measurement) of every source of every FROM, regexes expanded."""
    found = []
    for sources in _FROM.findall(query):
        for match in _ONE_SOURCE.finditer(sources):
            names = match["names"].split("|") if match["names"] else [match["name"]]
            found.extend((match["policy"] or "", name) for name in names)
    return found


def test_queries_read_what_the_ingester_writes_where_it_writes_it() -> None:
    events = set(retention.event_measurements())
    states = set(retention.state_measurements())
    seen: set[str] = set()
    for dashboard in DASHBOARDS.values():
        for target in targets(dashboard):
            sources = _sources(target.query)
            assert sources, target.name
            for policy, name in sources:
                if name in events or name in states:
                    written_to = retention.retention_policy_of(name)
                    # The resolution variable chooses raw or its trend, for states kept in raw.
                    resolution = written_to == retention.RAW and policy == f"${q.RESOLUTION}"
                    assert policy == written_to or resolution, f"{target.name}: {name} from {policy}"
                else:
                    # Telegraf's own metrics: written to the default policy, read from it.
                    assert name.startswith("internal_") and not policy, target.name
                    assert target.requires and target.requires["requires"] == "telegraf", target.name
                seen.add(name)
    assert events | states <= seen, f"no panel reads {(events | states) - seen}"


def test_sources_are_parsed_with_their_policies() -> None:
    query = 'SELECT 1 FROM "raw"./^(power|sensor)$/, "experiments"."cycler" WHERE x'
    assert _sources(query) == [("raw", "power"), ("raw", "sensor"), ("experiments", "cycler")]
    assert _sources('SELECT 1 FROM (SELECT 2 FROM "events"."alarm")') == [("events", "alarm")]


def test_only_telegraf_panels_are_marked_and_they_say_why() -> None:
    marked = [t for d in DASHBOARDS.values() for t in targets(d) if t.requires]
    assert marked, "the Telegraf panels are marked"
    for target in marked:
        assert target.requires == {"requires": "telegraf", "reason": target.requires["reason"]}
        assert "compose" in target.requires["reason"] and "internal_" in target.query


def test_a_name_the_mapping_does_not_have_is_refused() -> None:
    with pytest.raises(LookupError, match="v_monitor"):
        q.field(q.STATE, "v_monitor")
    with pytest.raises(LookupError, match="kind"):
        q.tag(q.ALARM, "kind")
    with pytest.raises(LookupError):
        q.state_source(q.ALARMS)
    with pytest.raises(LookupError, match="no trend"):
        q.state_source(q.CYCLER)  # battery station states are kept whole, in their own policy
    assert q.field(q.STATE, "v_mon") == '"v_mon"' and q.tag(q.ALARM, "severity") == '"severity"'


def test_layout_wraps_instead_of_running_off_the_grid() -> None:
    from labdcs.grafana.panels import Query, timeseries_panel

    board = Board("t", "t", "t")
    for span in (12, 12, 16, 24):
        board.add(timeseries_panel("p", "p", [Query("SELECT 1")], "short", span=span))
    positions = [(p["gridPos"]["x"], p["gridPos"]["y"]) for p in board.to_json()["panels"]]
    assert positions == [(0, 0), (12, 0), (0, 8), (0, 16)]


def test_station_dashboard_answers_the_experiments_page_link() -> None:
    """The experiments page links to ``/d/labdcs-station/?var-station=<device>&var-experiment=<id>``."""
    station = DASHBOARDS["labdcs-station.json"]
    assert station["uid"] == "labdcs-station"
    variables = {v["name"]: v for v in station["templating"]["list"]}
    assert variables["station"]["type"] == "query" and not variables["station"]["multi"]
    experiment = variables["experiment"]
    assert experiment["type"] == "query" and "$station" in experiment["query"]
    assert experiment["includeAll"] and experiment["allValue"] == ".*"
    for target in targets(station):
        assert '"device" =~ /^$station$/' in target.query, target.name
        if "cycler" in target.query:
            assert '"experiment" =~ /^$experiment$/' in target.query, target.name
