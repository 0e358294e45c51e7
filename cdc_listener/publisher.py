"""Publish change events to Kafka and know which binlog position is safe to checkpoint.

A position is safe when every event of every transaction before it was acknowledged (acks=all,
idempotent producer). Acks arrive on kafka-python's I/O thread and out of order across
partitions, so each transaction is a slot holding a count of outstanding sends; the safe
position is the end of the longest prefix of closed slots with nothing outstanding. Memory is
one slot per in-flight transaction, not per event, so a 50,000-row transaction costs a counter.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from cdc_listener.events import FAMILIES, ChangeEvent
from cdc_listener.position import BinlogPosition
from config.settings import KafkaSettings
from walmart_sync.kafka_clients import connection_kwargs, producer_kwargs, topic_name


@dataclass
class _Slot:
    outstanding: int = 0
    closed: bool = False
    position: BinlogPosition | None = None
    binlog_ts_ms: int | None = None


class TransactionTracker:
    def __init__(self) -> None:
        self._slots: deque[_Slot] = deque()
        self._lock = threading.Lock()
        self._safe: tuple[BinlogPosition, int | None] | None = None

    def open(self) -> _Slot:
        slot = _Slot()
        with self._lock:
            self._slots.append(slot)
        return slot

    def sent(self, slot: _Slot) -> None:
        with self._lock:
            slot.outstanding += 1

    def acked(self, slot: _Slot) -> None:
        with self._lock:
            slot.outstanding -= 1
            self._advance()

    def close(self, slot: _Slot, position: BinlogPosition | None, binlog_ts_ms: int | None) -> None:
        """End a transaction; ``position`` None abandons it (re-read after a reconnect)."""
        with self._lock:
            slot.closed, slot.position, slot.binlog_ts_ms = True, position, binlog_ts_ms
            self._advance()

    def _advance(self) -> None:
        while self._slots and self._slots[0].closed and self._slots[0].outstanding == 0:
            slot = self._slots.popleft()
            if slot.position is not None:
                self._safe = (slot.position, slot.binlog_ts_ms)

    def safe(self) -> tuple[BinlogPosition, int | None] | None:
        with self._lock:
            return self._safe

    def in_flight(self) -> int:
        with self._lock:
            return sum(s.outstanding for s in self._slots)


class KafkaPublisher:
    def __init__(self, kafka: KafkaSettings, client_id: str = "walmart-sync-listener",
                 on_ack: Callable[[ChangeEvent], None] | None = None):
        self.kafka = kafka
        self.topics = {family: topic_name(kafka, family) for family in FAMILIES}
        self.tracker = TransactionTracker()
        self.failure: BaseException | None = None
        self._on_ack = on_ack
        self._producer = KafkaProducer(**producer_kwargs(kafka, client_id))

    def ensure_topics(self) -> None:
        admin = KafkaAdminClient(**connection_kwargs(self.kafka, "walmart-sync-listener-admin"))
        try:
            for topic in self.topics.values():
                try:
                    admin.create_topics([NewTopic(topic, self.kafka.partitions,
                                                  self.kafka.replication_factor)])
                except TopicAlreadyExistsError:
                    pass
        finally:
            admin.close()

    def send(self, event: ChangeEvent, slot: _Slot) -> None:
        if self.failure is not None:
            raise self.failure
        self.tracker.sent(slot)
        headers = [("event_type", f"{event.family}.{event.type}".encode()),
                   ("event_id", event.event_id.encode()),
                   ("schema_version", str(event.schema_version).encode())]
        future = self._producer.send(self.topics[event.family], key=event.key.encode(),
                                     value=event.model_dump_json().encode(), headers=headers)
        future.add_callback(self._acked, slot, event)
        future.add_errback(self._failed, slot)

    def _acked(self, slot: _Slot, event: ChangeEvent, _metadata: Any) -> None:
        self.tracker.acked(slot)
        if self._on_ack is not None:
            self._on_ack(event)

    def _failed(self, slot: _Slot, exc: BaseException) -> None:
        # Never acked means never checkpointed: the slot stays outstanding, the listener stops
        # and a restart replays from the last safe position.
        self.failure = exc

    def flush(self, timeout_s: float | None = None) -> None:
        self._producer.flush(timeout=timeout_s)
        if self.failure is not None:
            raise self.failure

    def close(self, timeout_s: float = 10.0) -> None:
        self._producer.close(timeout=timeout_s)
