"""One channel of a battery station: its limits (cell, station wiring, instrument), the loaded
protocol and the engine running it, one sample at a time; what it publishes is the service's job
(:mod:`labdcs.devices.cycler.service`), no MQTT here.

Each sample reads the instrument, checks the safety envelope (leaving it aborts the run, switches
the output off and names the reason for an alarm, whatever the protocol does), runs the protocol
engine, programs the source when the engine's setpoint changed, and says whether the state is due
(record period, a change of V or I beyond the record deltas, a step or run-state change).
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from dataclasses import dataclass

from labdcs.clock import Clock
from labdcs.contract.models import (
    CyclerChannelState,
    CyclerLimits,
    CyclerRunState,
    CyclerStats,
    DeviceKind,
    QuantityMeta,
)
from labdcs.devices.cycler.config import CyclerChannelConfig
from labdcs.devices.cycler.engine import Engine, Safety, Sample
from labdcs.drivers.base import BidirectionalSourceDriver, SourceRatings
from labdcs.protocols import Envelope, Protocol, ProtocolError, Report, describe, load, validate

#: The station service's logger: its lines keep one name, whichever module writes them.
log = logging.getLogger("labdcs.devices.cycler.service")

QUANTITIES = [
    QuantityMeta(name="voltage", unit="V", description="cell voltage"),
    QuantityMeta(name="current", unit="A", description="+ charge, - discharge"),
    QuantityMeta(name="power", unit="W", description="+ charge, - discharge"),
    QuantityMeta(name="temperature", unit="degC", description="cell temperature"),
    QuantityMeta(name="charge_capacity", unit="Ah", description="charged in the run"),
    QuantityMeta(name="discharge_capacity", unit="Ah", description="discharged in the run"),
    QuantityMeta(name="charge_energy", unit="Wh", description="charged in the run"),
    QuantityMeta(name="discharge_energy", unit="Wh", description="discharged in the run"),
    QuantityMeta(name="cycle_index", unit="", description="cycles started in the run"),
    QuantityMeta(name="step_index", unit="", description="position of the running step"),
    QuantityMeta(name="run_state", unit="", type="string", description="idle, running, paused, ..."),
]


class Rejected(Exception):
    """A command that is not carried out; the message is the ack's reason."""


@dataclass
class Outcome:
    """What one sample of a channel produced, for the service to publish."""

    stats: list[CyclerStats]
    publish: bool
    alarm: str | None = None


