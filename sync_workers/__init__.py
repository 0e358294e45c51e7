"""Kafka consumer groups that push changes to Walmart, and pollers that pull from it."""
