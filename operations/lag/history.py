"""Lag samples kept in the state store, so a one-shot `walmart-sync lag`, the status page and the
metrics of any process judge the trend over minutes, not from a single reading. One sampler
writes (whichever sidecar process holds the lock); everyone reads."""

from __future__ import annotations

from typing import Any

from operations.lag.kafka_lag import GroupSample, PartitionLag
from plumbing.db import DbConnection

DDL = """CREATE TABLE IF NOT EXISTS lag_samples (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  taken_at DOUBLE NOT NULL,
  group_name VARCHAR(32) NOT NULL,
  group_id VARCHAR(255) NOT NULL,
  topic VARCHAR(255) NULL,
  part INT NULL,
  committed BIGINT NULL,
  end_offset BIGINT NULL,
  lag BIGINT NULL,
  lag_seconds DOUBLE NULL,
  members INT NULL,
  state VARCHAR(32) NULL,
  error VARCHAR(512) NULL,
  KEY lag_samples_recent (group_name, taken_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""


class LagHistory:
    def __init__(self, conn: DbConnection):
        self.conn = conn
        with conn.cursor() as cur:
            cur.execute(DDL)

    def record(self, samples: dict[str, GroupSample]) -> None:
        rows: list[tuple[Any, ...]] = []
        for s in samples.values():
            if not s.partitions:
                rows.append((s.taken_at, s.name, s.group_id, None, None, None, None, None, None, s.members, s.state,
                             s.error))
            for p in s.partitions:
                rows.append((s.taken_at, s.name, s.group_id, p.topic, p.partition, p.committed, p.end, p.lag,
                             p.lag_seconds, s.members, s.state, s.error))
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO lag_samples (taken_at, group_name, group_id, topic, part, committed, "
                            "end_offset, lag, lag_seconds, members, state, error) VALUES "
                            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)

    def recent(self, since_epoch_s: float) -> dict[str, list[GroupSample]]:
        """Group name -> its samples since then, oldest first."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT taken_at, group_name, group_id, topic, part, committed, end_offset, lag, lag_seconds, "
                        "members, state, error FROM lag_samples WHERE taken_at >= %s ORDER BY taken_at, id",
                        (since_epoch_s,))
            rows = cur.fetchall()
        samples: dict[tuple[str, float], GroupSample] = {}
        for taken_at, name, group_id, topic, part, committed, end, lag, seconds, members, state, error in rows:
            sample = samples.setdefault((name, taken_at), GroupSample(name, group_id, taken_at, members, state or "",
                                                                      [], error))
            if topic is not None:
                sample.partitions.append(PartitionLag(topic, int(part), None if committed is None else int(committed),
                                                      int(end), int(lag), float(seconds or 0)))
        by_group: dict[str, list[GroupSample]] = {}
        for (name, _at), sample in sorted(samples.items(), key=lambda item: item[0][1]):
            by_group.setdefault(name, []).append(sample)
        return by_group

    def prune(self, before_epoch_s: float) -> None:
        with self.conn.cursor() as cur:
            cur.execute("DELETE FROM lag_samples WHERE taken_at < %s", (before_epoch_s,))
