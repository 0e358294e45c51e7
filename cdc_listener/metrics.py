"""The listener's metrics, named in the style of Debezium's MySQL connector metrics."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge


class ListenerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.seconds_behind_source = Gauge(
            "walmart_sync_cdc_seconds_behind_source",
            "Binlog timestamp of the event being processed vs now; 0 when caught up", registry=r)
        self.rows = Counter("walmart_sync_cdc_rows_total", "Row changes read from watched tables",
                            ["table", "op"], registry=r)
        self.events = Counter("walmart_sync_cdc_events_total", "Change events published",
                              ["family", "type"], registry=r)
        self.acked = Counter("walmart_sync_cdc_events_acked_total",
                             "Change events acknowledged by Kafka", ["family"], registry=r)
        self.reconnects = Counter("walmart_sync_cdc_reconnects_total",
                                  "Binlog stream reconnects (errors and watchdog)", registry=r)
        self.publisher_restarts = Counter(
            "walmart_sync_cdc_publisher_restarts_total", "Times the active listener published again from its "
            "checkpoint because Kafka did not acknowledge events", registry=r)
        self.transactions = Counter("walmart_sync_cdc_transactions_total",
                                    "Source transactions read", registry=r)
        self.in_flight = Gauge("walmart_sync_cdc_in_flight_events",
                               "Events sent and not yet acknowledged", registry=r)
        self.active = Gauge("walmart_sync_cdc_active", "1 while this listener is the active one",
                            registry=r)
        self._last_event = 0.0
        self._last_checkpoint = 0.0
        Gauge("walmart_sync_cdc_last_event_age_seconds", "Seconds since the last row event",
              registry=r).set_function(lambda: time.time() - self._last_event if self._last_event else -1)
        Gauge("walmart_sync_cdc_checkpoint_age_seconds", "Seconds since the last checkpoint write",
              registry=r).set_function(
                  lambda: time.time() - self._last_checkpoint if self._last_checkpoint else -1)

    def saw_event(self) -> None:
        self._last_event = time.time()

    def checkpointed(self) -> None:
        self._last_checkpoint = time.time()
