"""One log format for every labdcs process: timestamped lines on stderr, collected by the runner."""

from __future__ import annotations

import logging


def configure(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        force=True,
    )
    logging.getLogger("labdcs.mqtt.connection.paho").setLevel(logging.WARNING)
