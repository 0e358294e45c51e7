"""`walmart-sync work order_poller`: Walmart orders -> ``<prefix>.walmart_orders`` on Kafka.

Every ``workers.order_poll_s`` it asks GET /v3/orders for orders modified since the last poll
began, minus ``order_poll_overlap_s`` (Walmart's clock, indexing delay and a crash between
publishing and saving the watermark cannot then lose an order at a window's edge), follows the
cursor through every page, and publishes each order keyed by purchaseOrderId. The watermark is
saved only after Kafka acknowledged everything published, like the listener's checkpoint, so a
crash re-publishes (the importer is idempotent) and never skips. Orders modified later (a line
Walmart cancelled, a customer's intent to cancel) come again and the importer notices.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone

from kafka import KafkaProducer

from config import Settings
from sync_workers.order_map import OrderMap
from sync_workers.walmart.client import WalmartClient
from walmart_sync.kafka_clients import ensure_topics, producer_kwargs, topic_name
from walmart_sync.logs import get_logger

WATERMARK = "orders"
FAMILY = "walmart_orders"


def _iso(ms: int) -> str:
    """Walmart's date filters take whole seconds (it refuses milliseconds); rounded down."""
    return datetime.fromtimestamp(ms // 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class OrderPoller:
    name = "order_poller"

    def __init__(self, settings: Settings, client: WalmartClient, orders: OrderMap,
                 producer: KafkaProducer | None = None):
        self.settings = settings
        self.client = client
        self.orders = orders
        self.producer = producer or KafkaProducer(**producer_kwargs(settings.kafka, "walmart-sync-order-poller"))
        self.topic = topic_name(settings.kafka, FAMILY)
        ensure_topics(settings.kafka, [self.topic])
        self.log = get_logger("order_poller")
        self._stop = threading.Event()
        self.running = threading.Event()
        self.polls = 0
        self.published = 0
        self.last_success: float | None = None  # wall clock of the last complete poll (freshness)

    def stop(self) -> None:
        self._stop.set()

    def poll_once(self) -> int:
        started_ms = int(time.time() * 1000)
        workers = self.settings.workers
        since = self.orders.watermark(WATERMARK)
        if since is None:
            since = started_ms - int(workers.order_initial_lookback_h * 3600 * 1000)
        since -= int(workers.order_poll_overlap_s * 1000)
        count = 0
        futures = []
        for order in self.client.orders.list_orders(lastModifiedStartDate=_iso(since)):
            envelope = {"schema_version": 1, "family": FAMILY, "type": "order", "key": order.purchaseOrderId,
                        "polled_at": started_ms, "order": order.model_dump(mode="json", exclude_none=True)}
            futures.append(self.producer.send(self.topic, key=order.purchaseOrderId.encode(),
                                              value=json.dumps(envelope).encode()))
            count += 1
        self.producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)  # raises if Kafka refused one: the watermark then stays put
        self.orders.set_watermark(WATERMARK, started_ms)
        self.polls += 1
        self.published += count
        self.last_success = time.time()
        if count:
            self.log.info("orders polled", published=count, since=_iso(since))
        return count

    def run(self) -> None:
        attempt = 0
        try:
            while not self._stop.is_set():
                self.running.set()
                try:
                    self.poll_once()
                    attempt = 0
                    wait = self.settings.workers.order_poll_s
                except Exception as exc:  # noqa: BLE001 - Walmart, Kafka or the state store: keep polling;
                    # the watermark holds, so nothing is skipped
                    attempt += 1
                    wait = min(self.settings.workers.retry_cap_s,
                               self.settings.workers.retry_base_s * 2 ** attempt)
                    self.log.warning("order poll failed; will retry", error=str(exc), attempt=attempt,
                                     pause_s=round(wait, 2))
                self._stop.wait(wait)
        finally:
            self.producer.close(timeout=10)

    def ready(self) -> tuple[bool, str]:
        if self.last_success is None:
            return False, "no complete poll yet"
        age = time.time() - self.last_success
        return age < max(60.0, 10 * self.settings.workers.order_poll_s), f"last poll {age:.1f}s ago"


