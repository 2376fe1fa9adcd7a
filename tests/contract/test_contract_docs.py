"""docs/contract.md describes every field, topic and verb of the contract."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from labdcs.contract import (
    AckResult,
    AlarmVerb,
    ChannelMeta,
    CommandMeta,
    CyclerLimits,
    InstrumentIdentity,
    PowerLimits,
    PowerStatus,
    QuantityMeta,
    RuleAction,
    RuleHold,
    RuleStatus,
    RuleTarget,
    RuleVerb,
    Verb,
    topics,
)
from labdcs.contract.asyncapi import PAYLOAD_MODELS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "contract.md"
TEXT = GUIDE.read_text(encoding="utf-8")
MODELS: list[type[BaseModel]] = [
    *PAYLOAD_MODELS,
    ChannelMeta,
    QuantityMeta,
    CommandMeta,
    PowerLimits,
    InstrumentIdentity,
    CyclerLimits,
    RuleTarget,
    RuleHold,
]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_every_field_is_described(model: type[BaseModel]) -> None:
    assert f"`{model.__name__}`" in TEXT
    missing = [name for name in model.model_fields if f"`{name}`" not in TEXT]
    assert missing == [], f"{GUIDE.name} does not describe {model.__name__}: {missing}"


def test_topics_verbs_and_results_are_described() -> None:
    for topic in (
        topics.meta("<device>"),
        topics.online("<device>"),
        topics.state("<device>", "<channel>"),
        topics.command("<device>", "<channel>", "<verb>", "<sender>"),
        topics.ack("<device>"),
        topics.alarm("<device>", "<alarm>"),
        topics.stats("<device>", "<channel>"),
        topics.states("<device>", "<channel>"),
        topics.alarm_command("<device>", "<alarm>", "<verb>", "<sender>"),
        topics.heartbeat("<interlock>"),
    ):
        assert f"`{topic}`" in TEXT, topic
    words = [*Verb, *RuleVerb, *AlarmVerb, *AckResult, *PowerStatus, *RuleStatus, *RuleAction]
    for word in [*words, *sorted(topics.RESERVED_CHANNEL_IDS)]:
        assert f"`{word}`" in TEXT, word
    assert topics.IDENT_PATTERN in TEXT
