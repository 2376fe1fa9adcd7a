"""``labdcs ingest``: the native ingester, for machines without Telegraf (and what `labdcs up` runs).

MQTT (QoS 1, fixed client id, persistent session, manual acknowledgements) -> the mapping ->
an on-disk spool -> InfluxDB in batches of up to 5000 points, written once the batch is full, the
stream has been quiet for ``batch_idle_s`` or its oldest point has waited ``batch_interval_s``.
With ``share_group`` several ingesters share the stream (MQTT shared subscription). A message is
acknowledged to the broker only once its points are in the spool, and leaves the spool only once
InfluxDB has them, so nothing acknowledged is lost: not when InfluxDB is down (the spool fills and drains when
it returns), not when the ingester is killed (the broker redelivers what was not acknowledged;
InfluxDB overwrites a repeated point with the same series and time, so duplicates vanish). When
the spool is full the ingester stops acknowledging, the broker holds the rest in the session's
queue, and memory stays bounded. Every loss that can still happen is counted and published:
malformed messages, type conflicts, points InfluxDB refused, messages the broker dropped (its
session queue overflowed while the ingester was away or held back). Beyond the counters, a loss
raises the ingester's ``data_loss`` alarm and bad input its ``bad_messages`` warning, so nothing is
lost silently. Points stamped too far from the ingester's clock (a device's clock jumped, or a
broken timestamp) are refused like bad input: they would land where nobody looks for them.

The topic is the identity (:mod:`labdcs.contract.identity`): a payload naming another device is
refused (``forged``), as is one over the contract's size budget (``oversize``, before parsing), and
a state or stats for a channel that the device's retained meta does not declare (``undeclared``;
for ``meta_grace_s`` after each connection a device whose meta has not arrived yet is believed, so
the session's backlog is not lost to the order the broker delivers it in). Rejected messages are kept
in ``rejected.jsonl`` as a bounded prefix with their size and SHA-256; the file is rotated.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

import paho.mqtt.client as paho
from pydantic import BaseModel

from labdcs import __version__
from labdcs.contract import topics
from labdcs.contract.codec import (
    ContractError,
    IdentityError,
    OversizeError,
    UndeclaredError,
    decode,
    encode,
)
from labdcs.contract.identity import Declared
from labdcs.contract.models import (
    ChannelKind,
    ChannelMeta,
    DeviceKind,
    DeviceMeta,
    Online,
    QuantityMeta,
    SensorChannelState,
    SensorStatus,
    Severity,
    now_ms,
)
from labdcs.contract.topics import TopicInfo
from labdcs.devices.alarms import DeviceAlarms
from labdcs.ingest import retention
from labdcs.ingest.influx import InfluxClient, InfluxError
from labdcs.ingest.mapping import MAPPINGS, EmptyPayload, to_points
from labdcs.ingest.settings import IngestSettings as IngestSettings  # re-exported: its old home
from labdcs.ingest.spool import Spool
from labdcs.mqtt import MqttConnection, Will, owned_id
from labdcs.mqtt.connection import shared

log = logging.getLogger(__name__)

BROKER_DROPPED = "$SYS/broker/publish/messages/dropped"
STATS_CHANNEL = "stats"
#: Bytes of a rejected payload (and characters of its topic and reason) kept in rejected.jsonl.
REJECTED_PREFIX = 1024


@dataclass
class Counters:
    """Everything the ingester counts; published as the `stats` channel's values."""

    received: int = 0
    points: int = 0
    written: int = 0
    parse_errors: int = 0
    type_conflicts: int = 0
    refused: int = 0
    removals: int = 0
    write_errors: int = 0
    broker_dropped: int = 0
    clock_skew: int = 0
    forged: int = 0
    oversize: int = 0
    undeclared: int = 0

    def as_values(self) -> dict[str, float]:
        return {key: float(value) for key, value in asdict(self).items()}


