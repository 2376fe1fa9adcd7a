"""A small, robust MQTT connection used by every labdcs process."""

from labdcs.mqtt.connection import MqttConnection, Will

__all__ = ["MqttConnection", "Will"]
