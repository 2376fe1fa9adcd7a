"""topics.parse classifies every topic of the contract and nothing else."""

from __future__ import annotations

import paho.mqtt.client as paho
import pytest

from labdcs.contract import topics
from labdcs.contract.topics import TopicInfo, TopicKind


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        (topics.meta("hv1"), TopicInfo(TopicKind.META, "hv1")),
        (topics.online("lv1"), TopicInfo(TopicKind.ONLINE, "lv1")),
        (topics.state("env1", "box"), TopicInfo(TopicKind.STATE, "env1", channel="box")),
        (topics.stats("station1", "ch1"), TopicInfo(TopicKind.STATS, "station1", channel="ch1")),
        (topics.states("station1", "ch1"), TopicInfo(TopicKind.STATES, "station1", channel="ch1")),
        (
            topics.command("lv1", "ch4", "set_current_limit", "cli"),
            TopicInfo(TopicKind.COMMAND, "lv1", channel="ch4", verb="set_current_limit", sender="cli"),
        ),
        (topics.ack("can1"), TopicInfo(TopicKind.ACK, "can1")),
        (topics.alarm("hv1", "ch1-compliance"), TopicInfo(TopicKind.ALARM, "hv1", alarm="ch1-compliance")),
        # An alarm id may be a word that is reserved as a channel id.
        (topics.alarm("hv1", "state"), TopicInfo(TopicKind.ALARM, "hv1", alarm="state")),
        (
            topics.alarm_command("hv1", "ch1-trip", "acknowledge", "nodered"),
            TopicInfo(TopicKind.ALARM_COMMAND, "hv1", alarm="ch1-trip", verb="acknowledge", sender="nodered"),
        ),
        (topics.heartbeat("interlock"), TopicInfo(TopicKind.HEARTBEAT, "interlock")),
        (
            topics.command("interlock", "dew-point", "reset", "cli"),
            TopicInfo(TopicKind.COMMAND, "interlock", channel="dew-point", verb="reset", sender="cli"),
        ),
    ],
    ids=[
        "meta",
        "online",
        "state",
        "stats",
        "states",
        "command",
        "ack",
        "alarm",
        "alarm-named-state",
        "alarm-command",
        "heartbeat",
        "rule-command",
    ],
)
def test_parse_classifies_every_kind(topic: str, expected: TopicInfo) -> None:
    assert topics.parse(topic) == expected


def test_builders_write_the_documented_scheme() -> None:
    assert topics.meta("hv1") == "labdcs/v1/hv1/meta"
    assert topics.online("hv1") == "labdcs/v1/hv1/online"
    assert topics.state("hv1", "ch1") == "labdcs/v1/hv1/ch1/state"
    assert topics.command("hv1", "ch1", "on", "cli") == "labdcs/v1/hv1/ch1/cmd/on/cli"
    assert topics.ack("hv1") == "labdcs/v1/hv1/ack"
    assert topics.alarm("hv1", "x") == "labdcs/v1/hv1/alarm/x"
    assert topics.commands_of("hv1") == "labdcs/v1/hv1/+/cmd/+/+"
    assert (
        topics.alarm_command("hv1", "x", "acknowledge", "cli") == "labdcs/v1/hv1/alarm/x/cmd/acknowledge/cli"
    )
    assert topics.alarm_commands_of("hv1") == "labdcs/v1/hv1/alarm/+/cmd/+/+"
    assert topics.heartbeat("interlock") == "labdcs/v1/interlock/heartbeat"
    assert topics.states("station1", "ch1") == "labdcs/v1/station1/ch1/states"
    assert {kind.value for kind in TopicKind} == {
        "meta",
        "online",
        "state",
        "cmd",
        "ack",
        "alarm",
        "alarm_cmd",
        "heartbeat",
        "stats",
        "states",
    }


def test_alarm_command_filters_do_not_overlap_alarms_or_channel_commands() -> None:
    command = topics.alarm_command("hv1", "ch1-trip", "acknowledge", "cli")
    assert paho.topic_matches_sub(topics.ALL_ALARM_COMMANDS, command)
    assert not paho.topic_matches_sub(topics.ALL_ALARMS, command)
    assert not paho.topic_matches_sub(topics.ALL_COMMANDS, command)
    assert not paho.topic_matches_sub(topics.ALL_ALARM_COMMANDS, topics.command("hv1", "ch1", "on", "cli"))
    assert topics.parse("labdcs/v1/hv1/alarm/Bad!/cmd/acknowledge/cli") is None


