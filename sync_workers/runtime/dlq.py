"""Dead letters for support staff: list them, show one, replay them to their source topic.

A replay re-publishes the original key and value to the topic it came from (the worker then
processes it like any new record) and is recorded in the state schema, so the same letter is
not replayed twice unless asked (``force``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from config import Settings
from plumbing.kafka import connection_kwargs, producer_kwargs
from sync_workers.runtime.loop import dlq_topic
from sync_workers.stores.value_state import connect_state

REPLAYS_DDL = """CREATE TABLE IF NOT EXISTS dlq_replays (
  worker VARCHAR(32) NOT NULL, dlq_offset BIGINT NOT NULL, dlq_partition INT NOT NULL,
  replayed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (worker, dlq_partition, dlq_offset)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""


@dataclass
class Letter:
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @property
    def reason(self) -> str:
        return self.headers.get("dlq.reason", "")

    def summary(self) -> dict[str, Any]:
        return {"partition": self.partition, "offset": self.offset, "failed_at": self.headers.get("dlq.failed_at"),
                "reason": self.reason, "error_code": self.headers.get("dlq.error.code"),
                "source": f"{self.headers.get('dlq.source.topic')}/{self.headers.get('dlq.source.partition')}"
                          f"@{self.headers.get('dlq.source.offset')}",
                "key": self.key.decode(errors="replace") if self.key else None}


def read_letters(settings: Settings, worker: str, limit: int | None = None) -> list[Letter]:
    topic = dlq_topic(settings, worker)
    consumer = KafkaConsumer(**connection_kwargs(settings.kafka, "walmart-sync-dlq-reader"),
                             enable_auto_commit=False, consumer_timeout_ms=2000)
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            return []
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        letters = [Letter(r.partition, r.offset, r.timestamp, r.key, r.value,
                          {k: v.decode(errors="replace") for k, v in r.headers}) for r in consumer]
    finally:
        consumer.close()
    letters.sort(key=lambda letter: (letter.timestamp_ms, letter.partition, letter.offset))
    return letters[:limit] if limit else letters


def recent_letters(settings: Settings, worker: str, limit: int = 5) -> list[Letter]:
    """The last ``limit`` letters of each partition, newest first, read up to the high watermark
    (no waiting for a timeout: the status page calls this on every refresh)."""
    topic = dlq_topic(settings, worker)
    consumer = KafkaConsumer(**connection_kwargs(settings.kafka, "walmart-sync-dlq-reader"),
                             enable_auto_commit=False, fetch_max_wait_ms=50)
    letters: list[Letter] = []
    try:
        assigned = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not assigned:
            return []
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        ends: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and (len(ends) < len(assigned) or
                                               any(consumer.position(tp) < end for tp, end in ends.items())):
            for _tp, records in consumer.poll(timeout_ms=100).items():
                letters += [Letter(r.partition, r.offset, r.timestamp, r.key, r.value,
                                   {k: v.decode(errors="replace") for k, v in r.headers}) for r in records]
            ends = {tp: hw for tp in assigned if (hw := consumer.highwater(tp)) is not None}
    finally:
        consumer.close()
    letters.sort(key=lambda letter: (letter.timestamp_ms, letter.partition, letter.offset), reverse=True)
    return letters[:limit]


def show(letter: Letter) -> str:
    try:
        body = json.dumps(json.loads(letter.value), indent=2)
    except (ValueError, UnicodeDecodeError):
        body = repr(letter.value)
    headers = "\n".join(f"  {k}: {v}" for k, v in sorted(letter.headers.items()))
    return f"partition {letter.partition} offset {letter.offset}\nheaders:\n{headers}\nvalue:\n{body}"


def replay(settings: Settings, worker: str, letters: list[Letter], force: bool = False) -> tuple[int, int]:
    """Re-publish letters to their source topics; returns (replayed, skipped as already replayed)."""
    state = connect_state(settings)
    producer = KafkaProducer(**producer_kwargs(settings.kafka, "walmart-sync-dlq-replay"))
    replayed = skipped = 0
    try:
        with state.cursor() as cur:
            cur.execute(REPLAYS_DDL)
            for letter in letters:
                cur.execute("SELECT 1 FROM dlq_replays WHERE worker = %s AND dlq_partition = %s "
                            "AND dlq_offset = %s", (worker, letter.partition, letter.offset))
                if cur.fetchone() and not force:
                    skipped += 1
                    continue
                source = letter.headers.get("dlq.source.topic")
                if not source:
                    skipped += 1
                    continue
                producer.send(source, key=letter.key, value=letter.value,
                              headers=[("dlq.replayed_from", f"{letter.partition}@{letter.offset}".encode())]).get(30)
                cur.execute("INSERT IGNORE INTO dlq_replays (worker, dlq_partition, dlq_offset) VALUES (%s, %s, %s)",
                            (worker, letter.partition, letter.offset))
                replayed += 1
    finally:
        producer.close(timeout=10)
        state.close()
    return replayed, skipped
