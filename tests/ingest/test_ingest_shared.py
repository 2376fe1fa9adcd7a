"""N ingesters sharing the stream (MQTT shared subscription) on real Mosquitto and InfluxDB."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from labdcs.contract import encode, examples, now_ms, topics
from labdcs.ingest.spool import Spool
from tests.support import Broker, Influx, LabdcsProcess, Probe, ingest_process, wait_until

DEVICES = tuple(f"p{n}" for n in range(5))
GROUP = "ingesters"


def member(folder: Path, broker: Broker, influx: Influx, name: str, **env: str) -> LabdcsProcess:
    """One ingester of the group: the shipped ``ingest`` login, its own client id and spool."""
    (folder / name).mkdir(exist_ok=True)
    return ingest_process(
        folder / name,
        broker.port,
        influx,
        LABDCS_SHARE_GROUP=GROUP,
        LABDCS_CLIENT_ID=name,
        LABDCS_RETENTION__RAW="7d",
        **env,
    )


class Streamer:
    """A dummy publisher: sequence-numbered power states of DEVICES at ~``rate`` msg/s (QoS 1)."""

    def __init__(self, probe: Probe, rate: float) -> None:
        self.probe = probe
        self.rate = rate
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Streamer:
        for device in DEVICES:
            meta = examples.hv1_meta().model_copy(update={"device": device})
            self.probe.publish(topics.meta(device), encode(meta), retain=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        base = examples.power_state()
        start = time.monotonic()
        info = None
        while not self._stop.is_set():
            delay = start + self.sent / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            device = DEVICES[self.sent % len(DEVICES)]
            seq = self.sent // len(DEVICES)
            # One ms per sequence number: the points of a device never share a timestamp.
            state = base.model_copy(update={"seq": seq, "ts": self.t0 + seq})
            info = self.probe.client.publish(topics.state(device, "ch1"), encode(state), qos=1)
            self.sent += 1
        if info is not None:
            info.wait_for_publish(10)

    t0 = now_ms() - 60_000

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(20)
        return self.sent


def stored(influx: Influx) -> tuple[int, int]:
    """(points, distinct sequence numbers per device, summed) of the stream's devices in InfluxDB."""

    def total(select: str) -> int:
        rows = influx.client.query(
            f'SELECT {select} FROM "power" WHERE "device" =~ /^p[0-9]$/ GROUP BY "device"', database="labdcs"
        )
        return sum(int(s["values"][0][1]) for r in rows for s in r.get("series", []))

    return total('count("seq")'), total('count(distinct("seq"))')


def spooled(folder: Path) -> int:
    """Lines an ingester ever appended to its spool (segments are removed only when full)."""
    return sum(p.read_bytes().count(b"\n") for p in folder.glob("*.lp"))


def online_announcements(watcher: Probe) -> int:
    return sum(1 for m in watcher.on(topics.online("ingest")) if m.payload and m.json()["online"])


def test_two_ingesters_share_the_stream_and_a_killed_one_loses_and_duplicates_nothing(
    tmp_path: Path, broker: Broker, influx: Influx, probe
) -> None:
    watcher = probe(topics.online("ingest"))
    a = member(tmp_path, broker, influx, "ingest-a").start()
    # b writes in long batches: killed while its spool holds points InfluxDB does not have yet.
    slow = {"LABDCS_BATCH_INTERVAL_S": "3", "LABDCS_BATCH_IDLE_S": "3"}
    b = member(tmp_path, broker, influx, "ingest-b", **slow).start()
    try:
        # Each announces itself once its subscriptions are in force at the broker.
        wait_until(lambda: online_announcements(watcher) >= 2, 20, "both ingesters subscribed")
        streamer = Streamer(probe(), rate=300).start()
        # Both take part: each one's spool receives points (the broker alternates between them).
        wait_until(
            lambda: (
                all(any((tmp_path / n / "spool").glob("*.lp")) for n in ("ingest-a", "ingest-b"))
                and all(
                    sum(p.stat().st_size for p in (tmp_path / n / "spool").glob("*.lp")) > 2000
                    for n in ("ingest-a", "ingest-b")
                )
            ),
            20,
            "both ingesters receiving",
        )
        b.kill()  # SIGKILL, mid-batch
        left = Spool(tmp_path / "ingest-b" / "spool", 1 << 30)
        waiting = left.pending_lines
        left.close()
        assert waiting > 0, "b was killed with a batch not yet written"
        # The stream goes on (b's share queues in its session); b comes back as its supervisor
        # restarts it, writes its spool and takes its queue.
        killed_at = streamer.sent
        wait_until(lambda: streamer.sent >= killed_at + 300, 20, "a second of stream without b")
        b = member(tmp_path, broker, influx, "ingest-b").start()
        wait_until(lambda: streamer.sent >= 1500, 30, "more of the stream")
        sent = streamer.stop()
        counts = wait_until(lambda: (c := stored(influx))[0] >= sent and c, 30, f"{sent} points stored")
        assert counts == (sent, sent), "0 lost, 0 duplicated"
        # Shared, not copied: each message reached one member (plus the few redelivered after the kill).
        taken = {n: spooled(tmp_path / n / "spool") for n in ("ingest-a", "ingest-b")}
        assert all(taken.values()) and sum(taken.values()) <= sent * 1.05, (taken, sent)
        assert "refused the subscriptions" not in a.log_text() + b.log_text()
    finally:
        a.kill()
        b.kill()


