"""The interlock's inputs: identity from the topic, a bound per device, cleared states forgotten."""

from __future__ import annotations

import time

from labdcs.contract import examples, limits, topics
from labdcs.contract.codec import encode
from labdcs.interlock.inputs import Inputs


def test_a_device_gets_at_most_its_declarable_channels_and_cleared_states_go() -> None:
    inputs = Inputs()
    state = encode(examples.sensor_state())
    now = time.monotonic()
    for n in range(limits.MAX_CHANNELS_PER_DEVICE + 500):
        inputs.update(topics.state("env1", f"c{n}"), state, False, now)
    assert len(inputs.states) == limits.MAX_CHANNELS_PER_DEVICE
    assert inputs.refused["channels"] == 500
    assert inputs.update(topics.state("env1", "c0"), state, False, now)  # a known channel still updates
    assert inputs.update(topics.state("env2", "box"), state, False, now)  # another device has its own
    inputs.update(topics.state("env1", "c0"), b"", True, now)
    assert ("env1", "c0") not in inputs.states
    assert inputs.update(topics.state("env1", "new"), state, False, now)  # room again


def test_forged_and_oversize_inputs_are_refused_and_counted() -> None:
    inputs = Inputs()
    now = time.monotonic()
    assert inputs.update(topics.online("env1"), encode(examples.online()), False, now)
    huge = b" " * (limits.MAX_STATE_BYTES + 1)
    assert not inputs.update(topics.state("env1", "box"), huge, False, now)
    assert inputs.refused["oversize"] == 1 and not inputs.states
