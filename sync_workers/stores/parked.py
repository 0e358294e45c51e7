"""Records that arrived early, parked in the state store until they are due.

A refund that waits for its shipment to reach Walmart must not hold back every record behind it
on its partition (the old behaviour: a retry with no cap, so a dead-lettered shipment stalled the
refund partition forever). The worker loop writes the record here, commits its offset, and
handles it again when it is due. Every parked record stays visible (count and oldest age, in
metrics and lag) and is dead-lettered with its last reason once it has waited longer than the
configured maximum, so nothing can wait silently for ever.

Replicas of one worker share the table; a record is claimed for a minute before it is handled,
so two replicas never handle the same parked record at once.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from plumbing.db import DbConnection

DDL = """CREATE TABLE IF NOT EXISTS parked_records (
  worker VARCHAR(32) NOT NULL,
  topic VARCHAR(255) NOT NULL,
  kafka_partition INT NOT NULL,
  kafka_offset BIGINT NOT NULL,
  record_key VARBINARY(1024) NULL,
  record_value MEDIUMBLOB NOT NULL,
  headers MEDIUMTEXT NOT NULL,
  reason TEXT NOT NULL,
  attempts INT NOT NULL DEFAULT 1,
  parked_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  due_at TIMESTAMP(3) NOT NULL,
  claimed_by VARCHAR(96) NULL,
  claimed_until TIMESTAMP(3) NULL,
  PRIMARY KEY (worker, topic, kafka_partition, kafka_offset),
  KEY parked_due (worker, due_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""


@dataclass(frozen=True)
class ParkedRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    reason: str
    attempts: int
    parked_at: datetime


class ParkedRecords:
    def __init__(self, conn: DbConnection, worker: str, claim_s: float = 60.0):
        self.conn = conn
        self.worker = worker
        self.claim_s = claim_s
        self.me = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"[:96]
        with conn.cursor() as cur:
            cur.execute(DDL)

    def park(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes,
             headers: list[tuple[str, bytes]], reason: str, due: datetime) -> None:
        """Park a record (again): a second park keeps its first time and counts the attempt."""
        encoded = json.dumps([[k, v.decode("latin-1")] for k, v in headers])
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO parked_records (worker, topic, kafka_partition, kafka_offset, record_key, record_value, "
                "headers, reason, due_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE reason = VALUES(reason), due_at = VALUES(due_at), "
                "attempts = attempts + 1, claimed_by = NULL, claimed_until = NULL",
                (self.worker, topic, partition, offset, key, value, encoded, reason[:60000], due))

    def claim_due(self, now: datetime, limit: int = 500) -> list[ParkedRecord]:
        """Due records, claimed by this process for ``claim_s`` (another replica skips them)."""
        with self.conn.cursor() as cur:
            cur.execute(
                "UPDATE parked_records SET claimed_by = %s, claimed_until = %s WHERE worker = %s AND due_at <= %s "
                "AND (claimed_until IS NULL OR claimed_until < %s) ORDER BY due_at LIMIT %s",
                (self.me, now + timedelta(seconds=self.claim_s), self.worker, now, now, limit))
            cur.execute(
                "SELECT topic, kafka_partition, kafka_offset, record_key, record_value, headers, reason, attempts, "
                "parked_at FROM parked_records WHERE worker = %s AND claimed_by = %s "
                "ORDER BY topic, kafka_partition, kafka_offset", (self.worker, self.me))
            rows = cur.fetchall()
        return [ParkedRecord(topic, int(partition), int(offset), bytes(key) if key is not None else None,
                             bytes(value), [(k, v.encode("latin-1")) for k, v in json.loads(headers)], reason,
                             int(attempts), parked_at)
                for topic, partition, offset, key, value, headers, reason, attempts, parked_at in rows]

    def release(self, topic: str, partition: int, offset: int) -> None:
        """Handled (applied or dead-lettered): it leaves the table."""
        with self.conn.cursor() as cur:
            cur.execute("DELETE FROM parked_records WHERE worker = %s AND topic = %s AND kafka_partition = %s "
                        "AND kafka_offset = %s", (self.worker, topic, partition, offset))

    def parked_keys(self) -> set[tuple[str, bytes | None]]:
        """(topic, key) of every parked record: later records of the same key wait behind them."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT DISTINCT topic, record_key FROM parked_records WHERE worker = %s", (self.worker,))
            return {(topic, bytes(key) if key is not None else None) for topic, key in cur.fetchall()}

    def summary(self) -> tuple[int, datetime | None]:
        """How many are parked, and since when the oldest waits."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT COUNT(*), MIN(parked_at) FROM parked_records WHERE worker = %s", (self.worker,))
            count, oldest = cur.fetchone() or (0, None)
        return int(count), oldest