_QUANTITIES = [
    ("received", "", "messages received"),
    ("points", "", "points stored in the spool"),
    ("written", "", "points written to InfluxDB"),
    ("parse_errors", "", "messages outside the contract (counted, kept in rejected.jsonl)"),
    ("type_conflicts", "", "values of the wrong type (counted, kept in rejected.jsonl)"),
    ("refused", "", "points InfluxDB refused for good (counted, kept in rejected.jsonl)"),
    ("removals", "", "empty retained messages (deleted topics), not data"),
    ("write_errors", "", "failed write attempts (retried)"),
    ("broker_dropped", "", "messages the broker dropped (all clients, from $SYS)"),
    ("clock_skew", "", "messages stamped too far from the ingester's clock (kept in rejected.jsonl)"),
    ("forged", "", "messages naming another device than their topic (kept in rejected.jsonl)"),
    ("oversize", "", "messages over the contract's size budget (a prefix kept in rejected.jsonl)"),
    ("undeclared", "", "states/stats of channels the device's meta does not declare (rejected.jsonl)"),
    ("buffered", "", "points waiting in the spool"),
    ("buffer_bytes", "B", "size of the spool"),
    ("buffer_fill", "%", "spool size as a share of its limit"),
    ("held", "", "messages not acknowledged because the spool is full"),
    ("lag", "s", "age of the oldest point in the last batch when it was written"),
    ("rate", "1/s", "points written per second since the last report"),
]


