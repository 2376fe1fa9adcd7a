"""The interlock service: evaluates the rules on the live contract and speaks it like a device.

On the contract the interlock is a device (kind ``interlock``, id ``interlock`` by default): a
retained ``meta`` listing one channel (kind ``rule``) per rule, ``online`` with a last will, one
retained :class:`~labdcs.contract.models.RuleState` per rule, alarms, a ``reset`` command per rule
answered with exactly one ack, and a heartbeat every ``heartbeat_period_s`` on
``labdcs/v1/<interlock>/heartbeat``. Device services that depend on it enforce the rules themselves
(refuse ``on``, hold channels down, order ``off``s) and go to their safe state when the heartbeat
stops; the interlock never sends commands to devices.

One worker thread does everything: paho's network thread only queues messages. The worker

* waits until the broker has delivered the retained picture after every (re)connect
  (:attr:`MqttConnection.synced`) before it evaluates anything, so it never trips on inputs it
  simply has not received yet; while disconnected it pauses (and sends no heartbeat);
* restores the rules its previous run left in force from their retained states, so a restart
  releases no latch;
* evaluates every rule on each input and at least every ``evaluate_period_s``, publishes a rule's
  state when it changes and every ``publish_period``, raises/clears the rules' alarms;
* sends a heartbeat only after an evaluation that succeeded, so a stuck or failing evaluation
  stops the heartbeat and the devices' watchdogs act.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from dataclasses import dataclass

from labdcs import __version__
from labdcs.contract import topics
from labdcs.contract.codec import ContractError, decode, encode
from labdcs.contract.models import (
    DEFAULT_MAX_COMMAND_AGE_S,
    AckResult,
    Alarm,
    ChannelKind,
    ChannelMeta,
    CommandMeta,
    DeviceKind,
    DeviceMeta,
    Heartbeat,
    Online,
    QuantityMeta,
    RuleState,
    RuleVerb,
    now_ms,
    principal_label,
)
from labdcs.contract.topics import TopicKind
from labdcs.devices.alarms import DeviceAlarms
from labdcs.interlock.config import InterlockConfig
from labdcs.interlock.engine import Finding, RuleRuntime, evaluate
from labdcs.interlock.inputs import Inputs
from labdcs.mqtt import owned_id
from labdcs.participant import (
    Acknowledger,
    Inbound,
    announce,
    connect,
    decode_command,
    handle_alarm_command,
    touch_health,
)

log = logging.getLogger(__name__)

#: Commands older than this are refused (as devices do by default).
MAX_COMMAND_AGE_S = DEFAULT_MAX_COMMAND_AGE_S

_RULE_QUANTITIES = [
    QuantityMeta(name="status", unit="", type="string", description="ok, active or latched"),
    QuantityMeta(name="condition", unit="", type="boolean", description="the condition holds now"),
    QuantityMeta(name="active", unit="", type="boolean", description="the rule is in force"),
]

RESET_COMMAND = CommandMeta(
    verb=RuleVerb.RESET,
    value="none",
    description="release the latched rule; refused while its condition holds",
)


@dataclass
class _Published:
    key: tuple[object, ...] | None = None
    last: float = float("-inf")
    ts: int = 0


class InterlockService:
    """Runs the interlock until :meth:`stop`; see the module docstring."""

    def __init__(self, config: InterlockConfig) -> None:
        self.config = config
        self.device = config.device
        self.boot = secrets.token_hex(6)
        self.started = now_ms()
        self.seq = 0
        self.heartbeats = 0
        self.runtimes = {rule.name: RuleRuntime(rule) for rule in config.rules}
        self.inputs = Inputs()
        self._published = {rule.name: _Published() for rule in config.rules}
        self._alarm_keys: dict[str, tuple[bool, str | None]] = {}
        self._stop = threading.Event()
        self._inbox: queue.Queue[Inbound] = queue.Queue(maxsize=10_000)
        self._restored = False
        self._previous: dict[str, bytes] = {}
        self._last_evaluation = float("-inf")
        self._next_heartbeat = 0.0
        self._healthy = False
        #: Until every rule's inputs are in (or startup_grace_s is over): missing inputs trip nothing
        #: and no heartbeat is sent, so starting the stack in any order latches no rule.
        self._grace_until: float | None = time.monotonic() + config.startup_grace_s

        self.connection = connect(
            config.mqtt, owned_id(config.mqtt, f"interlock-{self.device}"), self.device, self.boot
        )
        self._ack = Acknowledger(self.connection, self.device, MAX_COMMAND_AGE_S, log)
        self.alarms = DeviceAlarms(self.connection, self.device)
        self.connection.add_on_connect(self._on_connect)
        self._own_filters = [topics.state(self.device, "+"), topics.alarm(self.device, "+")]
        filters = [*self._own_filters, topics.commands_of(self.device), topics.alarm_commands_of(self.device)]
        for device in config.devices():
            filters += [topics.state(device, "+"), topics.online(device)]
        for topic_filter in filters:
            self.connection.subscribe(topic_filter, self._enqueue, qos=1)

    # --- network thread ---------------------------------------------------------------------------

    def _on_connect(self) -> None:
        announce(self.connection, self.device, self.boot, encode(self._meta()), self.alarms)
        for published in self._published.values():
            published.key = None  # republish every rule state

    def _enqueue(self, topic: str, payload: bytes, retained: bool) -> None:
        try:
            self._inbox.put_nowait(Inbound(topic, payload, retained, time.monotonic()))
        except queue.Full:
            log.error("worker busy: dropped a message on %s", topic)

    # --- life cycle -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the service to finish (signal-safe)."""
        self._stop.set()

    def run(self) -> None:
        log.info(
            "interlock %s starting, boot %s: %d rules on %s",
            self.device,
            self.boot,
            len(self.runtimes),
            ", ".join(self.config.devices()),
        )
        self.connection.start()
        try:
            while not self._stop.is_set():
                if self._healthy:
                    touch_health(self.config.health_file)
                self._handle_messages(self._wait_time())
                if not self.connection.synced.is_set():
                    self._pause()
                    continue
                # Synced: every retained message of this connection is queued by now; take them all.
                self._handle_messages(0.0)
                if not self._restored:
                    self._restore_previous_run()
                self._cycle()
        finally:
            offline = Online(online=False, boot=self.boot, ts=now_ms(), reason="service stopped")
            self.connection.publish_and_wait(topics.online(self.device), encode(offline), qos=1, retain=True)
            self.connection.stop()
            log.info("interlock %s stopped", self.device)

    def _wait_time(self) -> float:
        if not self.connection.synced.is_set():
            return 0.1
        now = time.monotonic()
        due = self._last_evaluation + self.config.evaluate_period_s
        if self._grace_until is None:  # no heartbeat is due during the start-up grace
            due = min(due, self._next_heartbeat)
        return max(0.0, min(due - now, self.config.evaluate_period_s))

    def _pause(self) -> None:
        if self._healthy:
            log.warning("interlock %s: no broker connection: evaluation and heartbeat paused", self.device)
            self._healthy = False

    def _handle_messages(self, timeout: float) -> None:
        """Wait up to ``timeout`` for a message, then take everything queued (inputs come in bursts)."""
        try:
            message = self._inbox.get(timeout=timeout) if timeout > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return
        while True:
            self._handle(message)
            try:
                message = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _handle(self, message: Inbound) -> None:
        info = topics.parse(message.topic)
        if info is None:
            return
        if info.device != self.device:
            self.inputs.update(message.topic, message.payload, message.retained, message.at)
        elif info.kind in (TopicKind.STATE, TopicKind.ALARM):
            if not self._restored and message.retained:
                self._previous[message.topic] = message.payload
        elif info.kind is TopicKind.COMMAND:
            if not message.retained:
                self._handle_command(message)
        elif info.kind is TopicKind.ALARM_COMMAND and not message.retained:
            handle_alarm_command(message.topic, message.payload, self.alarms, self._ack)

    # --- start-up ---------------------------------------------------------------------------------

    def _restore_previous_run(self) -> None:
        """Keep the rules and alarms the previous run left in force; drop states of removed rules."""
        for topic_filter in self._own_filters:
            self.connection.unsubscribe(topic_filter)
        self._restored = True
        for topic, payload in sorted(self._previous.items()):
            info = topics.parse(topic)
            if not payload or info is None:
                continue
            try:
                _, message = decode(topic, payload)
            except ContractError as exc:
                log.warning("ignoring what the previous run left: %s", exc)
                continue
            if isinstance(message, Alarm):
                self.alarms.inherit(message)
            elif isinstance(message, RuleState) and info.channel is not None:
                runtime = self.runtimes.get(info.channel)
                if runtime is None:
                    log.warning(
                        "rule %s is no longer in the configuration: deleting its retained state", info.channel
                    )
                    self.connection.publish(topic, b"", qos=1, retain=True)
                elif message.active:
                    runtime.restore(message)
                    log.warning(
                        "rule %s was in force when the previous run ended: kept in force (%s)",
                        info.channel,
                        runtime.reason,
                    )
        self._previous.clear()

    # --- evaluation -------------------------------------------------------------------------------

    def _cycle(self) -> None:
        """Evaluate (after every batch of inputs, and at least every evaluate_period_s); heartbeat."""
        now = time.monotonic()
        try:
            self._evaluate(now)
        except Exception:
            # No heartbeat after a failed evaluation: the devices' watchdogs act.
            log.exception("rule evaluation failed; no heartbeat until it succeeds")
            self._healthy = False
            return
        if not self._healthy:
            log.info("interlock %s evaluating %d rules", self.device, len(self.runtimes))
            self.alarms.end_inheritance()
            self._healthy = True
        if now >= self._next_heartbeat and self._grace_until is None:
            self._heartbeat(now)

    def _evaluate(self, now: float) -> None:
        self._last_evaluation = now
        stamp = now_ms()
        incomplete = False
        for name, runtime in self.runtimes.items():
            rule = runtime.rule
            max_age = rule.max_age_s or self.config.max_age_s
            finding = evaluate(rule, self.inputs, now, self.config.max_age_s)
            if finding.missing and self._grace_until is not None:
                incomplete = True
                left = max(0.0, self._grace_until - now)
                finding = Finding(
                    False,
                    f"waiting for inputs (start-up, {left:.0f} s left): {finding.text}",
                    cause=f"waiting for inputs: {finding.kind}",
                )
            transition = runtime.update(finding, stamp)
            if transition == "activated":
                log.warning("rule %s in force: %s", name, finding.text)
            elif transition == "released":
                log.info("rule %s no longer in force: %s", name, finding.text)
            targets = runtime.targets(self.inputs, now, max_age)
            holds = runtime.holds(targets, self.inputs, now, max_age)
            self._update_alarm(runtime)
            # The reason's numbers follow at the publish period; a change in kind goes out at once.
            key = (runtime.status, runtime.condition, runtime.cause, tuple(targets), tuple(holds))
            published = self._published[name]
            if key != published.key or now - published.last >= self.config.publish_period:
                published.ts = max(now_ms(), published.ts + 1)
                state = runtime.state(published.ts, self.seq, self.boot, targets, holds)
                self.seq += 1
                self.connection.publish(topics.state(self.device, name), encode(state), qos=1, retain=True)
                published.key, published.last = key, now
        if self._grace_until is not None and (not incomplete or now >= self._grace_until):
            if incomplete:
                log.warning("start-up grace over with inputs still missing: they now count per on_missing")
            else:
                log.info("every input of every rule received")
            self._grace_until = None
            self._evaluate(now)

    def _update_alarm(self, runtime: RuleRuntime) -> None:
        rule = runtime.rule
        if not rule.alarm:
            return
        if runtime.active:
            # Changed when the reason changes in kind, not with every reading in it.
            key = (runtime.condition, runtime.cause)
            if self._alarm_keys.get(rule.name) == key:
                return
            self._alarm_keys[rule.name] = key
            latched = " (condition gone: reset to release)" if not runtime.condition else ""
            message = f"rule {rule.name} in force: {runtime.reason}{latched}"
            self.alarms.raise_alarm(rule.name, rule.severity, message)
        else:
            self._alarm_keys.pop(rule.name, None)
            self.alarms.clear(rule.name)

    def _heartbeat(self, now: float) -> None:
        if not self.connection.connected.is_set():
            return  # never queue heartbeats: a late one would vouch for a moment that is gone
        heartbeat = Heartbeat(
            boot=self.boot,
            seq=self.heartbeats,
            ts=now_ms(),
            period=self.config.heartbeat_period_s,
            rules=len(self.runtimes),
            active=sum(1 for runtime in self.runtimes.values() if runtime.active),
        )
        self.heartbeats += 1
        self.connection.publish(topics.heartbeat(self.device), encode(heartbeat), qos=1, retain=False)
        self._next_heartbeat = now + self.config.heartbeat_period_s

    # --- commands ---------------------------------------------------------------------------------

    def _handle_command(self, message: Inbound) -> None:
        info = topics.parse(message.topic)
        assert info is not None and info.channel is not None and info.verb is not None
        rule, verb = info.channel, info.verb
        command = decode_command(message.topic, message.payload, rule, verb, self._ack)
        if command is None:
            return
        reason: str | None = None
        runtime = self.runtimes.get(rule)
        if runtime is None:
            reason = f"unknown rule '{rule}'; rules: {', '.join(self.runtimes)}"
        if reason is None and verb != RuleVerb.RESET:
            reason = f"unknown verb '{verb}'; rules accept: {', '.join(v.value for v in RuleVerb)}"
        if reason is None and command.value is not None:
            reason = f"{verb} takes no value"
        if reason is None and not self._healthy:
            reason = "the interlock is not evaluating yet (starting, or no broker connection): try again"
        if reason is None:
            assert runtime is not None
            # Judge the reset on the inputs as they are now, not as of the last evaluation.
            self._evaluate(time.monotonic())
            was_active = runtime.active
            reason = runtime.reset()
            if reason is None and was_active:
                log.warning("rule %s reset by %s", rule, principal_label(info.sender, command.user))
                self._evaluate(time.monotonic())
        result = AckResult.ACCEPTED if reason is None else AckResult.REJECTED
        self._ack(command.id, rule, verb, command.value, result, reason, command.user)

    # --- meta -------------------------------------------------------------------------------------

    def _meta(self) -> DeviceMeta:
        channels = [
            ChannelMeta(
                id=runtime.rule.name,
                label=runtime.rule.description,
                kind=ChannelKind.RULE,
                quantities=_RULE_QUANTITIES,
                commands=[RESET_COMMAND],
            )
            for runtime in self.runtimes.values()
        ]
        return DeviceMeta(
            device=self.device,
            kind=DeviceKind.INTERLOCK,
            description=self.config.description,
            model="labdcs interlock",
            driver="rules",
            software=__version__,
            boot=self.boot,
            started=self.started,
            publish_period=self.config.publish_period,
            channels=channels,
        )
