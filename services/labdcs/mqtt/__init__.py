"""A small, robust MQTT connection used by every labdcs process."""

from labdcs.mqtt.connection import MqttConnection, Will, owned_id

__all__ = ["MqttConnection", "Will", "owned_id"]
