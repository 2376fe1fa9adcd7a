"""A power channel brought in line with its configuration and its instrument.

At every connection the channel's limits become the tighter of the configured and the instrument's
ones, and what the instrument does is adopted (never switched on because the service started);
then a setpoint or current limit found outside the limits is brought back in (never up), and the
configured current limit is programmed once per run. Between connections, a change made behind the
service's back (front panel, hardware interlock) is followed, not fought.
"""

from __future__ import annotations

import logging
import math
import time

from labdcs.contract.models import PowerLimits, Severity
from labdcs.devices.alarms import DeviceAlarms
from labdcs.devices.config import ChannelConfig
from labdcs.devices.power import PowerChannel
from labdcs.drivers.base import OutputLimits, PowerSupplyDriver

#: The device service's logger: its lines keep one name, whichever module writes them.
log = logging.getLogger("labdcs.devices.service")

LIMITS_ALARM = "limits"


def effective_limits(channel: ChannelConfig, instrument: OutputLimits | None) -> PowerLimits:
    """The tighter of what the configuration allows and what the instrument can do."""
    assert channel.max_voltage is not None and channel.max_current is not None
    assert channel.ramp_rate is not None
    max_voltage, min_voltage, max_current = channel.max_voltage, channel.min_voltage, channel.max_current
    if instrument is not None:
        max_voltage = min(max_voltage, instrument.max_voltage)
        min_voltage = max(min_voltage, instrument.min_voltage)
        max_current = min(max_current, instrument.max_current)
    return PowerLimits(
        max_voltage=max_voltage,
        min_voltage=min_voltage,
        max_current=max_current,
        ramp_rate=channel.ramp_rate,
        max_ramp_rate=channel.max_ramp_rate or channel.ramp_rate,
    )


def enforce_limits_after_connect(
    device: str, channel: PowerChannel, driver: PowerSupplyDriver, alarms: DeviceAlarms
) -> None:
    """Found outside the limits (the configuration got tighter): bring it back in, never up."""
    limits = channel.limits
    if channel.i_limit > limits.max_current:
        log.warning(
            "%s/%s: current limit %s A above %s A; lowering it",
            device,
            channel.id,
            channel.i_limit,
            limits.max_current,
        )
        driver.set_current_limit(channel.hw, limits.max_current)
        channel.i_limit = limits.max_current
    inside = min(max(channel.v_set, limits.min_voltage), limits.max_voltage)
    if inside != channel.v_set:
        message = (
            f"setpoint {channel.v_set} V found outside the limits "
            f"[{limits.min_voltage}, {limits.max_voltage}] V; ramping to {inside} V"
        )
        alarms.raise_alarm(LIMITS_ALARM, Severity.WARNING, message, channel.id)
        channel.v_target = inside
        if not channel.output:
            driver.set_voltage(channel.hw, inside)
            channel.v_set = inside
        channel.last_step = time.monotonic()


def apply_configured_current_limit(
    device: str, channel: PowerChannel, config: ChannelConfig, driver: PowerSupplyDriver
) -> None:
    """The configured current limit, once per run; an output found on keeps the limit it runs with."""
    wanted = config.current_limit
    if wanted is None:
        return
    wanted = min(wanted, channel.limits.max_current)
    if math.isclose(channel.i_limit, wanted, rel_tol=1e-3):
        return
    if channel.output:
        log.warning(
            "%s/%s: output found on: its current limit stays %s A (configured: %s A)",
            device,
            channel.id,
            channel.i_limit,
            wanted,
        )
        return
    log.info("%s/%s: current limit %s A -> %s A (configured)", device, channel.id, channel.i_limit, wanted)
    driver.set_current_limit(channel.hw, wanted)
    channel.i_limit = wanted


def follow_instrument(device: str, channel: PowerChannel, output_on: bool, setpoint: float) -> None:
    """Someone changed the instrument behind our back (front panel, hardware interlock): adopt it."""
    if output_on != channel.output:
        log.warning(
            "%s/%s: output is %s on the instrument, expected %s; following the instrument",
            device,
            channel.id,
            "on" if output_on else "off",
            "on" if channel.output else "off",
        )
        channel.output = output_on
        channel.switching_off = False
        channel.pending_off_since = None
        channel.v_set = setpoint
        channel.v_target = setpoint
    elif not channel.ramping and abs(setpoint - channel.v_set) > 1e-6 * max(1.0, abs(setpoint)):
        log.warning(
            "%s/%s: instrument setpoint is %s V, expected %s V; following the instrument",
            device,
            channel.id,
            setpoint,
            channel.v_set,
        )
        channel.v_set = setpoint
        channel.v_target = setpoint
