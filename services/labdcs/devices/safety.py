"""What the interlock service asks of one device service, and the watchdog on its heartbeat.

A device service configured with an ``interlock:`` section subscribes to the interlock's retained
rule states, its heartbeat and its ``online`` topic, and feeds them to :class:`InterlockLink`
(on the worker thread, like commands). The link answers the three questions the service asks on
every tick and every command:

* :meth:`~InterlockLink.inhibit` - why ``on`` and voltage raises are refused on a channel now
  (active rules naming it; a heartbeat that is missing), or None;
* :meth:`~InterlockLink.forced` - whether a channel must be held down now and how (``switch_off``
  beats ``ramp_down``): active rules with a ramp_down/off action on it, the watchdog's safe action;
* :meth:`~InterlockLink.hold` - whether an ``off`` must still wait for the channels a rule orders
  before this one (e.g. LV waits until the HV it feeds is off), and for which.

Retained rule states outlive the interlock process, so a device keeps obeying an active rule while
the interlock is down; the watchdog adds the safe action on top. Nothing here ever switches an
output on: rules and the watchdog only hold outputs down and refuse commands.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from labdcs.contract.models import Heartbeat, Online, RuleAction, RuleState, RuleStatus
from labdcs.devices.config import InterlockDependency

log = logging.getLogger(__name__)

ForcedAction = RuleAction  # only RAMP_DOWN or OFF are returned by InterlockLink.forced


@dataclass(frozen=True)
class Hold:
    """An `off` that must wait: ``waiting_for`` names the channels that must be off first."""

    rules: tuple[str, ...]
    waiting_for: tuple[str, ...]


def why_in_force(state: RuleState) -> str:
    """A rule's reason as it stands: the condition now, or, for a latch, what held and that it is gone."""
    reason = state.reason or state.detail
    if state.status is RuleStatus.LATCHED:
        return f"latched: {reason}; condition gone ({state.detail}): reset to release"
    return reason


