"""The live picture the interlock evaluates its rules on: the latest state and online status per
device and channel, with how old each one is.

Ages are measured on the interlock's own monotonic clock from the arrival of a message, so clocks
of other hosts do not matter for live data. A retained message delivered at subscription is as old
as its timestamp says (its publisher's clock: the only information there is).

Device and channel come from the topic (:mod:`labdcs.contract.identity`); a device gets at most
:data:`~labdcs.contract.limits.MAX_CHANNELS_PER_DEVICE` channels here (what its config can declare),
a cleared retained state removes the channel, and every refusal is counted in :attr:`Inputs.refused`.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field

from labdcs.contract import topics
from labdcs.contract.codec import ContractError, IdentityError, OversizeError, decode
from labdcs.contract.limits import MAX_CHANNELS_PER_DEVICE
from labdcs.contract.models import Online, PowerChannelState, SensorChannelState, now_ms
from labdcs.contract.topics import TopicKind

log = logging.getLogger(__name__)

#: Numeric quantities of a power channel's state that conditions may read.
POWER_QUANTITIES = ("v_set", "v_target", "i_limit", "ramp_rate", "v_mon", "i_mon")


@dataclass(frozen=True)
class Known:
    """A message and the monotonic time its content is from."""

    message: PowerChannelState | SensorChannelState | Online
    at: float


@dataclass(frozen=True)
class Value:
    """A reading for a condition: ``value`` is None when missing, and ``text`` then says why."""

    value: float | None
    text: str


@dataclass
class Inputs:
    """Latest messages of the devices the rules read; used from the interlock's worker thread."""

    states: dict[tuple[str, str], Known] = field(default_factory=dict)
    online: dict[str, Known] = field(default_factory=dict)
    #: Inputs refused, by why: malformed, oversize, identity, channels (over a device's bound).
    refused: Counter[str] = field(default_factory=Counter)
    _channels: Counter[str] = field(default_factory=Counter)

    def update(self, topic: str, payload: bytes, retained: bool, arrived: float) -> bool:
        """Store a state or online message; False when it is not one (or malformed, or refused)."""
        if not payload:
            cleared = topics.parse(topic)
            if cleared is not None and cleared.kind is TopicKind.STATE and cleared.channel is not None:
                self._forget(cleared.device, cleared.channel)
            return False
        try:
            info, message = decode(topic, payload)
        except ContractError as exc:
            why = "oversize" if isinstance(exc, OversizeError) else "malformed"
            self._refuse("identity" if isinstance(exc, IdentityError) else why, f"ignoring input: {exc}")
            return False
        at = arrived
        if retained and isinstance(message, PowerChannelState | SensorChannelState):
            at = arrived - max(0.0, (now_ms() - message.ts) / 1000.0)
        if info.kind is TopicKind.STATE and isinstance(message, PowerChannelState | SensorChannelState):
            assert info.channel is not None
            key = (info.device, info.channel)
            if key not in self.states:
                if self._channels[info.device] >= MAX_CHANNELS_PER_DEVICE:
                    self._refuse(
                        "channels", f"ignoring {topic}: {info.device} has {MAX_CHANNELS_PER_DEVICE} already"
                    )
                    return False
                self._channels[info.device] += 1
            self.states[key] = Known(message, at)
            return True
        if info.kind is TopicKind.ONLINE and isinstance(message, Online):
            self.online[info.device] = Known(message, at)
            return True
        return False

    def _forget(self, device: str, channel: str) -> None:
        if self.states.pop((device, channel), None) is not None:
            self._channels[device] -= 1
            if self._channels[device] <= 0:
                del self._channels[device]

    def _refuse(self, why: str, text: str) -> None:
        self.refused[why] += 1
        if self.refused[why] <= 10 or self.refused[why] % 1000 == 0:  # a flood is counted, not logged
            log.warning("%s (%d %s refusals so far)", text, self.refused[why], why)

    # --- lookups ----------------------------------------------------------------------------------

    def state(
        self, device: str, channel: str, now: float, max_age: float
    ) -> tuple[PowerChannelState | SensorChannelState | None, str]:
        """The channel's state if present and fresh; otherwise None and why."""
        ref = f"{device}/{channel}"
        known = self.states.get((device, channel))
        if known is None:
            online = self.online.get(device)
            if online is None:
                return None, f"{ref}: no data ({device} never seen)"
            return None, f"{ref}: no state received"
        age = now - known.at
        if age > max_age:
            offline = self._offline_note(device)
            return None, f"{ref}: last state {age:.1f} s old (max {max_age:g} s){offline}"
        assert isinstance(known.message, PowerChannelState | SensorChannelState)
        return known.message, ref

    def value(self, ref: str, now: float, max_age: float) -> Value:
        """A numeric reading ``device/channel/quantity`` if present and fresh."""
        device, channel, quantity = ref.split("/")
        state, why = self.state(device, channel, now, max_age)
        if state is None:
            return Value(None, why)
        if state.fault:
            return Value(None, f"{ref}: {device}/{channel} in fault ({state.fault})")
        number: float | None
        if isinstance(state, SensorChannelState):
            number = state.values.get(quantity)
        elif quantity in POWER_QUANTITIES:
            number = getattr(state, quantity)
        else:
            return Value(None, f"{ref}: power channels offer {', '.join(POWER_QUANTITIES)}")
        if number is None or not math.isfinite(number):
            return Value(None, f"{ref}: not in the latest state (unreadable)")
        return Value(number, ref)

    def age(self, device: str, channel: str, now: float) -> float | None:
        known = self.states.get((device, channel))
        return None if known is None else now - known.at

    def is_online(self, device: str) -> Online | None:
        known = self.online.get(device)
        if known is None:
            return None
        assert isinstance(known.message, Online)
        return known.message

    def _offline_note(self, device: str) -> str:
        online = self.is_online(device)
        if online is not None and not online.online:
            return f"; {device} offline ({online.reason or 'connection lost'})"
        return ""
