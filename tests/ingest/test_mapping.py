"""The mapping, the generated Telegraf and InfluxDB files, and retention against a real InfluxDB."""

from __future__ import annotations

import json
import time
import tomllib

import pytest

from labdcs.contract import topics
from labdcs.contract.codec import ContractError
from labdcs.contract.models import CyclerChannelState, PowerChannelState, SensorChannelState
from labdcs.ingest import retention, telegraf
from labdcs.ingest.lineprotocol import Point
from labdcs.ingest.mapping import MAPPINGS, EmptyPayload, FieldType, to_points
from labdcs.stack.paths import project_root
from tests.support import Influx

ROOT = project_root()
STATE = {
    "ts": 1767225600123,
    "seq": 7,
    "boot": "b1",
    "kind": "power",
    "status": "on",
    "output": True,
    "ramping": False,
    "v_set": 100,
    "v_target": 100.0,
    "i_limit": 1e-6,
    "ramp_rate": 10.0,
    "v_mon": 99.98,
    "i_mon": 1.2e-7,
    "device_kind": "hv",
}


def test_every_field_of_every_state_model_is_mapped_with_its_type() -> None:
    state = next(m for m in MAPPINGS if m.name == "state")
    mapped = {spec.path: spec.type for spec in state.fields}
    tags = {tag.path for tag in state.tags}
    for model in (PowerChannelState, SensorChannelState, CyclerChannelState):
        for name in model.model_fields:
            if name in ("ts", "kind"):
                continue
            assert name in mapped or name in tags or name in state.objects, (
                f"{model.__name__}.{name} not mapped"
            )
    assert mapped["v_mon"] is FieldType.FLOAT and mapped["seq"] is FieldType.INT
    assert mapped["output"] is FieldType.BOOL and mapped["status"] is FieldType.STRING
    assert state.measurements == ("power", "sensor", "cycler", "rule")
    assert {tag.name for tag in state.tags} == {"kind", "experiment"}, "a cycler's experiment id is a tag"


def test_a_power_state_becomes_one_typed_point() -> None:
    (point,) = to_points(topics.state("hv1", "ch1"), json.dumps(STATE).encode(), received_ms=1)
    assert point.measurement == "power"
    assert point.tags == {"device": "hv1", "channel": "ch1", "kind": "hv"}
    assert point.ts_ms == STATE["ts"]
    assert point.fields["v_set"] == 100.0 and isinstance(point.fields["v_set"], float), "int arrives as float"
    line = point.line()
    assert line.startswith("power,channel=ch1,device=hv1,kind=hv ")
    assert "seq=7i" in line and "output=true" in line and 'status="on"' in line and "v_set=100.0" in line
    assert line.endswith(" 1767225600123")


def test_sensor_values_become_float_fields_and_events_use_their_timestamps() -> None:
    sensor = {"ts": 5, "seq": 1, "boot": "b", "kind": "sensor", "status": "ok", "values": {"humidity": 41}}
    (point,) = to_points(topics.state("env1", "box"), json.dumps(sensor).encode(), received_ms=1)
    assert point.measurement == "sensor" and point.fields["humidity"] == 41.0
    will = {"online": False, "boot": "b", "reason": "connection lost"}
    (online,) = to_points(topics.online("hv1"), json.dumps(will).encode(), received_ms=99)
    assert online.measurement == "device_online" and online.ts_ms == 99, "the will has no ts: receive time"
    ack = {
        "id": "op-1",
        "device": "hv1",
        "channel": "ch1",
        "verb": "on",
        "result": "rejected",
        "ts": 9,
        "reason": "r",
    }
    (command,) = to_points(topics.ack("hv1"), json.dumps(ack).encode(), received_ms=1)
    assert command.measurement == "command" and command.ts_ms == 9
    assert command.tags == {"device": "hv1", "channel": "ch1", "verb": "on", "result": "rejected"}


def test_bad_messages_are_classified() -> None:
    with pytest.raises(EmptyPayload):
        to_points(topics.state("hv1", "ch1"), b"", 1)
    with pytest.raises(ContractError) as malformed:
        to_points(topics.state("hv1", "ch1"), b"{oops", 1)
    assert not malformed.value.is_type_conflict
    with pytest.raises(ContractError) as conflict:
        to_points(topics.state("hv1", "ch1"), json.dumps({**STATE, "v_mon": "high"}).encode(), 1)
    assert conflict.value.is_type_conflict


def test_line_protocol_escapes_what_it_must() -> None:
    point = Point("m", {"device": "a b,c=d"}, {"msg": 'say "hi"\\ now', "n": 3, "ok": False, "x": 1e-9}, 1)
    assert point.line() == 'm,device=a\\ b\\,c\\=d msg="say \\"hi\\"\\\\ now",n=3i,ok=false,x=1e-09 1'
    with pytest.raises(ValueError):
        Point("m", {}, {"x": float("nan")}, 1).line()


