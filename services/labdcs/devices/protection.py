"""The device service's own safety (see ``docs/safety.md``): trips, and the interlock as the device
enforces it.

* A reading above a channel's trip levels switches the output off at once and latches a trip that
  only ``clear_trip`` removes, with an alarm; a restart keeps it (read back from the broker).
* With an ``interlock:`` section the device follows the interlock's rules (:mod:`labdcs.devices.safety`
  evaluates what they mean for each channel): ``on`` and raising a voltage are refused while a
  rule or the watchdog inhibits the channel, channels are held down (ramped down or switched off,
  as the rule says), an ``off`` waits for the channels a rule orders before it, and the outputs go
  to the safe state when the interlock's heartbeat is missing.

Everything here runs on the worker thread; ``changed`` tells the service a channel's state must be
published again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from labdcs.contract import topics
from labdcs.contract.codec import ContractError, decode_as
from labdcs.contract.models import Heartbeat, Online, RuleAction, RuleState, Severity, Verb
from labdcs.contract.topics import TopicKind
from labdcs.devices.alarms import DeviceAlarms
from labdcs.devices.config import InterlockDependency
from labdcs.devices.power import PowerChannel, power_driver
from labdcs.devices.safety import InterlockLink
from labdcs.drivers.base import Driver
from labdcs.participant import Inbound

#: The device service's logger: its lines keep one name, whichever module writes them.
log = logging.getLogger("labdcs.devices.service")

WATCHDOG_ALARM = "watchdog"


def trip_alarm(channel: str) -> str:
    return f"{channel}-trip"


def order_alarm(channel: str) -> str:
    return f"{channel}-order"


class Protection:
    """Trips and interlock enforcement for the power channels of one device."""

    def __init__(
        self,
        device: str,
        interlock: InterlockDependency | None,
        power: dict[str, PowerChannel],
        driver: Driver,
        alarms: DeviceAlarms,
        changed: Callable[[str], None],
    ) -> None:
        self.device = device
        self.power = power
        self.driver = driver
        self.alarms = alarms
        self.changed = changed
        self.link: InterlockLink | None = None
        if interlock is not None:
            self.link = InterlockLink(interlock, device, started=time.monotonic())
        #: The inhibit summary each channel's state showed last (a change republishes the state).
        self._summaries: dict[str, str | None] = {}

    def subscriptions(self) -> list[str]:
        """What the device follows of the interlock: its heartbeat, online status and rule states."""
        if self.link is None:
            return []
        interlock = self.link.config.device
        return [topics.heartbeat(interlock), topics.online(interlock), topics.state(interlock, "+")]

    def from_interlock(self, info: topics.TopicInfo | None) -> bool:
        return info is not None and self.link is not None and info.device == self.link.config.device

    def next_deadline(self) -> float | None:
        """When the interlock's state next changes by itself (a heartbeat due, a hold timing out)."""
        return self.link.next_deadline() if self.link is not None else None

    # --- trips ------------------------------------------------------------------------------------

    def trip(self, channel: PowerChannel, reason: str) -> None:
        """Switch the output off at once and latch the trip; only `clear_trip` removes it."""
        channel.switch_off_now(power_driver(self.driver))
        channel.trip = reason
        channel.v_target = channel.v_set
        log.error("%s/%s tripped: %s; output off until clear_trip", self.device, channel.id, reason)
        self.raise_trip_alarm(channel)
        self.changed(channel.id)

    def keep_trip(self, channel: PowerChannel, reason: str) -> None:
        """A trip the previous run latched (from its retained state): it stays latched."""
        channel.trip = reason
        log.warning("%s/%s: trip latched by the previous run kept: %s", self.device, channel.id, reason)
        self.raise_trip_alarm(channel)

    def raise_trip_alarm(self, channel: PowerChannel) -> None:
        message = f"{channel.id} tripped: {channel.trip}; output off until clear_trip"
        self.alarms.raise_alarm(trip_alarm(channel.id), Severity.ERROR, message, channel.id)

    def trip_cleared(self, channel_id: str) -> None:
        self.alarms.clear(trip_alarm(channel_id))

    # --- the interlock ----------------------------------------------------------------------------

    def inhibit(self, channel_id: str) -> str | None:
        """Why `on` (or raising the voltage) is refused on the channel now, or None."""
        if self.link is None:
            return None
        return self.link.inhibit(channel_id, time.monotonic())

    def on_interlock_message(self, info: topics.TopicInfo, message: Inbound) -> None:
        """News from the interlock: a heartbeat, its online status, or a rule's state."""
        assert self.link is not None
        if info.kind is TopicKind.STATE and not message.payload:
            assert info.channel is not None
            self.link.on_rule_state(info.channel, None)  # deleted: the rule was removed
            return
        try:
            decoded = decode_as(info.kind, message.topic, message.payload)
        except ContractError as exc:
            log.warning("%s: ignoring malformed message from the interlock: %s", self.device, exc)
            return
        if isinstance(decoded, Heartbeat):
            self.link.on_heartbeat(decoded, message.at)
        elif isinstance(decoded, Online):
            self.link.on_online(decoded, message.at)
        elif isinstance(decoded, RuleState) and info.channel is not None:
            self.link.on_rule_state(info.channel, decoded)

    def watch(self, now: float) -> None:
        """The watchdog's alarm; republish states whose inhibit changed (rules, heartbeat)."""
        if self.link is None:
            return
        watchdog = self.link.watchdog(now)
        # Before the first heartbeat with every output off there is nothing to put in a safe state:
        # the inhibit in the state says why `on` is refused; no alarm for a stack still starting.
        acts = self.link.last_heartbeat is not None or any(c.output for c in self.power.values())
        if watchdog is not None and (acts or WATCHDOG_ALARM in self.alarms.active):
            if WATCHDOG_ALARM not in self.alarms.active:
                log.error(
                    "%s: %s: outputs to the safe state (%s)",
                    self.device,
                    watchdog,
                    self.link.config.safe_action,
                )
            self.alarms.raise_alarm(
                WATCHDOG_ALARM,
                Severity.ERROR,
                f"interlock watchdog: no heartbeat from '{self.link.config.device}': outputs put in the "
                f"safe state ({self.link.config.safe_action}); nothing is switched back on by itself",
            )
        elif self.link.heartbeat_ok(now):
            self.alarms.clear(WATCHDOG_ALARM)
        for channel_id in self.power:
            summary = self.link.inhibit_summary(channel_id, now)
            if summary != self._summaries.get(channel_id):
                self._summaries[channel_id] = summary
                self.changed(channel_id)

    def enforce(self, now: float) -> None:
        """Hold channels down as active rules and the watchdog say; let held `off`s go when ordered."""
        if self.link is None:
            return
        for channel in self.power.values():
            forced = self.link.forced(channel.id, now)
            if forced is not None and channel.output:
                action, why = forced
                if action is RuleAction.SWITCH_OFF:
                    log.warning("%s/%s: switching off now: %s", self.device, channel.id, why)
                    channel.switch_off_now(power_driver(self.driver))
                    self.changed(channel.id)
                elif not channel.switching_off:
                    log.warning("%s/%s: ramping down: %s", self.device, channel.id, why)
                    channel.ramp_down_and_off(now)
                    self.changed(channel.id)
            if channel.pending_off_since is not None:
                self._continue_held_off(channel, now)

    def _continue_held_off(self, channel: PowerChannel, now: float) -> None:
        assert self.link is not None and channel.pending_off_since is not None
        hold = self.link.hold(channel.id)
        waited = now - channel.pending_off_since
        if hold is not None and waited <= self.link.config.hold_timeout_s:
            return
        if hold is None:
            log.info("%s/%s: the channels ordered before it are off; switching off", self.device, channel.id)
            self.alarms.clear(order_alarm(channel.id))
        else:
            message = (
                f"{channel.id}: switched off after waiting {waited:.0f} s for "
                f"{', '.join(hold.waiting_for) or 'the interlock'} (rules {', '.join(hold.rules)}): the "
                "interlock's ordering could not be confirmed"
            )
            log.error("%s/%s", self.device, message)
            self.alarms.raise_alarm(order_alarm(channel.id), Severity.ERROR, message, channel.id)
        channel.apply(power_driver(self.driver), Verb.OFF, None, now)
        self.changed(channel.id)

    def hold_off(self, channel: PowerChannel, now: float) -> bool:
        """An `off` that an interlock rule orders after other channels waits for them; True if so."""
        if self.link is None or not channel.output or channel.on_its_way_off:
            return channel.pending_off_since is not None
        hold = self.link.hold(channel.id)
        if hold is None:
            return False
        channel.pending_off_since = now
        waiting = (
            f"{', '.join(hold.waiting_for)} to be off"
            if hold.waiting_for
            else "the interlock to confirm the channels ordered before it are off"
        )
        log.info(
            "%s/%s: off waits for %s (rules %s)", self.device, channel.id, waiting, ", ".join(hold.rules)
        )
        return True
