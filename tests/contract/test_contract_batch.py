"""The batched cycler states of contract 2.1.0: what a batch may and may not be."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labdcs.contract import CyclerStateBatch, decode, encode, examples, limits, topics
from labdcs.contract.batch import BATCH_OVERHEAD, MAX_BATCH_STATES, batch_payload
from labdcs.contract.codec import ContractError, OversizeError
from labdcs.contract.identity import Declared
from labdcs.contract.topics import TopicInfo, TopicKind

TOPIC = topics.states("station1", "ch1")


def _states(n: int, **changes: Any) -> list[dict[str, Any]]:
    first = json.loads(encode(examples.cycler_state()))
    return [{**first, "ts": first["ts"] + i * 1000, "seq": first["seq"] + i, **changes} for i in range(n)]


def _decode(states: list[dict[str, Any]]) -> CyclerStateBatch:
    info, message = decode(TOPIC, json.dumps({"states": states}).encode())
    assert info == TopicInfo(TopicKind.STATES, "station1", channel="ch1")
    assert isinstance(message, CyclerStateBatch)
    return message


def test_a_batch_decodes_to_its_states_in_order() -> None:
    batch = _decode(_states(MAX_BATCH_STATES))
    assert len(batch.states) == MAX_BATCH_STATES == 500
    assert [s.seq for s in batch.states] == list(range(7260, 7760))
    assert decode(TOPIC, encode(examples.cycler_state_batch()))[1] == examples.cycler_state_batch()


def test_the_payload_built_from_encoded_states_is_the_model_encoded() -> None:
    batch = examples.cycler_state_batch()
    assert batch_payload([encode(s) for s in batch.states]) == encode(batch)
    assert len(b'{"states":[]}') == BATCH_OVERHEAD


def test_equal_timestamps_are_allowed_but_not_a_step_back() -> None:
    same_ts = _states(3)
    same_ts[2]["ts"] = same_ts[1]["ts"]
    assert len(_decode(same_ts).states) == 3
    back = _states(3)
    back[2]["ts"] = back[0]["ts"] - 1
    with pytest.raises(ContractError, match=r"states\[2\]\.ts"):
        _decode(back)


@pytest.mark.parametrize(
    ("states", "words"),
    [
        ([], "at least 1"),
        (_states(MAX_BATCH_STATES + 1), "at most 500"),
        ([*_states(2)[::-1]], "does not follow"),
        ([*_states(2)[:1], *_states(2)[:1]], "does not follow"),
        ([*_states(1), *_states(2, boot="other")[1:]], "of boot 'other'"),
        (_states(2, kind="power"), "kind"),
        (_states(2, voltage="3.7"), "voltage"),
        (_states(2, run_state="sleeping"), "run_state"),
    ],
    ids=[
        "empty",
        "501",
        "reversed",
        "repeated-seq",
        "two-boots",
        "power-state",
        "string-reading",
        "bad-enum",
    ],
)
def test_bad_batches_are_refused_whole(states: list[dict[str, Any]], words: str) -> None:
    with pytest.raises(ContractError) as refused:
        _decode(states)
    assert words in refused.value.problem


def test_not_a_list_and_not_an_object_are_refused() -> None:
    for payload in (b'{"states": {"ts": 1}}', b"[]", b"{oops", b"{}"):
        with pytest.raises(ContractError):
            decode(TOPIC, payload)


def test_a_batch_over_the_byte_budget_is_refused_before_parsing() -> None:
    assert limits.max_bytes(TopicKind.STATES) == limits.MAX_STATES_BYTES == limits.MIB
    with pytest.raises(OversizeError):
        decode(TOPIC, b'{"states": [' + b" " * limits.MIB + b"]}")


def test_a_batch_counts_only_for_a_declared_cycler_channel() -> None:
    declared = Declared()
    declared.update("station1", examples.hv1_meta().model_copy(update={"device": "station1"}))
    info = TopicInfo(TopicKind.STATES, "station1", "ch1")
    assert "not a cycler one" in (declared.undeclared(info, examples.cycler_state_batch()) or "")
    other = TopicInfo(TopicKind.STATES, "station1", "ch9")
    assert "does not declare" in (declared.undeclared(other, examples.cycler_state_batch()) or "")
