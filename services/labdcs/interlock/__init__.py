"""The interlock service: declarative rules evaluated on the live contract, a heartbeat for the
devices' watchdogs, latched rules with operator resets. See ``docs/safety.md``."""