def test_a_quiet_stream_is_written_at_once_not_at_the_batch_interval(
    tmp_path: Path, broker: Broker, influx: Influx, probe
) -> None:
    """The write is triggered by the stream going quiet (batch_idle_s), not only by a full batch or
    the longest wait: one lone message is queryable long before a 20 s batch interval."""
    watcher = probe(topics.online("ingest"))
    # Reports only every 30 s: the writer must be woken by the message, not by its next report.
    slow = {"LABDCS_BATCH_INTERVAL_S": "20", "LABDCS_BATCH_IDLE_S": "0.1", "LABDCS_STATS_PERIOD_S": "30"}
    ingester = ingest_process(tmp_path, broker.port, influx, LABDCS_RETENTION__RAW="7d", **slow).start()
    try:
        wait_until(lambda: online_announcements(watcher) >= 1, 20, "the ingester subscribed")
        meta = examples.hv1_meta().model_copy(update={"device": "p0"})
        watcher.publish(topics.meta("p0"), encode(meta), retain=True)
        state = examples.power_state().model_copy(update={"ts": now_ms()})
        watcher.publish(topics.state("p0", "ch1"), encode(state))
        wait_until(lambda: stored(influx)[0] == 1, 5, "the lone state stored within 5 s")
    finally:
        ingester.kill()


def test_two_ingesters_cannot_share_one_spool(tmp_path: Path, broker: Broker, influx: Influx) -> None:
    """Members of a group each need their own spool: a second ingester on a spool in use refuses to
    start, saying so, instead of interleaving lines with the first."""
    first = ingest_process(tmp_path, broker.port, influx, LABDCS_CLIENT_ID="ingest-a").start()
    try:
        wait_until(lambda: any((tmp_path / "spool").glob("*.lp")), 20, "the first ingester's spool")
        env = {**first.env, "LABDCS_CLIENT_ID": "ingest-b"}
        second = LabdcsProcess(["ingest"], tmp_path / "second.log", broker.port, env=env).start()
        assert second.process is not None
        assert second.process.wait(30) == 1
        assert "is in use by another ingester" in second.log_text()
        assert first.alive()
    finally:
        first.kill()


def test_a_shared_subscription_reads_only_what_the_login_may_read(broker: Broker, probe) -> None:
    """The ingest login's ACL needs no `$share` rule because Mosquitto checks every message of a
    shared subscription against the subscriber's read rules: a device login subscribing to the
    whole contract through `$share` still receives only its own namespace."""
    device = probe(username="dev1", client_id="dev1:spy")
    device.client.subscribe(f"$share/{GROUP}/labdcs/v1/#", qos=1)
    sender = probe()
    wait_until(
        lambda: sender.publish(topics.command("dev1", "ch1", "on", "probe"), b"{}") or device.messages,
        10,
        "the device's own command through $share",
    )
    sender.publish(topics.state("other", "ch1"), b"{}")
    sender.publish(topics.command("dev1", "ch1", "off", "probe"), b"{}")
    wait_until(lambda: any(m.topic.endswith("/off/probe") for m in device.messages), 10, "the second command")
    assert not [m.topic for m in device.messages if "/other/" in m.topic]
