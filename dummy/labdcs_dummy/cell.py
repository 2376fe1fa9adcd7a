"""An equivalent-circuit model of a lithium-ion cell, so simulated stations produce data that look
like a real cell's: CV currents decay, the voltage relaxes during a rest, capacity fades.

Model (current ``i`` positive while charging, as in the contract):

* open-circuit voltage ``OCV(soc)``, piecewise linear in a table per chemistry (NMC/graphite and
  LFP/graphite shapes: NMC slopes from 3.0 to 4.2 V, LFP sits on its 3.3 V plateau), extrapolated
  steeply beyond 0 and 1 so an over-charge or over-discharge shows as a voltage runaway;
* terminal voltage ``v = OCV + i*R0 + v1 + v2`` with two RC pairs (a fast ~30 s charge-transfer
  pair and a slow ~10 min diffusion pair), each ``dv/dt = (i*R - v)/tau`` integrated exactly over
  a step of constant current;
* resistances rise at low temperature (Arrhenius factor) and with ageing;
* lumped thermal model ``m*cp*dT/dt = i*(v - OCV) - hA*(T - T_ambient)`` (irreversible heat);
* slow fade: the capacity drops by ``fade_per_efc`` per equivalent full cycle of charge
  throughput, and a little charge is lost in side reactions while charging
  (``coulombic_efficiency``), so a charge always takes slightly more than the discharge returns.

The numbers are typical of an 18650-class cell (2.5 Ah NMC, 20 mOhm); they are plausible, not
fitted to a product.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Literal

Chemistry = Literal["nmc", "lfp"]

#: (state of charge, open-circuit voltage in V)
OCV_TABLES: dict[str, tuple[tuple[float, float], ...]] = {
    "nmc": (
        (0.00, 3.000),
        (0.02, 3.300),
        (0.05, 3.450),
        (0.10, 3.550),
        (0.20, 3.620),
        (0.30, 3.660),
        (0.40, 3.700),
        (0.50, 3.750),
        (0.60, 3.820),
        (0.70, 3.900),
        (0.80, 3.980),
        (0.90, 4.070),
        (0.95, 4.130),
        (1.00, 4.200),
    ),
    "lfp": (
        (0.00, 2.500),
        (0.02, 2.950),
        (0.05, 3.100),
        (0.10, 3.200),
        (0.20, 3.260),
        (0.30, 3.290),
        (0.40, 3.300),
        (0.50, 3.310),
        (0.60, 3.320),
        (0.70, 3.330),
        (0.80, 3.340),
        (0.90, 3.360),
        (0.95, 3.400),
        (1.00, 3.600),
    ),
}
#: V per unit of SOC beyond the table's ends (over-charge / over-discharge runaway).
RUNAWAY_SLOPE_HIGH = 3.0
RUNAWAY_SLOPE_LOW = 20.0
KELVIN = 273.15


@dataclass(frozen=True)
class CellParameters:
    chemistry: Chemistry = "nmc"
    capacity_ah: float = 2.5
    r0_ohm: float = 0.020
    r1_ohm: float = 0.010
    tau1_s: float = 30.0
    r2_ohm: float = 0.012
    tau2_s: float = 600.0
    activation_k: float = 2500.0
    """Arrhenius constant Ea/R of the resistances, K."""
    heat_capacity_j_per_k: float = 45.0
    """m*cp: 45 g at 1000 J/(kg K)."""
    cooling_w_per_k: float = 0.05
    """hA: free convection of an 18650."""
    ambient_c: float = 25.0
    fade_per_efc: float = 4e-4
    """Capacity lost per equivalent full cycle, as a fraction of the initial capacity."""
    resistance_growth_per_efc: float = 1e-3
    coulombic_efficiency: float = 0.9995
    soc: float = 0.5
    """Initial state of charge."""

    def __post_init__(self) -> None:
        if self.chemistry not in OCV_TABLES:
            raise ValueError(f"unknown chemistry {self.chemistry!r}; known: {', '.join(OCV_TABLES)}")
        for name in ("capacity_ah", "r0_ohm", "tau1_s", "tau2_s", "heat_capacity_j_per_k"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")

    @property
    def v_min(self) -> float:
        return OCV_TABLES[self.chemistry][0][1]

    @property
    def v_max(self) -> float:
        return OCV_TABLES[self.chemistry][-1][1]


@dataclass
class Cell:
    """State and dynamics of one cell; not thread-safe (the station serialises access)."""

    params: CellParameters = field(default_factory=CellParameters)
    soc: float = 0.0
    v1: float = 0.0
    v2: float = 0.0
    temperature_c: float = 0.0
    throughput_ah: float = 0.0
    current: float = 0.0

    def __post_init__(self) -> None:
        self.soc = self.params.soc
        self.temperature_c = self.params.ambient_c
        table = OCV_TABLES[self.params.chemistry]
        self._socs = [s for s, _ in table]
        self._volts = [v for _, v in table]

    # --- derived quantities -----------------------------------------------------------------

    @property
    def equivalent_full_cycles(self) -> float:
        return self.throughput_ah / (2.0 * self.params.capacity_ah)

    @property
    def capacity_ah(self) -> float:
        """The capacity now (it fades with throughput)."""
        return self.params.capacity_ah * max(
            0.05, 1.0 - self.params.fade_per_efc * self.equivalent_full_cycles
        )

    def ocv(self) -> float:
        soc = self.soc
        if soc <= 0.0:
            return self._volts[0] + RUNAWAY_SLOPE_LOW * soc
        if soc >= 1.0:
            return self._volts[-1] + RUNAWAY_SLOPE_HIGH * (soc - 1.0)
        index = bisect.bisect_right(self._socs, soc)
        s0, s1 = self._socs[index - 1], self._socs[index]
        v0, v1 = self._volts[index - 1], self._volts[index]
        return v0 + (v1 - v0) * (soc - s0) / (s1 - s0)

    def _scale(self) -> float:
        """Resistance factor for temperature and ageing."""
        kelvin = self.temperature_c + KELVIN
        reference = self.params.ambient_c + KELVIN
        arrhenius = math.exp(self.params.activation_k * (1.0 / kelvin - 1.0 / reference))
        return arrhenius * (1.0 + self.params.resistance_growth_per_efc * self.equivalent_full_cycles)

    def r0(self) -> float:
        return self.params.r0_ohm * self._scale()

    def source_voltage(self) -> float:
        """OCV plus the RC overpotentials: the terminal voltage at zero current right now."""
        return self.ocv() + self.v1 + self.v2

    def terminal_voltage(self, current: float) -> float:
        return self.source_voltage() + current * self.r0()

    # --- dynamics ---------------------------------------------------------------------------

    def step(self, current: float, seconds: float) -> None:
        """Carry ``current`` (A, + charge) for ``seconds``."""
        if seconds <= 0:
            return
        p = self.params
        scale = self._scale()
        voltage = self.terminal_voltage(current)
        heat = current * (voltage - self.ocv())
        charge = current * seconds / 3600.0
        if current > 0:
            charge *= p.coulombic_efficiency
        self.soc += charge / self.capacity_ah
        self.throughput_ah += abs(current) * seconds / 3600.0
        for name, resistance, tau in (("v1", p.r1_ohm, p.tau1_s), ("v2", p.r2_ohm, p.tau2_s)):
            decay = math.exp(-seconds / tau)
            target = current * resistance * scale
            setattr(self, name, target + (getattr(self, name) - target) * decay)
        # Exact solution of the linear thermal equation over the step, heat held constant.
        tau_th = p.heat_capacity_j_per_k / p.cooling_w_per_k
        equilibrium = p.ambient_c + heat / p.cooling_w_per_k
        self.temperature_c = equilibrium + (self.temperature_c - equilibrium) * math.exp(-seconds / tau_th)
        self.current = current
