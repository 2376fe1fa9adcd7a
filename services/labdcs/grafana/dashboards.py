"""The labdcs dashboards: DCS overview, device detail, stack health, battery station.

Queries are built from :mod:`labdcs.grafana.queries` (names from the time-series mapping), units
from the quantities the services publish in their ``meta``. What the data can tell is found at run
time, not listed here: devices and channels are template variables filled from the tags, the
device detail's sensor values are every sensor field but bookkeeping, and the overview's power
panels select by the device-kind tag, so a new device, channel or sensor quantity needs no edit.

One module per dashboard (:mod:`~labdcs.grafana.overview`, :mod:`~labdcs.grafana.device`,
:mod:`~labdcs.grafana.stack_health`, :mod:`~labdcs.grafana.station`) on what they share
(:mod:`~labdcs.grafana.shared`, :mod:`~labdcs.grafana.events`); this module lists them and keeps
the names callers import from here.
"""

from __future__ import annotations

from labdcs.grafana.device import device_detail
from labdcs.grafana.overview import POWER_KINDS, overview
from labdcs.grafana.panels import Board
from labdcs.grafana.shared import DEVICE_UID, OVERVIEW_UID, STACK_UID, STATION_UID
from labdcs.grafana.stack_health import stack_health
from labdcs.grafana.station import station

#: What callers import from here (the provisioning, the tests).
__all__ = [
    "DEVICE_UID",
    "OVERVIEW_UID",
    "POWER_KINDS",
    "STACK_UID",
    "STATION_UID",
    "all_boards",
    "device_detail",
    "overview",
    "stack_health",
    "station",
]


def all_boards() -> list[Board]:
    return [overview(), device_detail(), stack_health(), station()]
