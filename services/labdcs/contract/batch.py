"""Batched channel states (contract 2.1.0): what a battery station publishes when it runs faster than
real time.

A simulation at ``speed: max`` makes tens of thousands of states per wall second; one MQTT message
each costs more than the simulation itself. On ``labdcs/v1/<device>/<channel>/states`` (not
retained, QoS 1) a station sends them in order, up to :data:`MAX_BATCH_STATES` at once and at most
:data:`~labdcs.contract.limits.MAX_STATES_BYTES` of JSON. Each entry is an ordinary
:class:`~labdcs.contract.models.CyclerChannelState` with its own ``ts`` and ``seq``, so a reader
stores a batch exactly as it would store its states one by one. Real-time devices never use it.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labdcs.contract.models import CyclerChannelState

#: States one batch carries at most (the byte budget may end a batch sooner).
MAX_BATCH_STATES: Final = 500


class CyclerStateBatch(BaseModel):
    """Not retained, on ``labdcs/v1/<device>/<channel>/states``: consecutive states of one cycler
    channel, oldest first; the last one is also published retained on the channel's ``state``."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    states: list[CyclerChannelState] = Field(
        min_length=1,
        max_length=MAX_BATCH_STATES,
        description="Oldest first, each with its own `ts` and `seq`: `seq` strictly increasing, `ts` "
        "never decreasing, one `boot`",
    )

    @model_validator(mode="after")
    def _in_order(self) -> CyclerStateBatch:
        """A reader stores every entry as one point: out-of-order entries mean a broken sender."""
        first = self.states[0]
        previous = first
        for index, state in enumerate(self.states[1:], start=1):
            if state.boot != first.boot:
                raise ValueError(f"states[{index}] is of boot '{state.boot}', states[0] of '{first.boot}'")
            if state.seq <= previous.seq:
                raise ValueError(f"states[{index}].seq {state.seq} does not follow {previous.seq}")
            if state.ts < previous.ts:
                raise ValueError(f"states[{index}].ts {state.ts} is before {previous.ts}")
            previous = state
        return self


def batch_payload(encoded_states: list[bytes]) -> bytes:
    """The JSON of a batch from states already encoded with :func:`~labdcs.contract.codec.encode`
    (what :func:`~labdcs.contract.codec.encode` of the model gives, without serialising twice)."""
    return b'{"states":[' + b",".join(encoded_states) + b"]}"


#: Bytes :func:`batch_payload` adds around the states and between them (per state: the comma).
BATCH_OVERHEAD: Final = len(batch_payload([]))
