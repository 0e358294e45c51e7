"""Change capture from an existing Debezium: its per-table topics -> walmart-sync change events."""
