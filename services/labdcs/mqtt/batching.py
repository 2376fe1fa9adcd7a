"""A paho client that receives in batches: for the ingester, where paho's per-packet work was most
of the CPU (issue 16).

Measured with py-spy on ``labdcs ingest`` at 3,000 msg/s before this client (2-core machine): of
the busy samples, 23 % went to sending one PUBACK per message (one ``send`` each, plus a wake-up
byte through paho's socket pair and another ``select``), 17 % to paho reading and parsing packets
(3-4 ``recv`` calls per packet: the command byte, each length byte, the body) and 8 % to one spool
write per message; our decode, mapping and formatting were 16 %. At 1,000 msg/s every message
arrived alone, so each paid a whole wake-up (196 ms CPU per 1,000 messages).

What changes, and only on the receive side (publishing, TLS, will, reconnects, failover stay
paho's):

- reads come from one ``recv`` of up to :data:`RECV_CHUNK` bytes, and every complete packet in it is
  handled in one pass (paho's ``loop_read`` stops after one packet when nothing of its own is in
  flight);
- acknowledgements asked for on the network thread while a batch is read are held, and after the
  batch the batch-end hooks run (the ingester writes the batch's points to its spool there) and
  then all the batch's PUBACKs leave in one ``send``: a message is acknowledged only once what it
  became is durable, as before, but per batch instead of per message;
- after a batch the network thread waits, at most ``coalesce_s``, for as long as
  ``coalesce_target`` messages take to come at the recent pace, so that at a steady 1,000 msg/s a
  wake-up handles ~20 messages instead of one; it does not wait after a batch of more than 1.5
  times the target (a backlog, the broker's in-flight window full). The target is Mosquitto's
  default window (20); the project's broker sends up to 100 (mosquitto.conf), so a paced batch does
  not fill it (with 20, measured once: 0.79 of the broker's ceiling instead of 0.96, 73 instead of
  58 ms per 1,000 messages at 1,000 msg/s). Each wake-up costs far more than its Python work
  suggests on a shared machine (~350 µs at 100 msg/s, one message each): fewer of them is what
  brought 1,000 msg/s from 196 to ~58 ms CPU per 1,000 messages.

It uses paho internals (``_sock_recv``, ``_packet_read``, ``_out_packet``), checked against the
paho-mqtt 2.x the project requires (2.2 installed); tests/mqtt and tests/ingest exercise them on
a real broker.
"""

from __future__ import annotations

import logging
import ssl
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import MQTTErrorCode

log = logging.getLogger(__name__)

#: Bytes asked of the socket per read: ~230 state messages of ~280 bytes, far more than the broker's
#: in-flight window sends before it has acknowledgements, and below malloc's mmap threshold.
RECV_CHUNK = 64 * 1024

_PUBACK = struct.Struct("!BBH")


class _Received(paho.MQTTMessage):
    """A received QoS 1 message as paho makes it, less its ``info`` (an MQTTMessageInfo with a
    threading.Condition per message, for publishers that wait on it; nobody waits on a received one)."""

    def __init__(self, mid: int, topic: bytes, payload: bytes, header: int) -> None:
        self.timestamp = 0.0
        self.state = paho.mqtt_ms_invalid
        self.dup = bool(header & 0x08)
        self.mid = mid
        self._topic = topic
        self.payload = payload
        self.qos = 1
        self.retain = bool(header & 0x01)
        self.properties = None


