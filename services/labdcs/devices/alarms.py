"""Alarms a contract participant (device service, interlock) raises about itself.

Every transition (raised, changed, acknowledged, cleared) is published retained on
``labdcs/v1/<device>/alarm/<alarm>``, with its own ``ts``, and written as one log line, so the
broker always holds each alarm's latest state, a late client sees the active ones, and the
time-series ingest records the history. Operators acknowledge with a command on
``.../alarm/<alarm>/cmd/acknowledge/<sender>``.

A restarted service inherits the alarms its previous run left active on the broker
(:meth:`DeviceAlarms.inherit`): the ones it raises again keep their raised and acknowledged times,
the others are cleared by :meth:`DeviceAlarms.end_inheritance`, so no alarm stays active forever
because the process that raised it died.
"""

from __future__ import annotations

import logging
import threading

from labdcs.contract import topics
from labdcs.contract.codec import encode
from labdcs.contract.models import Alarm, Severity, now_ms, principal_label
from labdcs.mqtt import MqttConnection

log = logging.getLogger("labdcs.alarms")


class DeviceAlarms:
    """The alarms of one participant; thread-safe (the worker raises, paho's thread republishes)."""

    def __init__(self, connection: MqttConnection, device: str) -> None:
        self._connection = connection
        self._device = device
        self._lock = threading.Lock()
        self._latest: dict[str, Alarm] = {}
        self._inherited: set[str] = set()

    @property
    def active(self) -> dict[str, Alarm]:
        with self._lock:
            return {alarm_id: alarm for alarm_id, alarm in self._latest.items() if alarm.active}

    def get(self, alarm_id: str) -> Alarm | None:
        with self._lock:
            return self._latest.get(alarm_id)

    def raise_alarm(
        self, alarm_id: str, severity: Severity, message: str, channel: str | None = None
    ) -> None:
        """Raise an alarm, or change the message/severity of the active one (keeps its acknowledgement)."""
        with self._lock:
            self._inherited.discard(alarm_id)
            current = self._latest.get(alarm_id)
            if current is not None and not current.active:
                current = None  # raised again after clearing: a new occurrence
            if (
                current is not None
                and current.message == message
                and current.severity == severity
                and current.channel == channel
            ):
                return
            now = now_ms()
            alarm = Alarm(
                alarm=alarm_id,
                device=self._device,
                channel=channel,
                severity=severity,
                message=message,
                active=True,
                raised=current.raised if current is not None else now,
                acknowledged=current.acknowledged if current is not None else None,
                acknowledged_by=current.acknowledged_by if current is not None else None,
                ts=now,
            )
            self._latest[alarm_id] = alarm
        log.warning(
            "alarm %s/%s %s (%s): %s",
            self._device,
            alarm_id,
            "changed" if current is not None else "raised",
            severity.value,
            message,
        )
        self._publish(alarm)

    def clear(self, alarm_id: str) -> None:
        """The condition is gone: the alarm stays retained with ``active: false``."""
        with self._lock:
            self._inherited.discard(alarm_id)
            alarm = self._latest.get(alarm_id)
            if alarm is None or not alarm.active:
                return
            now = now_ms()
            cleared = alarm.model_copy(update={"active": False, "cleared": now, "ts": now})
            self._latest[alarm_id] = cleared
        log.info("alarm %s/%s cleared: %s", self._device, alarm_id, alarm.message)
        self._publish(cleared)

    def acknowledge(self, alarm_id: str, user: str | None, principal: str | None = None) -> str | None:
        """Record who acknowledged an alarm (the person claimed and the broker login it came through);
        returns why it cannot be done, None when done."""
        if not user:
            return "acknowledge needs a `user`: who acknowledges, for the audit"
        with self._lock:
            alarm = self._latest.get(alarm_id)
            if alarm is None:
                known = ", ".join(sorted(self._latest)) or "none"
                return f"no alarm '{alarm_id}' on {self._device} (alarms: {known})"
            if alarm.acknowledged is not None:
                return None  # already acknowledged: a repetition changes nothing
            now = now_ms()
            update = {
                "acknowledged": now,
                "acknowledged_by": user,
                "acknowledged_principal": principal,
                "ts": now,
            }
            acknowledged = alarm.model_copy(update=update)
            self._latest[alarm_id] = acknowledged
        log.info(
            "alarm %s/%s acknowledged by %s (%s)",
            self._device,
            alarm_id,
            principal_label(principal, user),
            "active" if acknowledged.active else "already cleared",
        )
        self._publish(acknowledged)
        return None

    def inherit(self, alarm: Alarm) -> None:
        """Take over an alarm the previous run of this service left retained on the broker."""
        if alarm.device != self._device:
            return
        with self._lock:
            if alarm.alarm in self._latest:
                return
            self._latest[alarm.alarm] = alarm
            if alarm.active:
                self._inherited.add(alarm.alarm)

    def end_inheritance(self) -> None:
        """Clear the inherited alarms this run has not raised again: nobody would ever clear them."""
        with self._lock:
            stale = sorted(self._inherited)
            self._inherited.clear()
        for alarm_id in stale:
            log.info(
                "alarm %s/%s was left active by the previous run and no longer applies",
                self._device,
                alarm_id,
            )
            self.clear(alarm_id)

    def republish(self) -> None:
        with self._lock:
            alarms = list(self._latest.values())
        for alarm in alarms:
            self._publish(alarm)

    def _publish(self, alarm: Alarm) -> None:
        self._connection.publish(topics.alarm(self._device, alarm.alarm), encode(alarm), qos=1, retain=True)
