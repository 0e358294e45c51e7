"""`walmart-sync work order_poller|return_poller`: Walmart's orders and returns -> Kafka.

Walmart has no push for either (its notifications need a public endpoint the sidecar does not
have), so each poller asks every few seconds for what was modified since the previous poll
began, minus an overlap (Walmart's clock, its indexing delay and a crash between publishing and
saving the watermark cannot then lose anything at a window's edge), follows the cursor through
every page, and publishes each document keyed by its id. The watermark is saved only after Kafka
acknowledged everything published, like the listener's checkpoint, so a crash re-publishes (the
importers are idempotent) and never skips. A document polled again unchanged (the overlap) is not
published again: a hash of what was last published is kept per document. Documents modified later
(a line Walmart cancelled, a customer's intent to cancel, a return delivered) come again and the
importers notice.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pymysql
from kafka import KafkaProducer

from config import Settings
from domain.events import PolledDocument, PolledFamily, PolledType
from plumbing.db import revive
from plumbing.gaps import GapWatch, OpenGap
from plumbing.kafka import ensure_topics, producer_kwargs, send_acknowledged, topic_name
from plumbing.logs import get_logger
from plumbing.metrics import METRICS
from plumbing.retry import backoff_delay
from sync_workers.runtime.status import ComponentStatus
from sync_workers.stores.order_map import OrderMap
from sync_workers.walmart.client import WalmartClient

# Brokers refuse a message over message.max.bytes (1 MB by default), producers one over
# max_request_size (1 MB): a document past that can never be published, however often it is polled
MAX_DOCUMENT_BYTES = 1_000_000
CLOCK_SKEW_WARN_S = 5.0
ORDERS_WINDOW_MS = 179 * 86_400_000  # GET /v3/orders reaches back 180 days


def _iso(ms: int) -> str:
    """Walmart's date filters take whole seconds (orders refuse milliseconds); rounded down."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document_key(document: Any, id_field: str) -> str:
    """The document's id, or for a document without one a stable stand-in (the importer
    dead-letters it with the reason; the poller must not stop on it)."""
    if isinstance(document, dict) and document.get(id_field):
        return str(document[id_field])[:32]
    return "no-id-" + hashlib.sha1(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()[:20]


class WalmartPoller:
    """One Walmart listing polled by a modification watermark onto one topic."""

    name: str
    family: PolledFamily  # topic suffix, and the envelope's family
    doc_type: PolledType  # the envelope's type and the key of the document in it
    watermark_name: str

    def __init__(self, settings: Settings, client: WalmartClient, orders: OrderMap,
                 producer: KafkaProducer | None = None):
        self.settings = settings
        self.client = client
        self.orders = orders
        self.producer = producer or KafkaProducer(**producer_kwargs(settings.kafka, f"walmart-sync-{self.name}"))
        self.topic = topic_name(settings.kafka, self.family)
        ensure_topics(settings.kafka, [self.topic])
        self.log = get_logger(self.name)
        self._stop = threading.Event()
        self.running = threading.Event()
        self.polls = 0
        self.published = 0
        self.failures = 0
        self.last_success: float | None = None  # wall clock of the last complete poll (freshness)
        self.last_error: str | None = None
        self.status = ComponentStatus(settings, self.name)
        # what Kafka acknowledged per partition, beside the watermark: a topic that no longer holds it
        # lost documents the watermark is already past (plumbing/gaps.py); the poller polls again
        self.gaps = GapWatch(settings, self.name, "produced", (self.family,))

    @property
    def interval_s(self) -> float:
        raise NotImplementedError

    def fetch(self, since_ms: int) -> Iterator[tuple[str, dict[str, Any]]]:
        """(key, document) for everything Walmart modified since ``since_ms``."""
        raise NotImplementedError

    def refuse(self, key: str, reason: str) -> None:
        """A document that cannot be published: logged and counted; the order poller records it."""
        self.log.error(f"a Walmart {self.doc_type} cannot be published", key=key, reason=reason)
        METRICS.polls.labels(self.name, "refused_document").inc()

    def stop(self) -> None:
        self._stop.set()

    def poll_once(self) -> int:
        # The watermark is Walmart's time, never this host's: a host clock 3 minutes ahead, with a
        # 2-minute overlap, skipped every new order. A token (if due) is fetched first, so at least
        # one Date header has set the skew before the poll's start is taken.
        self.client.access_token()
        started_ms = self.client.walmart_now_ms()
        if abs(self.client.clock_skew_s) > CLOCK_SKEW_WARN_S:
            self.log.warning("this host's clock differs from Walmart's", skew_s=round(self.client.clock_skew_s, 1))
        workers = self.settings.workers
        self.gaps.maybe_check()
        repairing = self.gaps.to_repair()
        since = self.orders.watermark(self.watermark_name)
        if since is None:
            since = started_ms - int(workers.order_initial_lookback_h * 3600 * 1000)
        if repairing:
            since = min(since, self.safe_point(started_ms, repairing))
        since -= int(workers.order_poll_overlap_s * 1000)
        documents = {key: document for key, document in self.fetch(since)}
        # after a loss every document of the window is published again, unchanged or not: the
        # importers are idempotent, and what was published before may be what Kafka lost
        seen = {} if repairing else self.orders.published(self.watermark_name, list(documents))
        messages: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = []
        hashes = {}
        for key, document in documents.items():
            content = json.dumps(document, sort_keys=True)
            digest = hashlib.sha1(content.encode()).hexdigest()
            if seen.get(key) == digest:
                continue  # polled again in the overlap, unchanged
            hashes[key] = digest
            envelope = PolledDocument.wrap(self.family, self.doc_type, key, started_ms, document).to_json()
            if len(envelope) > MAX_DOCUMENT_BYTES:
                # a 2 MB address once made every poll fail with MessageSizeTooLargeError: the document
                # is recorded as refused (support sees it, with its size) and the others go on
                self.refuse(key, f"{self.doc_type} of {len(envelope):,} bytes is larger than a Kafka message "
                                 f"may be ({MAX_DOCUMENT_BYTES:,}); not imported")
                continue
            messages.append((self.topic, key.encode(), envelope, []))
        # raises if Kafka refused one: the watermark then stays put
        acked = send_acknowledged(self.producer, messages)
        offsets: dict[tuple[str, int], tuple[int, int]] = {}
        for meta in acked:
            low, high = offsets.get((meta.topic, meta.partition), (meta.offset, meta.offset))
            offsets[(meta.topic, meta.partition)] = (min(low, meta.offset), max(high, meta.offset))
        self.gaps.produced(offsets)
        self.gaps.flush()
        self.orders.mark_published(self.watermark_name, hashes)
        self.orders.set_watermark(self.watermark_name, started_ms)
        if repairing:
            self.gaps.mark_repaired(repairing)
            self.log.warning(f"Walmart {self.doc_type}s polled again after records were lost in Kafka",
                             since=_iso(since), published=len(messages))
        if self.polls % 100 == 0:  # only documents inside the overlap can come again
            self.orders.prune_published(self.watermark_name, 2 * workers.order_poll_overlap_s + 3600)
        self.polls += 1
        self.published += len(messages)
        self.last_success = time.time()
        self.last_error = None
        METRICS.polls.labels(self.name, "ok").inc()
        METRICS.poll_last_success.labels(self.name).set(self.last_success)
        METRICS.polled_documents.labels(self.name).inc(len(messages))
        self.status.succeeded()
        if messages:
            self.log.info(f"{self.doc_type}s polled", published=len(messages), since=_iso(since))
        return len(messages)

    def safe_point(self, started_ms: int, gaps: list[OpenGap]) -> int:
        """Where to poll again from after Kafka lost documents: the poll that published the oldest of
        the last records each partition still holds (every later document came in a later record),
        or, when a partition holds nothing, as far back as a first start looks."""
        last = self.gaps.last_polled_at(self.family)
        if last is not None:
            return last
        return started_ms - int(self.settings.workers.order_initial_lookback_h * 3600 * 1000)

    def run(self) -> None:
        attempt = 0
        self.status.start_heartbeat()
        self.gaps.maybe_check(force=True)  # on start: does the topic still hold what was acknowledged?
        try:
            self.orders.set_interval(self.watermark_name, self.interval_s)  # what `lag` shows as this poller's pace
        except pymysql.MySQLError as exc:
            self.log.warning("could not record the poll interval", error=str(exc))
        try:
            while not self._stop.is_set():
                self.running.set()
                try:
                    self.poll_once()
                    attempt = 0
                    wait = self.interval_s
                except Exception as exc:
                    # the watermark holds, so nothing is skipped
                    attempt += 1
                    self.failures += 1
                    self.last_error = str(exc)
                    METRICS.polls.labels(self.name, "failed").inc()
                    self.status.failed(f"poll failed: {exc}")
                    wait = backoff_delay(attempt, self.settings.workers.retry_base_s,
                                         self.settings.workers.retry_cap_s)
                    self.log.warning("poll failed; will retry", error=str(exc), attempt=attempt,
                                     pause_s=round(wait, 2))
                    revive([self.orders.conn])
                self._stop.wait(wait)
        finally:
            self.producer.close(timeout=10)
            self.status.close()
            self.gaps.close()

    def ready(self) -> tuple[bool, str]:
        if self.gaps.open:
            return False, "documents lost in Kafka; polling again from a safe point"
        if self.last_success is None:
            return False, "no complete poll yet"
        age = time.time() - self.last_success
        return age < max(60.0, 10 * self.interval_s), f"last poll {age:.1f}s ago"


class OrderPoller(WalmartPoller):
    """GET /v3/orders by lastModifiedStartDate (5000/min): new orders, Walmart-side cancellations,
    customers' intent to cancel."""

    name = "order_poller"
    family = "walmart_orders"
    doc_type = "order"
    watermark_name = "orders"

    @property
    def interval_s(self) -> float:
        return self.settings.workers.order_poll_s

    def refuse(self, key: str, reason: str) -> None:
        super().refuse(key, reason)
        self.orders.set_state(key[:32], "failed_too_large", error=reason)  # Walmart's clock runs: lag shows it

    def fetch(self, since_ms: int) -> Iterator[tuple[str, dict[str, Any]]]:
        # createdStartDate defaults to 7 days back even when lastModifiedStartDate is given: a late
        # cancellation or intent to cancel of an older open order would never be seen. The whole
        # window Walmart keeps (180 days, a day's margin inside it) is asked for instead.
        created_since = self.client.walmart_now_ms() - ORDERS_WINDOW_MS
        for order in self.client.orders.order_documents(lastModifiedStartDate=_iso(since_ms),
                                                        createdStartDate=_iso(created_since)):
            yield document_key(order, "purchaseOrderId"), order
        if self.settings.workers.wfs_orders == "import":
            # Walmart lists seller-fulfilled orders unless asked for another shipNodeType: WFS
            # orders come only from a listing of their own
            for order in self.client.orders.order_documents(lastModifiedStartDate=_iso(since_ms),
                                                            createdStartDate=_iso(created_since),
                                                            shipNodeType="WFSFulfilled"):
                yield document_key(order, "purchaseOrderId"), order


class ReturnPoller(WalmartPoller):
    """GET /v3/returns by returnLastModifiedStartDate (50/min): new returns and their progress
    (delivered to the return centre, refunded)."""

    name = "return_poller"
    family = "walmart_returns"
    doc_type = "return"
    watermark_name = "returns"

    @property
    def interval_s(self) -> float:
        return self.settings.workers.return_poll_s

    def fetch(self, since_ms: int) -> Iterator[tuple[str, dict[str, Any]]]:
        for found in self.client.returns.return_documents(limit=200, returnLastModifiedStartDate=_iso(since_ms)):
            yield document_key(found, "returnOrderId"), found


POLLER_CLASSES: dict[str, type[WalmartPoller]] = {"order_poller": OrderPoller, "return_poller": ReturnPoller}