def test_committed_telegraf_conf_is_generated() -> None:
    committed = (ROOT / "telegraf" / "telegraf.conf").read_text()
    assert committed == telegraf.render(), "telegraf/telegraf.conf is out of date: run `labdcs gen telegraf`"


def test_telegraf_conf_reads_every_mapping_with_qos1_persistent_sessions() -> None:
    conf = tomllib.loads(telegraf.render())
    consumers = conf["inputs"]["mqtt_consumer"]
    assert [c["topics"] for c in consumers] == [[m.topic_filter] for m in MAPPINGS]
    for consumer, mapping in zip(consumers, MAPPINGS, strict=True):
        assert consumer["qos"] == 1 and consumer["persistent_session"] is True
        assert consumer["client_id"] == f"telegraf:{mapping.name}"
        assert consumer["data_format"] == "json_v2"
        parser = consumer["json_v2"][0]
        if mapping.array_path is not None:
            continue  # the batch consumer: below
        assert {f["path"]: f["type"] for f in parser.get("field", [])} == {
            f.path: f.type.value for f in mapping.fields
        }
    state_topics = consumers[0]["topics"]
    assert all("online" not in t and "meta" not in t for t in state_topics), "availability kept out"
    assert conf["agent"]["flush_interval"] == "1s" and conf["agent"]["metric_batch_size"] == 5000
    assert "internal" in conf["inputs"]
    raw_output, events_output, experiments_output = conf["outputs"]["influxdb"]
    assert {o["database"] for o in (raw_output, events_output, experiments_output)} == {"labdcs"}
    assert "retention_policy" not in raw_output
    assert events_output["retention_policy"] == "events"
    assert experiments_output["retention_policy"] == "experiments"
    events = set(retention.event_measurements())
    assert set(events_output["namepass"]) == events and experiments_output["namepass"] == ["cycler"]
    assert set(raw_output["namedrop"]) == events | {"cycler"}


def test_telegraf_reads_each_state_of_a_batch_as_the_state_topic_does() -> None:
    """The batch consumer's object table gives every entry the single-state parser's measurement,
    tags, field types and timestamp."""
    conf = tomllib.loads(telegraf.render())
    consumers = {c["client_id"]: c for c in conf["inputs"]["mqtt_consumer"]}
    batch = next(m for m in MAPPINGS if m.name == "state_batch")
    single = consumers["telegraf:state"]["json_v2"][0]
    consumer = consumers["telegraf:state_batch"]
    assert consumer["topics"] == [topics.ALL_STATES] and batch.topic_filter == topics.ALL_STATES
    assert consumer["topic_parsing"] == [{"topic": topics.ALL_STATES, "tags": "_/_/device/channel/_"}]
    parser = consumer["json_v2"][0]
    assert parser["measurement_name"] == "cycler" and "field" not in parser and "tag" not in parser
    (entry,) = parser["object"]
    assert entry["path"] == "states" and entry["disable_prepend_keys"] is True
    assert (entry["timestamp_key"], entry["timestamp_format"]) == ("ts", "unix_ms")
    single_types = {f["path"]: f["type"] for f in single["field"]}
    assert entry["fields"] == {
        name: single_types[name] for name in CyclerChannelState.model_fields if name in single_types
    }
    single_tags = {t["path"]: t.get("rename", t["path"]) for t in single["tag"]}
    assert entry["tags"] == list(single_tags) and entry["renames"] == {"device_kind": "kind"}
    assert set(entry["included_keys"]) == {"ts", *entry["fields"], *entry["tags"]}
    assert "kind" not in entry["included_keys"], "the measurement name is no field"


def test_committed_influxdb_init_is_generated() -> None:
    committed = (ROOT / "influxdb" / "init" / "labdcs.iql").read_text()
    assert committed == retention.render_iql(), (
        "influxdb/init/labdcs.iql is out of date: run `labdcs gen influxdb`"
    )


