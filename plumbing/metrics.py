"""Every Prometheus metric walmart-sync exposes, in one registry per process, served on /metrics.

Names follow Debezium's connector metrics (seconds behind source, events by table) and
kafka-lag-exporter (consumer lag in messages and seconds per group, topic and partition). The
listener's own metrics are cdc_listener/metrics.py's and join this registry when a process runs
one. deploy/ (the Grafana dashboard and the alert rules) may reference only names defined here or
there: a test checks it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

GROUP_STATUS_CODES = {"OK": 0, "WARN": 1, "STALL": 2, "STOP": 3, "ERR": 4}


class SidecarMetrics:
    def __init__(self, registry: CollectorRegistry):
        r = registry
        # Walmart API
        self.walmart_requests = Counter(
            "walmart_sync_walmart_requests_total", "Walmart API requests by API and outcome "
            "(ok, client_error, server_error, throttled, network_error; withheld: not sent, shadow mode)",
            ["api", "outcome"], registry=r)
        self.walmart_seconds = Histogram(
            "walmart_sync_walmart_request_duration_seconds", "Walmart API request latency", ["api"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=r)
        self.walmart_tokens = Gauge(
            "walmart_sync_walmart_rate_limit_tokens", "Tokens left in the API's bucket (Walmart's count, "
            "corrected for requests in flight)", ["api"], registry=r)
        self.walmart_throttled_seconds = Counter(
            "walmart_sync_walmart_throttled_seconds_total", "Time spent waiting for Walmart's rate limits: for a "
            "token (bucket_wait) or after a 429 (throttled)", ["api", "reason"], registry=r)
        # consumer loops (push workers and importers)
        self.worker_records = Counter("walmart_sync_worker_records_total", "Records handled", ["worker"], registry=r)
        self.worker_batches = Counter("walmart_sync_worker_batches_total", "Batches committed", ["worker"], registry=r)
        self.worker_retries = Counter("walmart_sync_worker_retries_total", "Batches retried after a transient "
                                      "failure", ["worker"], registry=r)
        self.worker_commit_failures = Counter(
            "walmart_sync_worker_commit_failures_total", "Offset commits Kafka did not take after a batch was applied: "
            "the group rebalanced (rebalanced: the partitions' owner handles the batch again) or the coordinator "
            "was unreachable (unavailable: the offsets go with the next commit)", ["worker", "reason"], registry=r)
        self.dead_letters = Counter("walmart_sync_dead_letters_total", "Records sent to the dead-letter topic",
                                    ["worker", "code"], registry=r)
        self.walmart_clock_skew = Gauge("walmart_sync_walmart_clock_skew_seconds",
                                        "Walmart's clock minus this host's, from its Date headers", registry=r)
        self.parked_records = Gauge("walmart_sync_parked_records", "Records parked until due (arrived early)",
                                    ["worker"], registry=r)
        self.parked_oldest_seconds = Gauge("walmart_sync_parked_oldest_seconds",
                                           "How long the oldest parked record has waited", ["worker"], registry=r)
        self.worker_last_success = Gauge(
            "walmart_sync_worker_last_success_timestamp_seconds", "When the worker last committed a batch",
            ["worker"], registry=r)
        # records Kafka lost (plumbing/gaps.py): found by the component that produced or consumed them,
        # repaired by the one that can bring that family back from Commerce or Walmart
        self.kafka_gaps_detected = Counter(
            "walmart_sync_kafka_gaps_detected_total", "Partitions found not to continue what the sidecar produced or "
            "consumed (records Kafka lost), by family and the component that found it", ["family", "component"],
            registry=r)
        self.kafka_gaps_repaired = Counter(
            "walmart_sync_kafka_gaps_repaired_total", "Kafka gaps repaired from the source of truth (a full comparison, "
            "every open order reconciled, or a poll again from a safe point)", ["family", "component"], registry=r)
        self.kafka_gaps_open = Gauge(
            "walmart_sync_kafka_gaps_open", "Kafka gaps found and not yet repaired, per family (from the state store)",
            ["family"], registry=r)
        self.worker_consumer_rebuilds = Counter(
            "walmart_sync_worker_consumer_rebuilds_total", "Kafka consumers the group watchdog closed and built "
            "again: out of the consumer group, or not consuming while records waited, for workers.group_watchdog_s",
            ["worker"], registry=r)
        self.worker_offsets_restored = Counter(
            "walmart_sync_worker_offsets_restored_total", "Partitions whose committed offset Kafka no longer had, "
            "resumed at the offset the state store's ledger holds instead of auto_offset_reset", ["worker"],
            registry=r)
        # Walmart -> Commerce
        self.order_import_delay = Histogram(
            "walmart_sync_order_import_delay_seconds", "Walmart order created -> Commerce order created",
            buckets=(1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600), registry=r)
        self.poll_last_success = Gauge(
            "walmart_sync_poll_last_success_timestamp_seconds", "When the poller last completed a poll",
            ["poller"], registry=r)
        self.polls = Counter("walmart_sync_polls_total", "Polls of Walmart by outcome (ok, failed)",
                             ["poller", "outcome"], registry=r)
        self.polled_documents = Counter("walmart_sync_polled_documents_total", "Documents published by pollers",
                                        ["poller"], registry=r)
        # reconciliation against what Walmart shows (sync_workers/push/reconcile.py)
        self.drift_found = Counter(
            "walmart_sync_drift_found_total", "Differences between what Walmart shows and what Commerce says, found "
            "by the reconciler, by kind (quantity, price, unpublished, missing); one seen again counts again",
            ["kind"], registry=r)
        self.drift_fixed = Counter(
            "walmart_sync_drift_fixed_total", "Differences the reconciler had the workers push again", ["kind"],
            registry=r)
        self.reconciled_items = Counter("walmart_sync_reconciled_items_total", "Items read back from Walmart and "
                                        "compared with Commerce", registry=r)
        # the lag sampler's view of every stage (whichever process runs it)
        self.consumer_lag_messages = Gauge(
            "walmart_sync_consumer_lag_messages", "Messages not yet committed by the group, from the fetch high "
            "watermark", ["group", "topic", "partition"], registry=r)
        self.consumer_lag_seconds = Gauge(
            "walmart_sync_consumer_lag_seconds", "Age of the oldest message the group has not committed",
            ["group", "topic", "partition"], registry=r)
        self.consumer_group_status = Gauge(
            "walmart_sync_consumer_group_status", "Burrow-style status: 0 OK, 1 WARN, 2 STALL, 3 STOP, 4 ERR",
            ["group"], registry=r)
        self.consumer_group_members = Gauge("walmart_sync_consumer_group_members", "Active members of the group",
                                            ["group"], registry=r)
        self.stream_pending_age = Gauge(
            "walmart_sync_stream_pending_age_seconds", "Age of the oldest change not yet confirmed by Walmart, per "
            "stream (inventory, price, shipment, cancellation, refund)", ["stream"], registry=r)
        self.stream_waiting = Gauge(
            "walmart_sync_stream_waiting_values", "Values Walmart will not take yet, waiting until it will (a price "
            "within 24 h of the item's setup): deferred, neither failed nor dead-lettered", ["stream"], registry=r)
        self.binlog_lag_seconds = Gauge(
            "walmart_sync_binlog_lag_seconds", "The listener's checkpoint behind the Commerce binlog (0 when "
            "caught up)", registry=r)
        self.poll_age_seconds = Gauge("walmart_sync_poll_age_seconds", "Seconds since the poller's last complete "
                                      "poll (from the state store)", ["poller"], registry=r)
        self.dead_letter_queue = Gauge("walmart_sync_dead_letter_queue_messages", "Messages in the worker's "
                                       "dead-letter topic not replayed", ["worker"], registry=r)
        self.listings = Gauge("walmart_sync_listings", "Listings by status", ["status"], registry=r)
        self.listing_searches = Counter("walmart_sync_listing_searches_total", "Drafts looked up in Walmart's "
                                        "catalogue by the matcher, by outcome (candidate, unmatched, error; matched: "
                                        "already listed by the seller), each written as it came", ["outcome"],
                                        registry=r)
        self.orders_open = Gauge("walmart_sync_orders_not_settled", "Walmart orders neither acknowledged nor "
                                 "failed yet, and the oldest's age", ["measure"], registry=r)
        self.orders_at_deadline = Gauge("walmart_sync_orders_at_deadline", "Walmart orders at risk of one of "
                                        "Walmart's deadlines (inside the margin) or past it (late)",
                                        ["deadline", "state"], registry=r)
        self.drift_open = Gauge("walmart_sync_drift_open", "Differences between Walmart and Commerce standing now "
                                "(the reconciler's last reads), by kind", ["kind"], registry=r)
        self.drift_cycle_age = Gauge("walmart_sync_reconcile_age_seconds", "Seconds since the reconciler last "
                                     "compared a slice of items with Walmart", registry=r)
        self.stage_over_threshold = Gauge("walmart_sync_stage_over_threshold", "1 while a stage is over its "
                                          "threshold (what `walmart-sync lag` exits non-zero for)", ["stage"],
                                          registry=r)


METRICS = SidecarMetrics(REGISTRY)
