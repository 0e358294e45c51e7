"""The consumer loop every push worker runs: batch, handle, dead-letter, then commit.

Offsets are committed only after every record of a batch was applied or dead-lettered, so a
crash replays (never skips) the batch; handlers are written to be idempotent for that. A record
that cannot be parsed, or that Walmart refuses for good, goes to ``<prefix>.dlq.<worker>`` with
Kafka Connect's kind of headers (reason, Walmart error code, source topic/partition/offset) and
the worker moves on. A transient failure (Walmart 5xx after the client's own retries, the
database away) rewinds to the batch's first offsets and retries with exponential backoff and
jitter, so per-key order holds. Records are collected for a short window before handling, so
ten changes to one SKU become one push.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from kafka import (
    ConsumerRebalanceListener,
    KafkaConsumer,
    KafkaProducer,
    OffsetAndMetadata,
    TopicPartition,
)

from config import Settings
from plumbing.kafka import consumer_kwargs, ensure_topics, producer_kwargs, topic_name
from plumbing.logs import get_logger
from plumbing.metrics import METRICS
from sync_workers.runtime.status import ComponentStatus


@dataclass(slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    event: dict[str, Any] | None = None  # parsed JSON, when it parses


@dataclass
class DeadLetter:
    record: Record
    reason: str
    error_code: str | None = None


class TransientError(Exception):
    """Retry the whole batch later; nothing of it is committed."""


class BatchHandler(Protocol):
    name: str
    families: tuple[str, ...]
    # the event fields the handler reads (None: all): a batch holds up to workers.max_batch_records
    # parsed events, and slim ones keep a backlog's batch within a worker's memory budget
    event_fields: tuple[str, ...] | None

    def handle(self, records: list[Record]) -> list[DeadLetter]: ...

    def tick(self) -> None:
        """Work due without new records (feed polling, rechecks)."""
        ...


def dlq_topic(settings: Settings, worker: str) -> str:
    return topic_name(settings.kafka, f"dlq.{worker}")


class WorkerLoop:
    def __init__(self, settings: Settings, handler: BatchHandler, poll_timeout_ms: int = 200,
                 sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.handler = handler
        self.poll_timeout_ms = poll_timeout_ms
        self.sleep = sleep
        self.log = get_logger(f"worker.{handler.name}")
        self._stop = threading.Event()
        self.dead_lettered = 0
        self.batches = 0
        self.retries = 0
        self.running = threading.Event()
        self.assigned = threading.Event()  # joined its consumer group (ready: changes are consumed)
        self.status = ComponentStatus(settings, handler.name)
        self._max_poll_records = settings.kafka.tuning_for(handler.name).max_poll_records or 500

    def stop(self) -> None:
        self._stop.set()

    def _collect(self, consumer: KafkaConsumer) -> list[Record]:
        """Poll, then keep polling for ``coalesce_ms`` so a burst is handled as one batch.

        When polls come back full (a backlog: after a bulk import, or a restart), keep reading
        past the window, up to ``max_batch_records`` / ``max_batch_ms``: a batch naming every
        SKU of the backlog lets the worker choose singles or a feed for all of it at once,
        instead of spending the single budget slice by slice.
        """
        workers = self.settings.workers
        full = self._max_poll_records
        records: list[Record] = []
        window_ends: float | None = None
        hard_end = float("inf")
        while not self._stop.is_set():
            # idle: wait up to poll_timeout_ms; inside a window: never past its end
            timeout = self.poll_timeout_ms if window_ends is None else \
                max(0, int((window_ends - time.monotonic()) * 1000))
            polled = consumer.poll(timeout_ms=timeout)
            got = 0
            for partition_records in polled.values():
                got += len(partition_records)
                for r in partition_records:
                    records.append(Record(r.topic, r.partition, r.offset, r.key, r.value))
            if not records:
                return records
            now = time.monotonic()
            if window_ends is None:
                window_ends = now + workers.coalesce_ms / 1000
                hard_end = now + workers.max_batch_ms / 1000
            if not polled or len(records) >= workers.max_batch_records or now >= hard_end:
                return records
            if now >= window_ends and got < full:
                return records
        return records

    def run(self) -> None:
        kafka = self.settings.kafka
        topics = [topic_name(kafka, family) for family in self.handler.families]
        # with the configured partitions, not whatever a broker that auto-creates would pick when a
        # worker subscribes before the listener or a poller has created its topic
        ensure_topics(kafka, topics)
        consumer = KafkaConsumer(**consumer_kwargs(kafka, self.handler.name, f"walmart-sync-{self.handler.name}"))
        consumer.subscribe(topics, listener=_AssignmentLog(self.log, self.assigned))
        producer = KafkaProducer(**producer_kwargs(kafka, f"walmart-sync-{self.handler.name}-dlq"))
        self.status.start_heartbeat()
        attempt = 0
        try:
            while not self._stop.is_set():
                self.running.set()
                if hasattr(self.handler, "backlog_records"):
                    self.handler.backlog_records = _backlog(consumer)
                self.handler.tick()
                records = self._collect(consumer)
                if not records:
                    continue
                fields = getattr(self.handler, "event_fields", None)
                dead = [DeadLetter(r, "not a JSON change event", "MALFORMED_EVENT")
                        for r in records if not _parse(r, fields)]
                parsed = [r for r in records if r.event is not None]
                if hasattr(self.handler, "backlog_records"):
                    self.handler.backlog_records = _backlog(consumer)
                try:
                    dead += self.handler.handle(parsed) if parsed else []
                except TransientError as exc:
                    attempt += 1
                    self.retries += 1
                    pause = random.uniform(0, min(self.settings.workers.retry_cap_s,
                                                  self.settings.workers.retry_base_s * 2 ** attempt))
                    self.log.warning("batch failed; retrying", error=str(exc), attempt=attempt,
                                     pause_s=round(pause, 2), records=len(records))
                    METRICS.worker_retries.labels(self.handler.name).inc()
                    self.status.failed(str(exc))
                    _rewind(consumer, records)
                    self.sleep(pause)
                    continue
                attempt = 0
                for letter in dead:
                    self._dead_letter(producer, letter)
                producer.flush(timeout=30)
                consumer.commit(_next_offsets(records))
                self.batches += 1
                METRICS.worker_batches.labels(self.handler.name).inc()
                METRICS.worker_records.labels(self.handler.name).inc(len(records))
                METRICS.worker_last_success.labels(self.handler.name).set_to_current_time()
                self.status.succeeded()
                if dead:
                    self.status.failed(f"dead-lettered {len(dead)} record(s): {dead[-1].reason}")
        finally:
            producer.close(timeout=10)
            consumer.close()
            self.status.close()

    def _dead_letter(self, producer: KafkaProducer, letter: DeadLetter) -> None:
        record = letter.record
        headers = [
            ("dlq.reason", letter.reason.encode()),
            ("dlq.error.code", (letter.error_code or "").encode()),
            ("dlq.source.topic", record.topic.encode()),
            ("dlq.source.partition", str(record.partition).encode()),
            ("dlq.source.offset", str(record.offset).encode()),
            ("dlq.worker", self.handler.name.encode()),
            ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        producer.send(dlq_topic(self.settings, self.handler.name), key=record.key, value=record.value,
                      headers=headers)
        self.dead_lettered += 1
        METRICS.dead_letters.labels(self.handler.name, letter.error_code or "").inc()
        self.log.warning("dead-lettered a record", reason=letter.reason, code=letter.error_code,
                         topic=record.topic, partition=record.partition, offset=record.offset)


class _AssignmentLog(ConsumerRebalanceListener):
    """Rebalances are what an operator scaling workers out needs to see."""

    def __init__(self, log: Any, assigned: threading.Event):
        self.log = log
        self.assigned = assigned

    def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            self.log.info("partitions revoked", partitions=sorted(f"{tp.topic}/{tp.partition}" for tp in revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.assigned.set()
        self.log.info("partitions assigned", partitions=sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))


def _parse(record: Record, fields: tuple[str, ...] | None = None) -> bool:
    try:
        event = json.loads(record.value)
    except (ValueError, UnicodeDecodeError, TypeError):
        return False
    if not isinstance(event, dict) or not isinstance(event.get("family"), str):
        return False
    record.event = event if fields is None else {k: event[k] for k in fields if k in event}
    return True


def _backlog(consumer: KafkaConsumer) -> int:
    """Records fetched-but-not-consumed and not-yet-fetched, from the fetch high watermark (right
    on every broker; ListOffsets' end offset is not on the local one)."""
    total = 0
    for tp in consumer.assignment():
        high = consumer.highwater(tp)
        if high is None:
            continue
        try:
            total += max(0, high - consumer.position(tp, timeout_ms=0))
        except Exception:
            continue
    return total


def _rewind(consumer: KafkaConsumer, records: list[Record]) -> None:
    first: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        first[tp] = min(first.get(tp, r.offset), r.offset)
    for tp, offset in first.items():
        consumer.seek(tp, offset)


def _next_offsets(records: list[Record]) -> dict[TopicPartition, OffsetAndMetadata]:
    last: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        last[tp] = max(last.get(tp, -1), r.offset)
    return {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in last.items()}
