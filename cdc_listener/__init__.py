"""Reads the Commerce binlog and publishes typed change events to Kafka."""
