"""The baseline of the ingest benchmark: Python ingesting at its simplest.

paho (QoS 1, persistent session) -> ``json.loads`` -> line protocol -> InfluxDB ``/write`` in
batches of up to 5000 points, written when the batch is full, after 0.1 s without a message or
0.15 s after its first point (the same policy as ``labdcs ingest``). No validation, no spool, no
loss accounting, no topic identity: what our ingester is measured against, not something to run.

    python bench/minimal_ingest.py <mqtt port> <mqtt user> <mqtt password file> <influx url> \
        <influx user> <influx password file> <ready file>

The ready file is created once the broker has acknowledged the subscription.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

BATCH = 5000
IDLE_S = 0.1
LONGEST_S = 0.15


def line(topic: str, data: dict[str, Any]) -> str:
    """One power/sensor state as line protocol (tags from the topic, every scalar a field)."""
    _, _, device, channel, _ = topic.split("/")
    fields = []
    for key, value in data.items():
        if key in ("ts", "kind", "device_kind"):
            continue
        if isinstance(value, bool):
            fields.append(f"{key}={'true' if value else 'false'}")
        elif isinstance(value, int):
            fields.append(f"{key}={value}i")
        elif isinstance(value, float):
            fields.append(f"{key}={value!r}")
        elif isinstance(value, str):
            fields.append(f'{key}="{value}"')
    kind = data.get("device_kind", "")
    return f"{data['kind']},channel={channel},device={device},kind={kind} {','.join(fields)} {data['ts']}"


def main() -> None:
    port, user, password_file, url, influx_user, influx_password_file, ready = sys.argv[1:8]
    token = base64.b64encode(f"{influx_user}:{Path(influx_password_file).read_text().strip()}".encode())
    lines: list[str] = []
    first = last = 0.0
    lock = threading.Lock()

    def on_message(client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        nonlocal first, last
        try:
            text = line(message.topic, json.loads(message.payload))
        except (ValueError, KeyError):
            return
        with lock:
            lines.append(text)
            last = time.monotonic()
            first = first or last

    client = paho.Client(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id="bench-minimal", clean_session=False
    )
    client.username_pw_set(user, Path(password_file).read_text().strip())
    client.on_message = on_message
    client.on_subscribe = lambda *_: Path(ready).touch()
    client.on_connect = lambda c, *_: c.subscribe("labdcs/v1/+/+/state", qos=1)
    client.connect("127.0.0.1", int(port))
    client.loop_start()
    while True:
        with lock:
            now = time.monotonic()
            due = first and (len(lines) >= BATCH or now - last >= IDLE_S or now - first >= LONGEST_S)
            batch = lines[:BATCH] if due else []
            if due:
                del lines[:BATCH]
                first = now if lines else 0.0
        if not batch:
            time.sleep(0.01)
            continue
        request = urllib.request.Request(
            f"{url}/write?db=labdcs&precision=ms",
            data="\n".join(batch).encode(),
            headers={"Authorization": f"Basic {token.decode()}"},
        )
        urllib.request.urlopen(request, timeout=30).read()


if __name__ == "__main__":
    main()