def test_retention_applies_idempotently_and_the_trend_query_downsamples(influx: Influx) -> None:
    settings = retention.RetentionSettings(raw="14d")
    retention.apply(influx.client, settings)
    retention.apply(influx.client, settings.model_copy(update={"raw": "7d"}))
    policies = {row[0]: row for row in influx.client.series_values("SHOW RETENTION POLICIES")}
    assert policies["raw"][1] == "168h0m0s" and policies["raw"][4] is True, "raw altered, and the default"
    assert {"trend", "events", "experiments"} <= set(policies)
    assert policies["experiments"][1] == "0s", "experiment data are kept forever"
    queries = influx.client.query("SHOW CONTINUOUS QUERIES", database="")
    names = [row[0] for r in queries for s in r.get("series", []) for row in s.get("values", [])]
    assert names == [retention.TREND_CQ]
    points = [
        to_points(
            topics.state("hv1", "ch1"),
            json.dumps({**STATE, "ts": STATE["ts"] + i * 1000, "v_mon": float(i)}).encode(),
            1,
        )[0]
        for i in range(120)
    ]
    now_base = (int(time.time()) // 60 - 10) * 60_000  # a whole minute, inside the raw policy
    lines = [Point(p.measurement, p.tags, p.fields, now_base + i * 1000).line() for i, p in enumerate(points)]
    assert influx.client.write(lines).written == 120
    select = retention.trend_select(settings).replace(
        "GROUP BY", f"WHERE time >= {now_base}ms AND time < {now_base + 120_000}ms GROUP BY"
    )
    influx.client.query(select)
    rows = influx.client.series_values('SELECT "mean_v_mon" FROM "trend"."power"')
    assert [row[1] for row in rows] == [29.5, 89.5], "two one-minute means"


def _reference_point(topic: str, payload: bytes) -> Point:
    """The mapping spelled out the slow way (every spec, on model_dump): what the fast path in
    to_points (model attributes, per-model field plans, cached escaping) must agree with."""
    from enum import Enum

    from labdcs.contract.codec import decode

    info, message = decode(topic, payload)
    mapping = next(m for m in MAPPINGS if m.topic_kind is info.kind)
    data = message.model_dump(mode="python")
    levels = topic.split("/")
    tags = {name: levels[index] for index, name in mapping.topic_tags.items()}
    for tag in mapping.tags:
        if data.get(tag.path) is not None:
            value = data[tag.path]
            tags[tag.name] = str(value.value if isinstance(value, Enum) else value)
    casts = {FieldType.FLOAT: float, FieldType.INT: int, FieldType.BOOL: bool}
    fields: dict[str, float | int | bool | str] = {}
    for spec in mapping.fields:
        value = data.get(spec.path)
        if value is not None:
            value = value.value if isinstance(value, Enum) else value
            fields[spec.field] = casts.get(spec.type, str)(value)
    for key in mapping.objects:
        fields.update({name: float(v) for name, v in (data.get(key) or {}).items()})
    raw = data[mapping.measurement_path] if mapping.measurement_path else mapping.measurement
    measurement = str(raw.value if isinstance(raw, Enum) else raw)
    return Point(measurement, tags, fields, int(data["ts"]) if data.get("ts") is not None else 7)


def test_the_fast_mapping_path_agrees_with_the_contract_models_for_every_example() -> None:
    from labdcs.contract import encode, examples

    cases = [
        (topics.state("hv1", "ch1"), examples.power_state()),
        (topics.state("env1", "box"), examples.sensor_state()),
        (topics.state("cyc1", "ch1"), examples.cycler_state()),
        (topics.state("interlock", "r1"), examples.rule_state()),
        (topics.online("hv1"), examples.online()),
        (topics.online("hv1"), examples.last_will()),
        (topics.ack("hv1"), examples.ack()),
        (topics.stats("cyc1", "ch1"), examples.cycler_stats()),
    ]
    alarm = examples.alarm()
    cases.append((topics.alarm(alarm.device, alarm.alarm), alarm))
    for topic, message in cases:
        topic = topic.replace("hv1", getattr(message, "device", None) or "hv1")
        payload = encode(message)
        (point,) = to_points(topic, payload, 7)
        assert point == _reference_point(topic, payload), topic
        assert point.line() == _reference_point(topic, payload).line()


def test_each_state_of_a_batch_becomes_the_point_its_state_topic_gives() -> None:
    from labdcs.contract import encode, examples

    batch = examples.cycler_state_batch()
    points = to_points(topics.states("station1", "ch1"), encode(batch), 7)
    singles = [to_points(topics.state("station1", "ch1"), encode(s), 7)[0] for s in batch.states]
    assert points == singles and len(points) == 3
    assert [p.fields["seq"] for p in points] == [s.seq for s in batch.states]
    assert [p.ts_ms for p in points] == [s.ts for s in batch.states]
    assert points[0].measurement == "cycler" and points[0].tags["experiment"] == "exp-20260101-nmc-07"


def test_a_malformed_batch_gives_no_point_at_all() -> None:
    from labdcs.contract import encode, examples

    good = json.loads(encode(examples.cycler_state_batch()))
    topic = topics.states("station1", "ch1")
    swapped = {"states": [good["states"][1], good["states"][0]]}
    wrong_type = {"states": [good["states"][0], {**good["states"][1], "voltage": "high"}]}
    for bad in (swapped, {"states": []}, wrong_type, {"states": good["states"][0]}):
        with pytest.raises(ContractError):
            to_points(topic, json.dumps(bad).encode(), 1)
    with pytest.raises(ContractError) as conflict:
        to_points(topic, json.dumps(wrong_type).encode(), 1)
    assert conflict.value.is_type_conflict