def test_a_command_with_an_unknown_verb_is_still_a_command() -> None:
    """The device answers it with a rejected ack naming the verbs it accepts."""
    info = topics.parse("labdcs/v1/hv1/ch1/cmd/Explode!/cli")
    assert info == TopicInfo(TopicKind.COMMAND, "hv1", channel="ch1", verb="Explode!", sender="cli")


@pytest.mark.parametrize(
    "topic",
    [
        "labdcs/v1/hv1/ch1/cmd/on",  # the 1.x form, without the sender: no topic of the contract
        "labdcs/v1/hv1/alarm/ch1-trip/cmd/acknowledge",
        "labdcs/v1/hv1/ch1/cmd/on/cli/x",
    ],
)
def test_a_command_topic_ends_in_its_sender(topic: str) -> None:
    """The 1.x form is no command: the parser refuses it and a device's subscriptions miss it."""
    assert topics.parse(topic) is None
    assert not paho.topic_matches_sub(topics.commands_of("hv1"), topic)
    assert not paho.topic_matches_sub(topics.alarm_commands_of("hv1"), topic)


@pytest.mark.parametrize("sender", ["Alice", "+", "#", "a b", ""])
def test_the_sender_is_a_broker_login(sender: str) -> None:
    assert topics.parse(f"labdcs/v1/hv1/ch1/cmd/on/{sender}") is None
    assert topics.parse(f"labdcs/v1/hv1/alarm/ch1-trip/cmd/acknowledge/{sender}") is None


@pytest.mark.parametrize("reserved", sorted(topics.RESERVED_CHANNEL_IDS))
def test_reserved_words_are_not_channel_ids(reserved: str) -> None:
    state = topics.parse(f"labdcs/v1/hv1/{reserved}/state")
    assert state is None or (state.kind is TopicKind.ALARM and state.channel is None)
    assert topics.parse(f"labdcs/v1/hv1/{reserved}/cmd/on/cli") is None


@pytest.mark.parametrize(
    "bad",
    ["", "HV1", "hv 1", "-hv1", "_hv1", "hv1\n", "hv1/x", "hv+", "#", "é", "a" * 64],
    ids=repr,
)
def test_bad_idents_are_refused(bad: str) -> None:
    assert not topics.is_ident(bad)
    with pytest.raises(ValueError, match="is not a valid id"):
        topics.check_ident(bad, "device")
    assert topics.parse(f"labdcs/v1/{bad}/meta") is None
    assert topics.parse(f"labdcs/v1/hv1/{bad}/state") is None
    assert topics.parse(f"labdcs/v1/hv1/{bad}/cmd/on/cli") is None
    assert topics.parse(f"labdcs/v1/hv1/ch1/cmd/on/{bad}") is None
    assert topics.parse(f"labdcs/v1/hv1/alarm/{bad}") is None


@pytest.mark.parametrize("good", ["hv1", "0", "a" * 63, "ch-1_a", "dew_point"])
def test_good_idents(good: str) -> None:
    assert topics.is_ident(good)
    assert topics.check_ident(good, "channel") == good
    assert topics.parse(topics.state("hv1", good)) == TopicInfo(TopicKind.STATE, "hv1", channel=good)


@pytest.mark.parametrize(
    "topic",
    [
        "labdcs/v1",
        "labdcs/v1/hv1",
        "labdcs/v1/hv1/",
        "labdcs/v2/hv1/meta",
        "labdcs/V1/hv1/meta",
        "other/v1/hv1/meta",
        "/labdcs/v1/hv1/meta",
        "labdcs/v1/hv1/meta/",
        "labdcs/v1/hv1/ch1",
        "labdcs/v1/hv1/ch1/state/x",
        "labdcs/v1/hv1/ch1/cmd",
        "labdcs/v1/hv1/ch1/cmd/on/x/y",
        "labdcs/v1/hv1/alarm",
        "labdcs/v1/hv1/alarm/a/b",
        "labdcs/v1/hv1/ack/x",
        "labdcs/v1/+/meta",
        "labdcs/v1/#",
    ],
)
def test_other_topics_are_not_classified(topic: str) -> None:
    assert topics.parse(topic) is None


def test_subscription_filters_cover_their_kind() -> None:
    assert topics.ALL_META == "labdcs/v1/+/meta"
    assert topics.ALL_ONLINE == "labdcs/v1/+/online"
    assert topics.ALL_STATE == "labdcs/v1/+/+/state"
    assert topics.ALL_COMMANDS == "labdcs/v1/+/+/cmd/+/+"
    assert topics.ALL_ACKS == "labdcs/v1/+/ack"
    assert topics.ALL_ALARMS == "labdcs/v1/+/alarm/+"
    assert topics.ALL_STATS == "labdcs/v1/+/+/stats"
