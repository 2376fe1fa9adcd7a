"""A broker that grows past one machine: NATS's MQTT gateway on a JetStream cluster (docs/scaling.md)."""
