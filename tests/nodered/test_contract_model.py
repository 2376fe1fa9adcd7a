"""The control UI's contract model (nodered/src/contract-model.js) follows the contract's identity rule
and bounds: run as Node-RED runs a function node, on the issue's forged and oversize messages."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from labdcs.contract import examples, identity, limits, topics
from labdcs.contract.codec import encode
from labdcs.contract.topics import TopicKind
from tests.nodered.conftest import node_binary

SOURCE = Path(__file__).resolve().parents[2] / "nodered" / "src" / "contract-model.js"

#: Runs the function body once per message, with Node-RED's flow/context/node as plain objects
#: (setTimeout does nothing: the snapshot it schedules is not what is tested here).
HARNESS = """
const fs = require('fs')
const code = fs.readFileSync(process.argv[1], 'utf8')
const run = new Function('msg', 'node', 'context', 'flow', 'global', 'env', 'RED', 'setTimeout', code)
const store = (data) => ({ get: (k) => data[k], set: (k, v) => { data[k] = v } })
const flowData = {}
const warnings = []
const node = { warn: (t) => warnings.push(String(t)), send: () => {}, status: () => {} }
const messages = JSON.parse(fs.readFileSync(0, 'utf8'))
for (const msg of messages) {
    run(msg, node, store({}), store(flowData), store({}), {}, {}, () => {})
}
process.stdout.write(JSON.stringify({ model: flowData.model, warnings }))
"""


def run_model(messages: list[tuple[str, bytes]]) -> dict[str, Any]:
    feed = [{"topic": topic, "payload": payload.decode()} for topic, payload in messages]
    result = subprocess.run(
        [node_binary(), "-e", HARNESS, str(SOURCE)],
        input=json.dumps(feed),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    output: dict[str, Any] = json.loads(result.stdout)
    return output


def test_the_bounds_are_the_contracts() -> None:
    code = SOURCE.read_text(encoding="utf-8")
    budgets = json.loads(re.sub(r"(\w+):", r'"\1":', re.search(r"const MAX_BYTES = (\{.*\})", code)[1]))  # type: ignore[index]
    assert budgets == {kind: limits.max_bytes(TopicKind(kind)) for kind in budgets}
    assert set(budgets) == {"meta", "online", "ack", "alarm", "state"}
    assert f"const MAX_CHANNELS_PER_DEVICE = {limits.MAX_CHANNELS_PER_DEVICE}\n" in code
    assert f"const MAX_DEVICES = {identity.MAX_DEVICES}\n" in code
    assert f"const MAX_ALARMS_PER_DEVICE = {limits.MAX_ALARMS_PER_DEVICE}\n" in code


def test_forged_undeclared_and_oversize_messages_are_refused_and_counted() -> None:
    meta = examples.hv1_meta()
    state = encode(examples.power_state())
    forged_meta = meta.model_copy(update={"description": "FORGED by env1"})
    forged_alarm = examples.alarm().model_copy(update={"device": "station1"})
    big = b'{"pad": "' + b"x" * limits.MAX_STATE_BYTES + b'"}'
    messages = [
        (topics.meta("hv1"), encode(meta)),
        (topics.state("hv1", "ch1"), state),
        (topics.meta("env1"), encode(forged_meta)),  # hv1's meta on env1's topic
        (topics.alarm("env1", forged_alarm.alarm), encode(forged_alarm)),
        *[(topics.state("hv1", f"ghost{n}"), state) for n in range(50)],
        *[(topics.state("env2", f"c{n}"), state) for n in range(limits.MAX_CHANNELS_PER_DEVICE + 20)],
        (topics.state("hv1", "ch1"), big),
        *[
            (topics.alarm("hv1", f"a{n}"), encode(examples.alarm().model_copy(update={"alarm": f"a{n}"})))
            for n in range(limits.MAX_ALARMS_PER_DEVICE + 5)
        ],
    ]
    out = run_model(messages)
    model = out["model"]
    assert model["refused"] == {"identity": 2, "undeclared": 50 + 20, "oversize": 1, "alarms": 5}
    assert len(model["devices"]["hv1"]["alarms"]) == limits.MAX_ALARMS_PER_DEVICE
    assert set(model["devices"]["hv1"]["states"]) == {"ch1"}
    assert model["devices"]["hv1"]["meta"]["description"] == meta.description
    assert "env1" not in model["devices"]
    assert len(model["devices"]["env2"]["states"]) == limits.MAX_CHANNELS_PER_DEVICE
    assert len(out["warnings"]) <= 4 * 10  # a flood is counted, not logged line by line

    # env2's meta arrives: only what it declares stays.
    env2_meta = meta.model_copy(
        update={"device": "env2", "channels": [meta.channels[0].model_copy(update={"id": "c0"})]}
    )
    later = run_model([*messages, (topics.meta("env2"), encode(env2_meta))])["model"]
    assert set(later["devices"]["env2"]["states"]) == {"c0"}