class BatchingClient(paho.Client):
    """paho's client, receiving in batches (see the module docstring)."""

    def __init__(self, *args: Any, coalesce_s: float = 0.0, coalesce_target: int = 20, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.coalesce_s = coalesce_s
        self.coalesce_target = coalesce_target

        self._batch_hooks: list[Callable[[], None]] = []
        self._reset_batch_state()

    def _reset_batch_state(self) -> None:
        self._rbuf = b""
        self._rpos = 0
        self._refilled = False
        self._reading_thread = 0  # the thread reading a batch now (0: none)
        self._deferred: list[int] = []
        self._batch_messages = 0
        self._gap = 0.0
        self._last_read = 0.0

    def add_batch_end(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` on the network thread after each batch, before its acknowledgements leave."""
        self._batch_hooks.append(hook)

    def reconnect(self) -> MQTTErrorCode:
        # Bytes and message ids of the old connection mean nothing on the new one (the broker
        # sends again what was not acknowledged).
        self._reset_batch_state()
        return super().reconnect()

    def ack(self, mid: int, qos: int) -> MQTTErrorCode:
        if qos == 1 and self._reading_thread == threading.get_ident():
            self._deferred.append(mid)
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return super().ack(mid, qos)

    def _sock_recv(self, bufsize: int) -> bytes:
        """paho asks for a byte or a packet body at a time: serve it from one large read, and only
        one read per batch (then "would block", so the batch ends and its acknowledgements leave)."""
        buffer, position = self._rbuf, self._rpos
        if position >= len(buffer):
            if self._refilled:
                raise BlockingIOError()
            buffer = self._fill()
            if not buffer:
                return buffer  # the broker closed the connection: paho handles it
            self._refilled = True
            position = 0
        chunk = buffer[position : position + bufsize]
        self._rbuf, self._rpos = buffer, position + len(chunk)
        return chunk

    def _fill(self) -> bytes:
        """What the socket has, up to :data:`RECV_CHUNK`: one ``recv``, or over TLS one per record
        until none waits (a TLS read returns one record, and Mosquitto writes one per packet)."""
        data = paho.Client._sock_recv(self, RECV_CHUNK)
        if not data or not isinstance(self._sock, ssl.SSLSocket):
            return data
        chunks, size = [data], len(data)
        while size < RECV_CHUNK:
            try:
                more = paho.Client._sock_recv(self, RECV_CHUNK)
            except OSError:
                break  # nothing more now (or an error, which the next read meets again)
            if not more:
                break
            chunks.append(more)
            size += len(more)
        return b"".join(chunks)

    def message_callback_add(self, sub: str, callback: Any) -> None:
        raise NotImplementedError("BatchingClient calls on_message only (see _handle_on_message)")

    def _handle_on_message(self, message: paho.MQTTMessage) -> None:
        # paho matches every message against the per-filter callbacks first; there are none here.
        on_message = self.on_message
        if on_message is not None:
            with self._in_callback_mutex:
                on_message(self, self._userdata, message)

    def _handle_publish(self) -> MQTTErrorCode:
        self._batch_messages += 1
        return super()._handle_publish()

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Handle every complete packet of one read (``max_packets`` is ignored), then end the batch."""
        if self._sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        self._refilled = False
        self._batch_messages = 0
        self._reading_thread = threading.get_ident()
        try:
            while True:
                if self._sock is None:
                    rc = MQTTErrorCode.MQTT_ERR_NO_CONN
                    break
                if self._in_packet["command"] == 0 and self._protocol == paho.MQTTv311:
                    self._take_publishes()
                rc = self._packet_read()
                if rc > 0:
                    rc = self._loop_rc_handle(rc)
                    break
                if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                    rc = MQTTErrorCode.MQTT_ERR_SUCCESS
                    break
        finally:
            self._reading_thread = 0
        if not self._end_batch() and self._sock is not None:
            # What the batch became is not stored: no acknowledgement, and a new connection, on
            # which the broker sends the unacknowledged messages again.
            return self._loop_rc_handle(MQTTErrorCode.MQTT_ERR_CONN_LOST)
        self._coalesce()
        return rc

    def _take_publishes(self) -> None:
        """Hand on the complete QoS 1 PUBLISH packets at the front of the buffer (MQTT 3.1.1: topic,
        message id, payload) without paho's per-packet reading and bookkeeping; whatever else comes
        (another packet type, a packet not complete yet) is left to paho's ``_packet_read``."""
        if self._rpos >= len(self._rbuf) and not self._refilled:
            try:
                data = self._fill()
            except OSError:
                return  # paho's own read meets it (would block, closed, reset) and handles it
            if not data:
                return  # the broker closed the connection: paho's read sees it again
            self._rbuf, self._rpos, self._refilled = data, 0, True
        buffer, position, end = self._rbuf, self._rpos, len(self._rbuf)
        taken = 0
        while position + 2 <= end:
            header = buffer[position]
            if header & 0xF6 != 0x32:  # PUBLISH (0x30) with QoS 1 (0x02); dup and retain may be set
                break
            length, multiplier, index = 0, 1, position + 1
            while index < end and multiplier <= 128**3:
                byte = buffer[index]
                length += (byte & 0x7F) * multiplier
                multiplier *= 128
                index += 1
                if not byte & 0x80:
                    break
            else:
                break  # the length is not complete yet (or malformed: paho says so)
            last = index + length
            if last > end or length < 4:
                break  # not complete yet, or malformed (paho says so)
            topic_end = index + 2 + ((buffer[index] << 8) | buffer[index + 1])
            if topic_end + 2 > last:
                break  # malformed: paho says so
            mid = (buffer[topic_end] << 8) | buffer[topic_end + 1]
            message = _Received(mid, buffer[index + 2 : topic_end], buffer[topic_end + 2 : last], header)
            position = self._rpos = last
            self._batch_messages += 1
            taken += 1
            message.timestamp = time.monotonic()
            self._handle_on_message(message)
        if taken:
            with self._msgtime_mutex:
                self._last_bytes_received = time.monotonic()

    def _coalesce(self) -> None:
        """Wait until ``coalesce_target`` messages are likely to be there (at most ``coalesce_s``),
        from the recent pace; not after a batch well over the target: a backlog (the broker's
        in-flight window full) is read without waiting."""
        count = self._batch_messages
        if count == 0 or self.coalesce_s <= 0:
            return
        # The batch's messages came in since the previous batch was read (waits included).
        now = time.monotonic()
        gap = (now - self._last_read) / count if self._last_read else self.coalesce_s
        self._last_read = now
        self._gap = gap if not self._gap else 0.7 * self._gap + 0.3 * gap
        if count < 1.5 * self.coalesce_target:
            time.sleep(min(self.coalesce_s, self.coalesce_target * self._gap))

    def _end_batch(self) -> bool:
        """Run the hooks, then acknowledge the batch; False (nothing acknowledged) if a hook failed."""
        mids, self._deferred = self._deferred, []
        for hook in self._batch_hooks:
            try:
                hook()
            except Exception:
                log.exception("batch-end hook failed: the batch is not acknowledged")
                return False
        if not mids or self._sock is None:
            return True  # a lost connection: the broker sends these messages again
        packet = b"".join(_PUBACK.pack(paho.PUBACK, 2, mid) for mid in mids)
        self._out_packet.append(
            {
                "command": paho.PUBACK,
                "mid": 0,
                "qos": 0,
                "pos": 0,
                "to_process": len(packet),
                "packet": packet,
                "info": None,
            }
        )
        self.loop_write()
        return True
