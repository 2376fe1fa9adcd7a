"""Tests of the labdcs MQTT contract: models, codec, topics, JSON Schemas and the AsyncAPI document."""
