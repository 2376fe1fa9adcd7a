"""Rule evaluation and the latch: pure logic over :class:`~labdcs.interlock.inputs.Inputs`.

:func:`evaluate` says whether a rule's condition holds now and why, in words an operator can act
on. :class:`RuleRuntime` keeps the rule's life cycle: it comes into force when the condition holds;
a latching rule stays in force after the condition is gone until :meth:`RuleRuntime.reset`, which
is refused while the condition still holds. :meth:`RuleRuntime.state` is the rule's contract state.
"""

from __future__ import annotations

from dataclasses import dataclass

from labdcs.contract.models import (
    DeviceKind,
    PowerChannelState,
    RuleAction,
    RuleHold,
    RuleState,
    RuleStatus,
    RuleTarget,
)
from labdcs.interlock.config import (
    Above,
    Below,
    ChannelOff,
    Condition,
    DeviceOffline,
    DewPointMargin,
    Rule,
    Stale,
    split_channel,
)
from labdcs.interlock.inputs import Inputs, Value


@dataclass(frozen=True)
class Finding:
    """A condition now: ``holds`` is None when its inputs are missing; ``text`` says what was seen.

    ``missing`` marks a verdict that rests on missing inputs (resolved by the rule's ``on_missing``).
    ``cause`` is ``text`` without the readings' numbers (default: ``text``): it changes when the
    verdict changes in kind (``switching off`` -> ``off``), not with every new reading, so the
    interlock republishes a rule at once for the one and at its period for the other.
    """

    holds: bool | None
    text: str
    missing: bool = False
    cause: str = ""

    @property
    def kind(self) -> str:
        return self.cause or self.text


def _number(value: float) -> str:
    return f"{value:.4g}"


def _check(condition: Condition, inputs: Inputs, now: float, max_age: float) -> Finding:
    if isinstance(condition, Above | Below):
        ref = condition.above if isinstance(condition, Above) else condition.below
        reading = inputs.value(ref, now, max_age)
        if reading.value is None:
            return Finding(None, reading.text, cause=f"{ref} missing")
        if isinstance(condition, Above):
            holds = reading.value > condition.limit
            relation = ">" if holds else "<="
        else:
            holds = reading.value < condition.limit
            relation = "<" if holds else ">="
        bound = _number(condition.limit)
        text = f"{ref} = {_number(reading.value)} {relation} {bound}"
        return Finding(holds, text, cause=f"{ref} {relation} {bound}")
    if isinstance(condition, DewPointMargin):
        dew = inputs.value(condition.dew_point, now, max_age)
        if isinstance(condition.temperature, str):
            temperature = inputs.value(condition.temperature, now, max_age)
        else:
            temperature = Value(condition.temperature, _number(condition.temperature))
        for reading in (dew, temperature):
            if reading.value is None:
                return Finding(None, reading.text, cause=f"dew point {condition.dew_point}: input missing")
        assert dew.value is not None and temperature.value is not None
        spread = temperature.value - dew.value
        holds = spread < condition.margin
        return Finding(
            holds,
            f"dew point {condition.dew_point} = {_number(dew.value)} is {_number(spread)} K below "
            f"{temperature.text} = {_number(temperature.value)} (margin {_number(condition.margin)} K)",
            cause=f"dew point {condition.dew_point} {'within' if holds else 'outside'} the margin",
        )
    if isinstance(condition, ChannelOff):
        device, channel = split_channel(condition.channel_off)
        state, why = inputs.state(device, channel, now, max_age)
        if state is None:
            return Finding(None, why, cause=f"{condition.channel_off} missing")
        if not isinstance(state, PowerChannelState):
            return Finding(None, f"{condition.channel_off} is not a power channel")
        if state.fault:
            return Finding(None, f"{condition.channel_off} in fault ({state.fault})")
        if not state.output:
            return Finding(True, f"{condition.channel_off} is off")
        if state.switching_off:
            return Finding(True, f"{condition.channel_off} is switching off")
        return Finding(False, f"{condition.channel_off} is on")
    if isinstance(condition, DeviceOffline):
        online = inputs.is_online(condition.offline)
        if online is None:  # nothing known: missing, resolved by on_missing (and the start-up grace)
            return Finding(None, f"{condition.offline} has never been seen online")
        if not online.online:
            return Finding(True, f"{condition.offline} is offline ({online.reason or 'connection lost'})")
        return Finding(False, f"{condition.offline} is online")
    if isinstance(condition, Stale):
        device, channel = split_channel(condition.stale)
        age = inputs.age(device, channel, now)
        if age is None:
            return Finding(None, f"{condition.stale}: no state received")
        holds = age > condition.older_than_s
        relation = ">" if holds else "<="
        limit = condition.older_than_s
        return Finding(
            holds,
            f"{condition.stale}: last state {age:.1f} s old {relation} {limit:g} s",
            cause=f"{condition.stale}: last state {relation} {limit:g} s old",
        )
    raise TypeError(f"unknown condition {condition!r}")