class Ingester:
    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        self.influx = InfluxClient(settings.influx)
        self.spool = Spool(settings.spool_dir, settings.spool_max_bytes)
        self.counters = Counters()
        self._lock = threading.Lock()
        self._held: deque[tuple[paho.MQTTMessage, list[str]]] = deque()
        self._stop = threading.Event()
        self._wake = threading.Event()
        #: When the oldest point not yet written arrived, and the latest (monotonic s; 0: none).
        self._first_pending = time.monotonic() if self.spool.pending_lines else 0.0
        self._last_append = self._first_pending
        self._lag_s = 0.0
        self._database_ready = not settings.apply_retention
        self._last_report = (time.monotonic(), 0)
        self.boot = secrets.token_hex(6)
        self.seq = 0
        self._rejected = settings.spool_dir / "rejected.jsonl"
        self._dropped_seen_file = settings.spool_dir / "broker-dropped-seen"
        self._dropped_seen = self._read_dropped_seen()
        self._lost_at_broker = 0
        self._rejections = 0
        device = settings.device
        will = Online(online=False, boot=self.boot, reason="connection lost")
        self.connection = MqttConnection(
            settings.mqtt,
            client_id=owned_id(settings.mqtt, settings.client_id),
            will=Will(topics.online(device), encode(will)),
            clean_session=False,
            manual_ack=True,
            batch_reads=True,
            coalesce_s=settings.read_coalesce_s,
        )
        self.connection.add_on_batch_end(self._on_batch_end)
        self.alarms = DeviceAlarms(self.connection, device)
        self.connection.add_on_connect(self._on_connect)
        self.declared = Declared()
        self._grace_until = time.monotonic() + settings.meta_grace_s
        # Before the mappings: plain subscriptions go first, so the retained metas arrive first.
        self.connection.subscribe(topics.ALL_META, self._on_meta)
        for mapping in MAPPINGS:
            self.connection.subscribe_acking(
                shared(settings.share_group, mapping.topic_filter), self._on_message
            )
        self.connection.subscribe(BROKER_DROPPED, self._on_broker_dropped, qos=0)

    # --- network thread -----------------------------------------------------------------------------

    def _on_connect(self) -> None:
        with self._lock:
            self._grace_until = time.monotonic() + self.settings.meta_grace_s
        device = self.settings.device
        self.connection.publish(topics.meta(device), encode(self._meta()), retain=True)
        online = Online(online=True, boot=self.boot, ts=now_ms())
        self.connection.publish(topics.online(device), encode(online), retain=True)
        self.alarms.republish()

    def _on_message(self, message: paho.MQTTMessage) -> bool:
        payload = bytes(message.payload)
        with self._lock:
            self.counters.received += 1
        try:
            points = to_points(message.topic, payload, now_ms(), self._undeclared)
        except EmptyPayload:
            with self._lock:
                self.counters.removals += 1
            return True
        except ContractError as exc:
            with self._lock:
                if isinstance(exc, IdentityError):
                    self.counters.forged += 1
                elif isinstance(exc, OversizeError):
                    self.counters.oversize += 1
                elif isinstance(exc, UndeclaredError):
                    self.counters.undeclared += 1
                elif exc.is_type_conflict:
                    self.counters.type_conflicts += 1
                else:
                    self.counters.parse_errors += 1
            self._reject(message.topic, payload, exc.problem)
            return True
        skew = self._clock_skew(points)
        if skew is not None:
            with self._lock:
                self.counters.clock_skew += 1
            self._reject(message.topic, payload, skew)
            return True
        lines = [point.line() for point in points]
        with self._lock:
            if self._held or not self.spool.stage(lines):
                self._held.append((message, lines))
                return False
            self.counters.points += len(lines)
        return True  # acknowledged after _on_batch_end has stored the lines

    def _on_batch_end(self) -> None:
        """After each batch the connection received: store its staged points with one write,
        before the connection sends the batch's acknowledgements."""
        if not self.spool.write_staged():
            return
        with self._lock:
            starts_batch = self._appended(time.monotonic())
        if starts_batch or self.spool.pending_lines >= self.settings.batch_size:
            self._wake.set()  # the writer sleeps until the next report while nothing waits

    def _appended(self, now: float) -> bool:
        """Note the arrival of points in the spool (under the lock); True when they start a batch."""
        self._last_append = now
        if self._first_pending:
            return False
        self._first_pending = now
        return True

    def _on_meta(self, topic: str, payload: bytes, retained: bool) -> None:
        """A device's meta: the channels whose states and stats are taken from it (none once cleared)."""
        info = topics.parse(topic)
        if info is None:
            return
        if not payload:
            with self._lock:
                self.declared.update(info.device, None)
            return
        try:
            _, meta = decode(topic, payload)
        except ContractError as exc:
            with self._lock:
                if isinstance(exc, IdentityError):
                    self.counters.forged += 1
                elif isinstance(exc, OversizeError):
                    self.counters.oversize += 1
                else:
                    self.counters.parse_errors += 1
            self._reject(topic, payload, exc.problem)
            return
        if isinstance(meta, DeviceMeta):
            with self._lock:
                self.declared.update(info.device, meta)

    def _undeclared(self, info: TopicInfo, message: BaseModel) -> str | None:
        with self._lock:
            if info.device not in self.declared and time.monotonic() < self._grace_until:
                return None
            return self.declared.undeclared(info, message)

    def _clock_skew(self, points: list[Any]) -> str | None:
        """Why the points' time is not believable (too far from this clock), or None."""
        limit = self.settings.max_clock_skew_s
        if limit is None or not points:
            return None
        now = now_ms()
        worst = max((point.ts_ms - now for point in points), key=abs)
        if abs(worst) <= limit * 1000:
            return None
        direction = "ahead of" if worst > 0 else "behind"
        return f"timestamp {abs(worst) / 1000:.0f} s {direction} the ingester's clock (limit {limit:g} s)"

    def _read_dropped_seen(self) -> int:
        try:
            return int(self._dropped_seen_file.read_text())
        except (OSError, ValueError):
            return 0

    def _on_broker_dropped(self, topic: str, payload: bytes, retained: bool) -> None:
        try:
            value = int(payload)
        except ValueError:
            return
        with self._lock:
            self.counters.broker_dropped = value

    def _reject(self, topic: str, payload: bytes, reason: str) -> None:
        """Keep what could not be stored, with the reason, for a person to look at: a bounded prefix
        of the payload with its size and SHA-256, in a file rotated past ``rejected_max_bytes``."""
        with self._lock:
            self._rejections += 1
            count = self._rejections
        if count <= 10 or count % 1000 == 0:  # a flood is counted and recorded, not logged line by line
            log.warning("rejected message on %s (%d so far): %s", topic, count, reason[:REJECTED_PREFIX])
        record = {
            "ts": now_ms(),
            "topic": topic[:REJECTED_PREFIX],
            "reason": reason[:REJECTED_PREFIX],
            "size": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
            "payload": payload[:REJECTED_PREFIX].decode(errors="replace"),
        }
        try:
            limit = self.settings.rejected_max_bytes
            if self._rejected.exists() and self._rejected.stat().st_size > limit:
                self._rejected.replace(self._rejected.with_suffix(".jsonl.1"))
            with self._rejected.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
        except OSError as exc:
            log.error("cannot record the rejected message: %s", exc)

    # --- writer thread ------------------------------------------------------------------------------

    def run(self) -> None:
        """Run until :meth:`stop`; blocks the calling thread (the writer)."""
        log.info(
            "ingester starting: broker %s:%d, InfluxDB %s, spool %s (%d points waiting)",
            self.settings.mqtt.host,
            self.settings.mqtt.port,
            self.settings.influx.url,
            self.settings.spool_dir,
            self.spool.pending_lines,
        )
        self.connection.start()
        next_stats = time.monotonic() + self.settings.stats_period_s
        retry_delay = 0.5
        try:
            while not self._stop.is_set():
                self._release_held()
                now = time.monotonic()
                if now >= next_stats:
                    self._publish_stats()
                    next_stats = now + self.settings.stats_period_s
                due = self._flush_due()
                with self._lock:
                    held = bool(self._held)  # the spool is full: write it now, like a full batch
                if not held and self.spool.pending_lines < self.settings.batch_size and now < due:
                    self._wake.wait(min(due, next_stats) - now)
                    self._wake.clear()
                    continue
                if self.spool.pending_lines == 0:
                    if held:  # offered to the spool again in 50 ms
                        self._wake.wait(0.05)
                        self._wake.clear()
                    continue
                try:
                    self._flush_once()
                    retry_delay = 0.5
                except InfluxError as exc:
                    with self._lock:
                        self.counters.write_errors += 1
                    log.warning("write failed, retrying in %.1f s: %s", retry_delay, exc)
                    self._stop.wait(retry_delay)
                    retry_delay = min(retry_delay * 2, self.settings.retry_max_s)
        finally:
            # Unacknowledged messages stay with the broker's session; what is in the spool is
            # written now if InfluxDB takes it quickly, or at the next start.
            self._publish_stats()
            offline = Online(online=False, boot=self.boot, ts=now_ms(), reason="service stopped")
            self.connection.publish_and_wait(
                topics.online(self.settings.device), encode(offline), retain=True
            )
            self.connection.stop()
            self._drain_on_exit()
            self.spool.close()
            log.info("ingester stopped; %d points wait in the spool", self.spool.pending_lines)

    def _flush_due(self) -> float:
        """When what waits in the spool is to be written: the stream went quiet, or its oldest point
        waited long enough (a full batch is written at once)."""
        with self._lock:
            first, last = self._first_pending, self._last_append
        settings = self.settings
        if first:
            return min(first + settings.batch_interval_s, last + settings.batch_idle_s)
        # Nothing new since the last batch: what is left (a failed write, a start) is due now.
        return time.monotonic() if self.spool.pending_lines else float("inf")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _release_held(self) -> None:
        while True:
            with self._lock:
                if not self._held:
                    return
                message, lines = self._held[0]
                if not self.spool.append(lines):
                    return
                self._held.popleft()
                self.counters.points += len(lines)
                self._appended(time.monotonic())
            self.connection.ack(message)

    def _flush_once(self) -> None:
        if not self._database_ready:
            # Database and policies first (idempotent); until InfluxDB answers, the spool buffers.
            retention.apply(self.influx, self.settings.retention)
            self._database_ready = True
        with self._lock:
            self._first_pending = 0.0  # what arrives from now on starts the next batch's clock
        lines, cursor = self.spool.read(self.settings.batch_size)
        if not lines:
            return
        groups: dict[str, list[str]] = {}
        for line in lines:
            measurement = line.split(",", 1)[0].split(" ", 1)[0]
            groups.setdefault(retention.retention_policy_of(measurement), []).append(line)
        for policy, group in groups.items():
            self._write(group, policy)
        self.spool.commit(cursor)
        try:
            oldest_ms = int(lines[0].rsplit(" ", 1)[1])
            self._lag_s = max(0.0, (now_ms() - oldest_ms) / 1000.0)
        except (IndexError, ValueError):
            pass

    def _write(self, lines: list[str], policy: str) -> None:
        result = self.influx.write(lines, policy)
        if result.whole_batch_refused and len(lines) > 1:
            # One bad line made InfluxDB refuse the batch: split it to save the others.
            middle = len(lines) // 2
            self._write(lines[:middle], policy)
            self._write(lines[middle:], policy)
            return
        with self._lock:
            self.counters.written += result.written
            self.counters.refused += result.dropped
            self.counters.type_conflicts += result.type_conflicts
        if result.dropped:
            log.error("InfluxDB refused %d of %d points: %s", result.dropped, len(lines), result.error)
            if len(lines) == 1:
                self._reject("influxdb", lines[0].encode(), result.error)

    def _drain_on_exit(self) -> None:
        """Give InfluxDB a few seconds to take what is in the spool."""
        deadline = time.monotonic() + 5.0
        while self.spool.pending_lines and time.monotonic() < deadline:
            try:
                self._flush_once()
            except InfluxError:
                break

    # --- reporting ------------------------------------------------------------------------------------

    def _meta(self) -> DeviceMeta:
        return DeviceMeta(
            device=self.settings.device,
            kind=DeviceKind.SERVICE,
            description="labdcs native ingester: MQTT to InfluxDB",
            model="labdcs ingest",
            driver="ingest",
            software=__version__,
            boot=self.boot,
            started=now_ms(),
            publish_period=self.settings.stats_period_s,
            channels=[
                ChannelMeta(
                    id=STATS_CHANNEL,
                    label="Ingest statistics",
                    kind=ChannelKind.SENSOR,
                    quantities=[QuantityMeta(name=n, unit=u, description=d) for n, u, d in _QUANTITIES],
                )
            ],
        )

    def stats(self) -> dict[str, float]:
        with self._lock:
            values = self.counters.as_values()
            held = len(self._held)
        now = time.monotonic()
        last_time, last_written = self._last_report
        elapsed = max(1e-6, now - last_time)
        values.update(
            buffered=float(self.spool.pending_lines),
            buffer_bytes=float(self.spool.size_bytes),
            buffer_fill=100.0 * self.spool.size_bytes / self.settings.spool_max_bytes,
            held=float(held),
            lag=self._lag_s,
            rate=(values["written"] - last_written) / elapsed,
        )
        self._last_report = (now, int(values["written"]))
        return values

    def _update_alarms(self, values: dict[str, float]) -> None:
        """``data_loss`` when anything was lost, ``bad_messages`` when input was refused; both stay
        active (with the counts since the ingester started) until it restarts: a loss is an event
        somebody must look at, not a state that goes away."""
        dropped = int(values["broker_dropped"])
        if dropped < self._dropped_seen:  # the broker restarted: its counter starts again
            self._dropped_seen = 0
        if dropped > self._dropped_seen:
            self._lost_at_broker += dropped - self._dropped_seen
            self._dropped_seen = dropped
            with contextlib.suppress(OSError):
                self._dropped_seen_file.write_text(str(dropped))
        lost = self._lost_at_broker
        if lost or values["refused"]:
            self.alarms.raise_alarm(
                "data_loss",
                Severity.ERROR,
                f"data lost: {lost} messages dropped by the broker (queue full while the ingester "
                f"could not take them), {int(values['refused'])} points refused by InfluxDB",
            )
        names = ("parse_errors", "type_conflicts", "clock_skew", "forged", "oversize", "undeclared")
        bad = int(sum(values[name] for name in names))
        if bad:
            self.alarms.raise_alarm(
                "bad_messages",
                Severity.WARNING,
                f"{bad} messages refused: {int(values['parse_errors'])} outside the contract, "
                f"{int(values['type_conflicts'])} with values of the wrong type, "
                f"{int(values['clock_skew'])} with timestamps too far from the clock, "
                f"{int(values['forged'])} naming another device than their topic, "
                f"{int(values['oversize'])} over the contract's size limit, "
                f"{int(values['undeclared'])} for channels their device does not declare; see "
                f"{self._rejected}",
            )

    def _publish_stats(self) -> None:
        values = self.stats()
        self._update_alarms(values)
        state = SensorChannelState(
            ts=now_ms(),
            seq=self.seq,
            boot=self.boot,
            status=SensorStatus.OK,
            values=values,
            device_kind=DeviceKind.SERVICE,
        )
        self.seq += 1
        self.connection.publish(topics.state(self.settings.device, STATS_CHANNEL), encode(state), retain=True)
        if self.settings.health_file is not None:
            with contextlib.suppress(OSError):
                self.settings.health_file.touch()