class InterlockLink:
    """The interlock's rules and heartbeat as seen by one device; used from the worker thread only."""

    def __init__(self, config: InterlockDependency, device: str, started: float) -> None:
        self.config = config
        self.device = device
        self.started = started
        self.rules: dict[str, RuleState] = {}
        self.last_heartbeat: float | None = None
        self.heartbeat_boot: str | None = None
        #: The interlock said it is offline (last will or clean stop) after its last heartbeat.
        self.offline_at: float | None = None
        self.offline_reason: str | None = None

    # --- inputs -----------------------------------------------------------------------------------

    def on_heartbeat(self, heartbeat: Heartbeat, at: float) -> None:
        if heartbeat.boot != self.heartbeat_boot:
            log.info(
                "%s: heartbeat from %s (boot %s)%s",
                self.device,
                self.config.device,
                heartbeat.boot,
                "" if self.heartbeat_boot is None else ": the interlock restarted",
            )
            self.heartbeat_boot = heartbeat.boot
        self.last_heartbeat = at
        self.offline_at = None
        self.offline_reason = None

    def on_online(self, online: Online, at: float) -> None:
        if online.online or self.offline_at is not None:
            return
        # Only an offline for the run we heard from counts (a retained will of an older run does not).
        if self.heartbeat_boot is not None and online.boot != self.heartbeat_boot:
            return
        self.offline_at = at
        self.offline_reason = online.reason or "offline"
        log.warning(
            "%s: interlock %s went offline (%s)", self.device, self.config.device, self.offline_reason
        )

    def on_rule_state(self, rule: str, state: RuleState | None) -> None:
        """A rule's retained state, or None when the interlock deleted it (rule removed)."""
        before = self.rules.get(rule)
        if state is None:
            self.rules.pop(rule, None)
            if before is not None:
                log.info("%s: interlock rule %s removed", self.device, rule)
            return
        self.rules[rule] = state
        mine = [t for t in state.targets if t.device == self.device]
        if mine and (before is None or before.active != state.active):
            log.info(
                "%s: interlock rule %s is %s (%s) for %s",
                self.device,
                rule,
                "in force" if state.active else "not in force",
                state.reason if state.active else state.detail,
                ", ".join(f"{t.channel}: {t.action.value}" for t in mine),
            )

    # --- watchdog ---------------------------------------------------------------------------------

    @property
    def watchdog_enabled(self) -> bool:
        return self.config.safe_action != "none"

    def heartbeat_ok(self, now: float) -> bool:
        return (
            self.last_heartbeat is not None
            and self.offline_at is None
            and now - self.last_heartbeat <= self.config.heartbeat_timeout_s
        )

    def watchdog(self, now: float) -> str | None:
        """Why the safe action applies now (the heartbeat is missing for too long), or None."""
        if not self.watchdog_enabled:
            return None
        interlock = self.config.device
        if self.offline_at is not None:
            return f"watchdog: interlock '{interlock}' went offline ({self.offline_reason})"
        timeout = self.config.heartbeat_timeout_s
        if self.last_heartbeat is None:
            waited = now - self.started
            if waited > timeout:
                return f"watchdog: no heartbeat from interlock '{interlock}' since the start ({waited:.1f} s)"
            return None
        silent = now - self.last_heartbeat
        if silent > timeout:
            return (
                f"watchdog: no heartbeat from interlock '{interlock}' for {silent:.1f} s "
                f"(timeout {timeout:g} s)"
            )
        return None

    def next_deadline(self) -> float | None:
        """When the watchdog fires if no heartbeat arrives (monotonic), for the worker's sleep."""
        if not self.watchdog_enabled or self.offline_at is not None:
            return None
        base = self.last_heartbeat if self.last_heartbeat is not None else self.started
        return base + self.config.heartbeat_timeout_s

    # --- what applies to a channel ----------------------------------------------------------------

    def _active_rules_on(self, channel: str) -> list[tuple[str, RuleState, RuleAction]]:
        found = []
        for name, state in sorted(self.rules.items()):
            if not state.active:
                continue
            for target in state.targets:
                if target.device == self.device and target.channel == channel:
                    found.append((name, state, target.action))
        return found

    def inhibit(self, channel: str, now: float) -> str | None:
        """Why `on` and voltage raises are refused on ``channel`` now; None when they are allowed."""
        reasons = []
        rules = self._active_rules_on(channel)
        if rules:
            names = ", ".join(f"'{name}'" for name, _, _ in rules)
            details = "; ".join(why_in_force(state) for _, state, _ in rules)
            word = "rule" if len(rules) == 1 else "rules"
            reasons.append(f"interlock {word} {names} in force ({details})")
        if self.watchdog_enabled and not self.heartbeat_ok(now):
            reasons.append(
                self.watchdog(now)
                or f"watchdog: waiting for the first heartbeat of interlock '{self.config.device}'"
            )
        return "; ".join(reasons) or None

    def inhibit_summary(self, channel: str, now: float) -> str | None:
        """The short form for the channel state: the rule names and/or the watchdog."""
        parts = [f"rule {name}" for name, _, _ in self._active_rules_on(channel)]
        if self.watchdog_enabled and not self.heartbeat_ok(now):
            parts.append("watchdog")
        return ", ".join(parts) or None

    def forced(self, channel: str, now: float) -> tuple[ForcedAction, str] | None:
        """How ``channel`` must be held down now (``switch_off`` beats ``ramp_down``) and why; None if not."""
        actions: list[tuple[ForcedAction, str]] = [
            (action, f"interlock rule '{name}': {why_in_force(state)}")
            for name, state, action in self._active_rules_on(channel)
            if action in (RuleAction.RAMP_DOWN, RuleAction.SWITCH_OFF)
        ]
        watchdog = self.watchdog(now)
        if watchdog is not None:
            switch_off = self.config.safe_action == "switch_off"
            action = RuleAction.SWITCH_OFF if switch_off else RuleAction.RAMP_DOWN
            actions.append((action, watchdog))
        if not actions:
            return None
        return min(actions, key=lambda item: 0 if item[0] is RuleAction.SWITCH_OFF else 1)

    def hold(self, channel: str) -> Hold | None:
        """The rules whose ordering an `off` of ``channel`` still waits for; None: go ahead.

        The interlock releases a held channel once it has seen it switching off and every
        ramp_down/off target of the rule off; waiting for that confirmation (rather than judging
        from the targets' last known outputs) closes the race with a target switched on a moment ago.
        """
        rules = []
        waiting: list[str] = []
        for name, state in sorted(self.rules.items()):
            if not any(
                h.device == self.device and h.channel == channel and not h.released for h in state.hold
            ):
                continue
            rules.append(name)
            for target in state.targets:
                ref = f"{target.device}/{target.channel}"
                if (
                    target.action is not RuleAction.INHIBIT
                    and target.output is not False
                    and ref not in waiting
                ):
                    waiting.append(ref)
        if not rules:
            return None
        return Hold(tuple(rules), tuple(waiting))
