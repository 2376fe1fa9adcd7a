"""One MQTT connection that survives broker restarts.

paho-mqtt does the protocol; this wrapper adds what every labdcs process needs and paho leaves to
the caller: subscriptions restored on every (re)connect (paho forgets them with a clean session),
on-connect hooks that run only once the broker has acknowledged those subscriptions, a bounded
outgoing queue (paho's default is unbounded), reconnect backoff suited to a lab (1-10 s instead of
1-120 s), TLS and credentials from :class:`~labdcs.settings.MqttSettings`, callbacks that never let
an exception escape into paho's network thread, and a clean stop that logs no error.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from labdcs.mqtt.batching import BatchingClient
from labdcs.settings import MqttSettings

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes, bool], None]
"""Called with (topic, payload, retained) on paho's network thread: keep it short."""

AckingHandler = Callable[[paho.MQTTMessage], bool]
"""For connections with ``manual_ack``: returns True when the message may be acknowledged now, or
False when it keeps the message and calls :meth:`MqttConnection.ack` on it later."""


def _no_delay(client: paho.Client, userdata: object, sock: object) -> None:
    """Send small packets at once: paho leaves Nagle's algorithm on, which held a command's ack
    behind the PUBACK before it for a delayed TCP acknowledgement (~40 ms on loopback)."""
    # Not a TCP socket (a WebSocket wrapper): nothing to tune.
    with contextlib.suppress(AttributeError, OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


#: A refused subscription is asked for again this many times, ``reconnect_min_s`` apart and
#: doubling up to ``reconnect_max_s`` (~55 s with the defaults), before the on-connect hooks run
#: without it: a broker cluster's node refuses subscriptions for tens of seconds while JetStream
#: elects new leaders after another node died (docs/scaling.md); an ACL refuses for good.
#: Broker-internal topics (``$SYS/...``) are not asked again: a broker without them refuses them
#: for good.
SUBSCRIBE_RETRIES = 8

#: Prefix of the private topics of :attr:`MqttConnection.synced` (outside the contract's ``labdcs/v1``).
SYNC_PREFIX = "labdcs/_sync"

#: Separates the owner from the name in a client id: no MQTT user name can contain it (Mosquitto's
#: password file is ``user:hash``), so ``<user>:`` names exactly one login.
OWNER_SEPARATOR = ":"


#: Prefix of an MQTT 5 shared subscription (``$share/<group>/<filter>``; Mosquitto 2 also gives it to
#: MQTT 3.1.1 clients): the broker hands each message to one member of the group.
SHARE_PREFIX = "$share/"

#: Topics whose matching handlers are remembered (a bench has hundreds; a flood of made-up topics
#: only empties the memory, it never grows past this).
ROUTE_CACHE_SIZE = 10_000


def shared(group: str | None, topic_filter: str) -> str:
    """``topic_filter`` as a shared subscription of ``group`` (unchanged without a group)."""
    return f"{SHARE_PREFIX}{group}/{topic_filter}" if group else topic_filter


def _plain_filter(topic_filter: str) -> str:
    """The filter a shared subscription matches topics with (``$share/<group>/`` removed)."""
    if topic_filter.startswith(SHARE_PREFIX):
        return topic_filter[len(SHARE_PREFIX) :].partition("/")[2]
    return topic_filter


def owned_id(settings: MqttSettings, name: str) -> str:
    """The client id ``<user>:<name>``, which the broker's client-id plugin refuses to every other
    user (mosquitto/plugin/labdcs_clientid.c): nobody else can take this connection's place or its
    persistent session. Anonymous settings (tests, foreign brokers) keep ``name``."""
    return f"{settings.username}{OWNER_SEPARATOR}{name}" if settings.username else name


class _PahoLog:
    """paho's log of one connection (paho calls only ``log``).

    After our own DISCONNECT has closed the socket, paho's network thread can run one more loop
    before ``loop_stop`` tells it to end, and logs ``Client is not connected`` at ERROR: on nearly
    every clean stop. While the connection stops, that line is DEBUG.
    """

    def __init__(self, logger: logging.Logger, connection: MqttConnection) -> None:
        self.logger = logger
        self.connection = connection

    def log(self, level: int, msg: str, *args: object) -> None:
        if self.connection.stopping and msg.startswith("Client is not connected"):
            level = logging.DEBUG
        self.logger.log(level, msg, *args)


class MqttConnection:
    """A paho client with automatic reconnects and restored subscriptions.

    ``on_connect`` hooks run after every successful (re)connect, once the broker has acknowledged
    (SUBACK) the renewed subscriptions: a participant that announces ``online`` there is ready for
    the commands a client sends the instant it sees it. Devices use them to republish their
    retained self-description and ``online``.

    With ``sync=True``, :attr:`synced` is set once the retained messages of every subscription made
    so far have arrived after a (re)connect: the connection subscribes to a private topic
    (``labdcs/_sync/<client id>``) after the others and publishes a token there; the broker handles
    one client's packets in order and sends the retained messages of a subscription before anything
    published after it, so the token comes back last. Services that must not act before they know
    the retained picture (latched rules, trips) wait for it.
    """

    def __init__(
        self,
        settings: MqttSettings,
        client_id: str,
        *,
        will: Will | None = None,
        clean_session: bool = True,
        manual_ack: bool = False,
        sync: bool = False,
        batch_reads: bool = False,
        coalesce_s: float = 0.0,
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self.connected = threading.Event()
        self.synced = threading.Event()
        self._sync_topic = f"{SYNC_PREFIX}/{client_id}" if sync else None
        self._sync_token = b""
        self._subscriptions: dict[str, tuple[int, MessageHandler]] = {}
        self._acking: dict[str, tuple[int, AckingHandler]] = {}
        #: topic -> (handlers, acking handlers) matching it; emptied when the subscriptions change.
        #: Matching every filter per message cost the ingester a quarter of its CPU (issue 16).
        self._routes: dict[str, tuple[list[MessageHandler], list[AckingHandler]]] = {}
        self.manual_ack = manual_ack
        self._on_connect_hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._started = False
        #: stop() was called: the network thread's last words are not errors (see _PahoLog).
        self.stopping = False
        #: The SUBSCRIBE renewing the subscriptions after a connect (message id, topics): its SUBACK
        #: runs the on-connect hooks.
        self._renewal: tuple[int, list[str]] | None = None
        self._renewal_lock = threading.Lock()
        self._renewal_attempts = 0
        self.connect_count = 0
        self.dropped = 0
        #: The brokers in failover order and the one tried now (see _next_broker).
        self._addresses = settings.addresses()
        self._address_index = 0
        #: The address a round over the list started from (the last one connected to).
        self._round_start = 0

        client = (BatchingClient if batch_reads else paho.Client)(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean_session,
            protocol=paho.MQTTv311,
        )
        if isinstance(client, BatchingClient):
            client.coalesce_s = coalesce_s
        client.enable_logger(_PahoLog(logging.getLogger(f"{__name__}.paho"), self))  # type: ignore[arg-type]
        if manual_ack:
            # QoS 1 messages are acknowledged to the broker only once stored: until then the broker
            # keeps them (and, with a persistent session, redelivers them after a crash).
            client.manual_ack_set(True)
        client.reconnect_delay_set(min_delay=settings.reconnect_min_s, max_delay=settings.reconnect_max_s)
        client.max_queued_messages_set(settings.max_queued_messages)
        if settings.username is not None:
            password = settings.password.get_secret_value() if settings.password is not None else None
            client.username_pw_set(settings.username, password)
        if settings.tls:
            client.tls_set(
                ca_certs=str(settings.ca_file) if settings.ca_file else None,
                certfile=str(settings.cert_file) if settings.cert_file else None,
                keyfile=str(settings.key_file) if settings.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if will is not None:
            client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        client.on_socket_open = _no_delay
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_connect_fail = self._handle_connect_fail
        client.on_subscribe = self._handle_subscribe
        client.on_message = self._handle_message
        self._client = client

    # --- life cycle -----------------------------------------------------------------------------

    def add_on_connect(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` (on paho's network thread) after every (re)connect, once the subscriptions
        made so far are in force at the broker."""
        self._on_connect_hooks.append(hook)

    def add_on_batch_end(self, hook: Callable[[], None]) -> None:
        """With ``batch_reads`` (labdcs.mqtt.batching): run ``hook`` after each received batch."""
        if not isinstance(self._client, BatchingClient):
            raise ValueError("add_on_batch_end needs a connection made with batch_reads=True")
        self._client.add_batch_end(hook)

    def start(self) -> None:
        """Connect in the background; keeps trying until the broker answers."""
        if self._started:
            return
        self._started = True
        self.stopping = False
        self._address_index = self._round_start = 0
        host, port = self._addresses[0]
        self._client.connect_async(host, port, keepalive=self.settings.keepalive)
        self._client.loop_start()

    @property
    def broker(self) -> tuple[str, int]:
        """The broker (host, port) this connection uses or tries now."""
        return self._addresses[self._address_index]

    def wait_connected(self, timeout: float) -> bool:
        return self.connected.wait(timeout)

    def stop(self) -> None:
        """Disconnect cleanly (the last will is not sent) and stop the network thread."""
        if not self._started:
            return
        self._started = False
        self.stopping = True
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()
            self.connected.clear()

    # --- traffic --------------------------------------------------------------------------------

    def subscribe(self, topic_filter: str, handler: MessageHandler, qos: int = 1) -> None:
        """Subscribe now (if connected) and again after every reconnect."""
        with self._lock:
            self._subscriptions[topic_filter] = (qos, handler)
            self._routes.clear()
        if self.connected.is_set():
            self._client.subscribe(topic_filter, qos)

    def subscribe_acking(self, topic_filter: str, handler: AckingHandler, qos: int = 1) -> None:
        """Subscribe with a handler that decides when a message is acknowledged (``manual_ack``)."""
        if not self.manual_ack:
            raise ValueError("subscribe_acking needs a connection made with manual_ack=True")
        with self._lock:
            self._acking[topic_filter] = (qos, handler)
            self._routes.clear()
        if self.connected.is_set():
            self._client.subscribe(topic_filter, qos)

    def ack(self, message: paho.MQTTMessage) -> None:
        """Acknowledge a message an acking handler kept."""
        if message.qos > 0:
            self._client.ack(message.mid, message.qos)

    def unsubscribe(self, topic_filter: str) -> None:
        """Stop receiving ``topic_filter`` (now and after reconnects)."""
        with self._lock:
            known = self._subscriptions.pop(topic_filter, None)
            self._routes.clear()
        if known is not None and self.connected.is_set():
            self._client.unsubscribe(topic_filter)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> bool:
        """Queue a message. QoS 1 messages published while disconnected are sent after reconnecting.

        Returns False (and counts a drop) when the outgoing queue is full.
        """
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            self.dropped += 1
            log.warning("outgoing MQTT queue full: message on %s dropped (%d so far)", topic, self.dropped)
            return False
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN and qos == 0:
            self.dropped += 1
            return False
        return True

    def publish_and_wait(
        self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False, timeout: float = 5.0
    ) -> bool:
        """Publish and wait until the broker acknowledged it (for the last words before exiting)."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    # --- paho callbacks (network thread) ----------------------------------------------------------

    def _handle_connect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            host, port = self.broker
            # The broker closes the connection next: _handle_disconnect moves on to the next one.
            log.error("broker %s:%d refused the connection: %s", host, port, reason)
            return
        self.connect_count += 1
        self._round_start = self._address_index
        log.info(
            "connected to %s:%d as %s (session present: %s)",
            *self.broker,
            self.client_id,
            flags.session_present,
        )
        with self._lock:
            subscriptions = [(topic, qos) for topic, (qos, _) in self._subscriptions.items()]
            subscriptions += [(topic, qos) for topic, (qos, _) in self._acking.items()]
        self._renewal = None
        self._renewal_attempts = 0
        if subscriptions:
            result, mid = client.subscribe(subscriptions)
            if result != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
                # The socket is gone already: the next connect renews them and runs the hooks.
                log.warning("renewing the subscriptions failed (%s)", result)
                return
            self._renewal = (mid, [topic for topic, _ in subscriptions])
        if self._sync_topic is not None:
            # After the other subscriptions: the token comes back after their retained messages.
            self._sync_token = secrets.token_hex(8).encode()
            client.subscribe(self._sync_topic, 1)
            client.publish(self._sync_topic, self._sync_token, qos=1, retain=False)
        self.connected.set()
        if self._renewal is None:
            self._run_on_connect_hooks()

    def _handle_subscribe(
        self,
        client: paho.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        with self._renewal_lock:
            if self._renewal is None or mid != self._renewal[0]:
                return
            topics = self._renewal[1]
            self._renewal = None
        refused = [topic for topic, code in zip(topics, reason_codes, strict=False) if code.is_failure]
        again = [topic for topic in refused if not topic.startswith("$")]
        if again and self._renewal_attempts < SUBSCRIBE_RETRIES:
            delay = min(
                self.settings.reconnect_min_s * 2**self._renewal_attempts, self.settings.reconnect_max_s
            )
            self._renewal_attempts += 1
            log.warning(
                "the broker refused the subscriptions of %s to %s; asking again in %d s (%d of %d)",
                self.client_id,
                ", ".join(again),
                delay,
                self._renewal_attempts,
                SUBSCRIBE_RETRIES,
            )
            timer = threading.Timer(delay, self._subscribe_again, (client, again, self.connect_count))
            timer.daemon = True
            timer.start()
            return
        if refused:
            log.error(
                "the broker refused the subscriptions of %s to %s: check its ACL for this user",
                self.client_id,
                ", ".join(refused),
            )
        self._run_on_connect_hooks()

    def _subscribe_again(self, client: paho.Client, topics: list[str], connect_count: int) -> None:
        """Ask again for refused subscriptions (timer thread), if still on the same connection;
        their SUBACK runs the on-connect hooks as the first renewal's would have."""
        if self.stopping or not self.connected.is_set() or self.connect_count != connect_count:
            return
        with self._lock:
            known = {**self._subscriptions, **self._acking}
            wanted = [(topic, known[topic][0]) for topic in topics if topic in known]
        if not wanted:
            self._run_on_connect_hooks()
            return
        with self._renewal_lock:
            result, mid = client.subscribe(wanted)
            if result == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
                self._renewal = (mid, [topic for topic, _ in wanted])

    def _run_on_connect_hooks(self) -> None:
        for hook in list(self._on_connect_hooks):
            try:
                hook()
            except Exception:
                log.exception("on-connect hook failed")

    def _handle_disconnect(
        self,
        client: paho.Client,
        userdata: object,
        flags: paho.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self.connected.clear()
        self.synced.clear()
        self._renewal = None
        if self._started:
            log.warning("lost the broker connection (%s); reconnecting", reason)
            self._next_broker(client)

    def _handle_connect_fail(self, client: paho.Client, userdata: object) -> None:
        self._next_broker(client)

    def _next_broker(self, client: paho.Client) -> None:
        """Point paho's next reconnect at the next broker of the list (wrapping round): a
        cluster's node that died or refuses is left for the next one, in the configured order.
        Called on paho's network thread while the socket is closed, before it reconnects."""
        if len(self._addresses) < 2 or self.stopping:
            return
        self._address_index = (self._address_index + 1) % len(self._addresses)
        host, port = self._addresses[self._address_index]
        # paho's host/port setters refuse while its state is "connection lost" or "connecting",
        # which is exactly when a reconnect to another node is wanted; reconnect() reads these.
        client._host, client._port = host, port
        if self._address_index != self._round_start:
            # The next node is tried after reconnect_min_s: paho's backoff (doubling up to
            # reconnect_max_s) grows once per round over the whole list, not once per node.
            with client._reconnect_delay_mutex:
                client._reconnect_delay = None
        log.info("trying the next broker of the cluster: %s:%d", host, port)

    def _route(self, topic: str) -> tuple[list[MessageHandler], list[AckingHandler]]:
        """The handlers of the subscriptions ``topic`` matches, worked out once per topic."""
        with self._lock:
            route = self._routes.get(topic)
            if route is None:
                route = (
                    [
                        handler
                        for topic_filter, (_, handler) in self._subscriptions.items()
                        if paho.topic_matches_sub(_plain_filter(topic_filter), topic)
                    ],
                    [
                        handler
                        for topic_filter, (_, handler) in self._acking.items()
                        if paho.topic_matches_sub(_plain_filter(topic_filter), topic)
                    ],
                )
                if len(self._routes) >= ROUTE_CACHE_SIZE:
                    self._routes.clear()
                self._routes[topic] = route
            return route

    def _handle_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        if self._sync_topic is not None and message.topic == self._sync_topic:
            if bytes(message.payload) == self._sync_token:
                self.synced.set()
            if self.manual_ack:
                self.ack(message)
            return
        handlers, acking = self._route(message.topic)
        for handler in handlers:
            try:
                handler(message.topic, bytes(message.payload), bool(message.retain))
            except Exception:
                log.exception("handler for %s failed", message.topic)
        if not self.manual_ack:
            return
        acknowledge = True
        for acking_handler in acking:
            try:
                acknowledge = acking_handler(message) and acknowledge
            except Exception:
                log.exception("handler for %s failed; the message is acknowledged and lost", message.topic)
        if acknowledge:
            self.ack(message)
