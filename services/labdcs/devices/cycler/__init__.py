"""Battery stations (device kind ``cycler``): configuration, protocol engine and device service."""
