"""Alarms a device raises about itself, kept retained on the contract while active."""

from __future__ import annotations

import logging

from labdcs.contract import topics
from labdcs.contract.codec import encode
from labdcs.contract.models import Alarm, Severity, now_ms
from labdcs.mqtt import MqttConnection

log = logging.getLogger(__name__)


class DeviceAlarms:
    """Raise and clear alarms of one device; republished after every reconnect."""

    def __init__(self, connection: MqttConnection, device: str) -> None:
        self._connection = connection
        self._device = device
        self._active: dict[str, Alarm] = {}

    @property
    def active(self) -> dict[str, Alarm]:
        return dict(self._active)

    def raise_alarm(
        self, alarm_id: str, severity: Severity, message: str, channel: str | None = None
    ) -> None:
        current = self._active.get(alarm_id)
        now = now_ms()
        if current is not None and current.message == message and current.severity == severity:
            return
        alarm = Alarm(
            alarm=alarm_id,
            device=self._device,
            channel=channel,
            severity=severity,
            message=message,
            active=True,
            raised=current.raised if current is not None else now,
            ts=now,
        )
        self._active[alarm_id] = alarm
        log.warning("alarm %s raised (%s): %s", alarm_id, severity.value, message)
        self._connection.publish(topics.alarm(self._device, alarm_id), encode(alarm), qos=1, retain=True)

    def clear(self, alarm_id: str) -> None:
        alarm = self._active.pop(alarm_id, None)
        if alarm is None:
            return
        now = now_ms()
        cleared = alarm.model_copy(update={"active": False, "cleared": now, "ts": now})
        log.info("alarm %s cleared", alarm_id)
        # The cleared alarm stays retained: the broker holds every alarm's latest transition.
        self._connection.publish(topics.alarm(self._device, alarm_id), encode(cleared), qos=1, retain=True)

    def republish(self) -> None:
        for alarm_id, alarm in self._active.items():
            self._connection.publish(topics.alarm(self._device, alarm_id), encode(alarm), qos=1, retain=True)