class CyclerChannel:
    """One channel: its limits, the loaded protocol and the engine running it; no MQTT here."""

    def __init__(
        self, config: CyclerChannelConfig, driver: BidirectionalSourceDriver, clock: Clock, boot: str
    ):
        self.config = config
        self.id = config.id
        self.hw = config.hw
        self.driver = driver
        self.clock = clock
        self.boot = boot
        self.ratings: SourceRatings | None = None
        self.protocol: Protocol | None = None
        self.report: Report | None = None
        self.experiment: str | None = None
        self.engine: Engine | None = None
        self.safety: Safety | None = None
        self.last: Sample | None = None
        self.published: Sample | None = None
        self._last_ts = 0
        self.applied_version = -1
        self.run_state = CyclerRunState.IDLE
        self.end_reason: str | None = None
        self.output_lost = 0

    # --- limits -------------------------------------------------------------------------------

    def station_envelope(self) -> Envelope:
        """The station: the instrument's ratings, tightened by the configured wiring limits."""
        station = self.config.station
        r = self.ratings

        def tight(a: float | None, b: float | None, lowest: bool = True) -> float | None:
            values = [v for v in (a, b) if v is not None]
            if not values:
                return None
            return min(values) if lowest else max(values)

        return Envelope(
            v_min=tight(station.v_min, r.min_voltage if r else None, lowest=False),
            v_max=tight(station.v_max, r.max_voltage if r else None),
            i_max=tight(station.i_charge_max, r.max_charge_current if r else None),
            i_min=-x
            if (x := tight(station.i_discharge_max, r.max_discharge_current if r else None))
            else None,
            p_max=tight(station.p_max, r.max_power if r else None),
        )

    def check(self, protocol: Protocol) -> Report:
        cell = self.config.cell
        return validate(
            protocol, cell=cell.envelope(), station=self.station_envelope(), capacity_ah=cell.capacity_ah
        )

    def meta_limits(self) -> CyclerLimits:
        cell = self.config.cell
        limits = validate(_EMPTY, cell=cell.envelope(), station=self.station_envelope()).limits
        return CyclerLimits(
            v_min=limits.v_min if limits.v_min is not None else cell.v_min,
            v_max=limits.v_max if limits.v_max is not None else cell.v_max,
            i_min=limits.i_min if limits.i_min is not None else -cell.i_discharge_max,
            i_max=limits.i_max if limits.i_max is not None else cell.i_charge_max,
            t_max=limits.t_max_c,
            capacity=cell.capacity_ah,
        )

    # --- commands -----------------------------------------------------------------------------

    def load(self, document: object, experiment: str | None) -> Report:
        if self.run_state in (CyclerRunState.RUNNING, CyclerRunState.PAUSED):
            raise Rejected(f"a run is {self.run_state.value}: stop it before loading another protocol")
        try:
            protocol = load(document)
        except ProtocolError as exc:
            raise Rejected("invalid protocol: " + "; ".join(exc.problems[:10])) from None
        report = self.check(protocol)
        if not report.ok:
            raise Rejected("protocol refused: " + "; ".join(str(p) for p in report.errors[:10]))
        self.protocol, self.report = protocol, report
        self.experiment = experiment
        self.run_state = CyclerRunState.IDLE
        self.end_reason = None
        log.info("%s: loaded protocol %s v%d\n%s", self.id, protocol.name, protocol.version, describe(report))
        return report

    def start(self, experiment: str | None) -> None:
        if self.protocol is None or self.report is None:
            raise Rejected("no protocol loaded: send load_protocol first")
        if self.run_state in (CyclerRunState.RUNNING, CyclerRunState.PAUSED):
            raise Rejected(f"a run is already {self.run_state.value}")
        sample = self.read()
        self.experiment = (
            experiment or self.experiment or f"exp-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        )
        cell = self.config.cell
        self.engine = Engine(self.protocol, self.report.limits, cell.capacity_ah, self.boot)
        self.safety = Safety(
            self.report.limits, self.protocol.safety.capacity_max_ah, self.config.safety_margin_v
        )
        reason = self.safety.check(sample, 0.0)
        if reason is not None:
            self.engine = None
            raise Rejected(f"cannot start outside the safety limits: {reason}")
        self.engine.start(sample)
        self.applied_version = -1
        self.output_lost = 0
        self.run_state = self.engine.run_state
        self.end_reason = None
        self.apply()

    def pause(self) -> None:
        if self.engine is None or self.run_state is not CyclerRunState.RUNNING:
            raise Rejected(f"nothing to pause: the channel is {self.run_state.value}")
        self.engine.pause()
        self.run_state = self.engine.run_state
        self.apply()

    def resume(self) -> None:
        if self.engine is None or self.run_state is not CyclerRunState.PAUSED:
            raise Rejected(f"nothing to resume: the channel is {self.run_state.value}")
        self.engine.resume()
        self.output_lost = 0
        self.run_state = self.engine.run_state
        self.apply()

    def stop(self, reason: str, state: CyclerRunState = CyclerRunState.ABORTED) -> list[CyclerStats]:
        """End the run: output off first, then the statistics; returns them for publication."""
        try:
            self.driver.set_output(self.hw, False)
            self.read()  # the state shows what the instrument does now: output off
        finally:
            stats: list[CyclerStats] = []
            if self.engine is not None and self.engine.active:
                self.engine.abort(self.last, reason, state)
                stats = self._take_stats()
                self.run_state = self.engine.run_state
                self.end_reason = reason
        return stats

    # --- the sample -----------------------------------------------------------------------------

    def read(self) -> Sample:
        reading = self.driver.read(self.hw)
        sample = Sample(
            t=self.clock.monotonic(),
            ts_ms=self.clock.time_ms(),
            voltage=reading.voltage,
            current=reading.current,
            power=reading.power,
            temperature=reading.temperature,
            mode=reading.mode,
            output_on=reading.output_on,
        )
        self.last = sample
        return sample

    def apply(self) -> None:
        """Program the source when the engine's setpoint changed."""
        engine = self.engine
        if engine is None or engine.setpoint_version == self.applied_version:
            return
        if engine.setpoint is None:
            self.driver.set_output(self.hw, False)
        else:
            self.driver.program(self.hw, engine.setpoint)
            if self.last is None or not self.last.output_on:
                self.driver.set_output(self.hw, True)
        self.applied_version = engine.setpoint_version

    def _take_stats(self) -> list[CyclerStats]:
        if self.engine is None:
            return []
        stats = [s.model_copy(update={"experiment": self.experiment}) for s in self.engine.published]
        self.engine.published.clear()
        return stats

    def sample(self, record_due: bool) -> Outcome:
        before = (self.run_state, self.engine.step_index if self.engine else 0)
        sample = self.read()
        engine = self.engine
        alarm = None
        if engine is not None and engine.active and self.safety is not None:
            reason = self.safety.check(sample, engine.step_ah)
            if (
                reason is None
                and engine.setpoint is not None
                and self.applied_version == engine.setpoint_version
            ):
                self.output_lost = 0 if sample.output_on else self.output_lost + 1
                if self.output_lost >= 2:
                    reason = "the instrument switched the output off (interlock or front panel)"
            if reason is not None:
                engine.on_sample(sample)
                stats = self.stop(f"safety: {reason}")
                return Outcome(stats, True, alarm=reason)
            engine.on_sample(sample)
            self.run_state = engine.run_state
            if not engine.active:
                self.end_reason = engine.end_reason
            self.apply()
        stats = self._take_stats()
        changed = before != (self.run_state, self.engine.step_index if self.engine else 0)
        return Outcome(stats, record_due or changed or bool(stats) or self._moved(sample), alarm)

    def _moved(self, sample: Sample) -> bool:
        record = self.protocol.record if self.protocol is not None else None
        last = self.published
        if record is None or last is None:
            return False
        if record.delta_v is not None and abs(sample.voltage - last.voltage) >= record.delta_v:
            return True
        return record.delta_i is not None and abs(sample.current - last.current) >= record.delta_i

    def record_period(self) -> float:
        engine = self.engine
        if self.protocol is None:
            return math.inf
        step = engine.step if engine is not None else None
        period = step.record_period_s if step is not None else None
        return period or self.protocol.record.period_s

    def state(self, seq: int, boot: str, fault: str | None) -> CyclerChannelState:
        engine = self.engine
        sample = None if fault else self.last
        self.published = sample or self.published
        step = engine.step if engine is not None else None
        running = engine is not None and engine.run_state is not CyclerRunState.IDLE
        # Strictly increasing per channel (the contract's rule), in the clock's own time.
        self._last_ts = max(self.clock.time_ms(), self._last_ts + 1)
        return CyclerChannelState(
            ts=self._last_ts,
            device_kind=DeviceKind.CYCLER,
            seq=seq,
            boot=boot,
            fault=fault,
            run_state=self.run_state,
            output=bool(sample and sample.output_on),
            mode=sample.mode.value if sample else None,
            voltage=sample.voltage if sample else None,
            current=sample.current if sample else None,
            power=sample.power if sample else None,
            temperature=sample.temperature if sample else None,
            experiment=self.experiment,
            protocol=f"{self.protocol.name} v{self.protocol.version}" if self.protocol else None,
            step_index=engine.step_index if engine else 0,
            step_id=step.id if step else None,
            step_type=step.type if step else None,
            cycle_index=engine.cycle_index if engine else 0,
            test_time=(self.clock.monotonic() - engine.start_t) if engine and running else 0.0,
            step_time=engine.step_time if engine and step else 0.0,
            charge_capacity=engine.charge_ah if engine else 0.0,
            discharge_capacity=engine.discharge_ah if engine else 0.0,
            charge_energy=engine.charge_wh if engine else 0.0,
            discharge_energy=engine.discharge_wh if engine else 0.0,
            step_end_reason=self.end_reason or (engine.end_reason if engine else None),
        )


_EMPTY = Protocol.model_validate({"name": "limits", "steps": [{"type": "rest", "until": []}]})