def evaluate(rule: Rule, inputs: Inputs, now: float, default_max_age: float) -> Finding:
    """Whether the rule's condition holds now (missing inputs resolved by ``on_missing``) and why."""
    findings = [
        _check(condition, inputs, now, condition.max_age_s or rule.max_age_s or default_max_age)
        for condition in rule.when
    ]
    holding = [f for f in findings if f.holds is True]
    missing = [f for f in findings if f.holds is None]
    if rule.match == "any":
        known: bool | None = True if holding else (None if missing else False)
    else:
        known = False if any(f.holds is False for f in findings) else (None if missing else True)
    if known is None:
        trips = rule.on_missing == "trip"
        verdict = f"missing input ({'counts as holding' if trips else 'ignored'}): "
        return _joined(trips, missing, verdict, missing=True)
    if known:
        return _joined(True, holding if rule.match == "any" else findings)
    return _joined(False, findings)


def _joined(holds: bool, findings: list[Finding], prefix: str = "", missing: bool = False) -> Finding:
    text = prefix + "; ".join(f.text for f in findings)
    return Finding(holds, text, missing=missing, cause=prefix + "; ".join(f.kind for f in findings))


@dataclass
class RuleRuntime:
    """One rule's life cycle and what the interlock last saw of its targets.

    ``reason`` says why the rule is in force: while its condition holds, the condition as it is
    now (it follows the inputs: ``lv1/ch1 is switching off``, then ``lv1/ch1 is off``); once a
    latched rule's condition is gone, the condition as it last held. ``cause`` is its number-free
    form (:attr:`Finding.cause`).
    """

    rule: Rule
    active: bool = False
    since: int | None = None
    reason: str | None = None
    cause: str | None = None
    condition: bool = False
    detail: str = "not evaluated yet"

    @property
    def status(self) -> RuleStatus:
        if not self.active:
            return RuleStatus.OK
        return RuleStatus.ACTIVE if self.condition else RuleStatus.LATCHED

    def update(self, finding: Finding, now_ms: int) -> str | None:
        """Apply an evaluation; returns ``activated`` or ``released`` on a transition."""
        self.condition = bool(finding.holds)
        self.detail = finding.text
        if self.condition:
            self.reason, self.cause = finding.text, finding.kind
            if not self.active:
                self.active, self.since = True, now_ms
                return "activated"
            return None
        if self.active and not self.rule.latch:
            self._release()
            return "released"
        return None

    def _release(self) -> None:
        self.active, self.since, self.reason, self.cause = False, None, None, None

    def reset(self) -> str | None:
        """An operator's reset: why it is refused, or None (done, or nothing to reset)."""
        if not self.active:
            return None
        if self.condition:
            return f"rule '{self.rule.name}': condition still present: {self.detail}"
        self._release()
        return None

    def restore(self, previous: RuleState) -> None:
        """Keep a rule the previous run left in force in force (a restart releases nothing)."""
        if previous.active:
            self.active = True
            self.since = previous.since
            self.reason = self.cause = previous.reason or previous.detail

    def targets(self, inputs: Inputs, now: float, max_age: float) -> list[RuleTarget]:
        found = []
        for ref, action in self.rule.actions.targets():
            device, channel = split_channel(ref)
            state, _ = inputs.state(device, channel, now, max_age)
            output = state.output if isinstance(state, PowerChannelState) and not state.fault else None
            found.append(RuleTarget(device=device, channel=channel, action=RuleAction(action), output=output))
        return found

    def holds(self, targets: list[RuleTarget], inputs: Inputs, now: float, max_age: float) -> list[RuleHold]:
        """Each held channel, released once it is switching off and every ramp_down/off target is off."""
        first_off = all(t.output is False for t in targets if t.action is not RuleAction.INHIBIT)
        found = []
        for ref in self.rule.actions.hold:
            device, channel = split_channel(ref)
            state, _ = inputs.state(device, channel, now, max_age)
            leaving = isinstance(state, PowerChannelState) and bool(state.switching_off)
            found.append(RuleHold(device=device, channel=channel, released=leaving and first_off))
        return found

    def state(
        self, ts: int, seq: int, boot: str, targets: list[RuleTarget], holds: list[RuleHold]
    ) -> RuleState:
        return RuleState(
            ts=ts,
            seq=seq,
            boot=boot,
            status=self.status,
            condition=self.condition,
            active=self.active,
            latch=self.rule.latch,
            since=self.since,
            reason=self.reason,
            detail=self.detail,
            targets=targets,
            hold=holds,
            device_kind=DeviceKind.INTERLOCK,
        )
