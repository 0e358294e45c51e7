"""Gaps in Kafka: records the sidecar produced or consumed that Kafka no longer holds.

Kafka can lose acknowledged records: a cluster rebuilt (or a single broker restarted with an
empty log directory), an unclean leader election, retention shorter than an outage. Nothing in
Kafka then says so: the group offsets go with the data, a consumer starts again at
``auto_offset_reset``, and the listener and the pollers resume from checkpoints and watermarks
past the lost records. Once, a stock change, a shipment and a Walmart PO stayed missing with
every component ready and `lag` "overall OK".

So the sidecar keeps its own ledger in the state store, beside its checkpoints and watermarks:
per component and partition, the end of what Kafka acknowledged (producers: the listener, the
pollers) or the offset it committed (consumers: the workers). Compared with what the topic holds
(on start, then every ``ops.gap_check_s``, and on every acknowledgement for producers):

- a log end below what Kafka acknowledged, or an acknowledged offset below an earlier one: the
  partition lost records (a recreated topic, an unclean election, a wiped broker);
- a committed offset past the log end: the same, seen by a consumer;
- a log start past the committed offset: records deleted before they were consumed (retention).

A finding is a row in ``kafka_gaps`` (open until the component that can repair that family from
the source of truth marks it repaired: ``config.components.GAP_REPAIRERS``), a counter, and an
error log line; the ledger row is then rebased on the log as it is now, so one loss is one gap.
Checks never stop a component: a check that cannot run (Kafka or the state store away) is logged
and tried again at the next interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal

import pymysql
from pydantic import BaseModel

from config import Settings
from config.components import GAP_REPAIRERS
from plumbing.db import DbConnection, connect_state_store
from plumbing.kafka import connection_kwargs, restore_topics, topic_name
from plumbing.logs import get_logger
from plumbing.metrics import METRICS

Role = Literal["produced", "consumed"]
# the most one step of a check (bootstrap, metadata, offsets) waits for Kafka: a worker runs its
# checks on its main thread, and kafka-python's own defaults (30 s bootstrap, an unbounded metadata
# wait for a topic it does not know) once held it there long enough to fall out of its group
CHECK_TIMEOUT_MS = 5_000
TopicPartitionKey = tuple[str, int]

DDL = (
    # end_offset: producers, the offset after the last record Kafka acknowledged; consumers, the
    # offset they committed (the next record to read)
    """CREATE TABLE IF NOT EXISTS kafka_offset_ledger (
      component VARCHAR(32) NOT NULL,
      topic VARCHAR(249) CHARACTER SET ascii NOT NULL,
      kafka_partition INT NOT NULL,
      role VARCHAR(16) NOT NULL,
      end_offset BIGINT NOT NULL,
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (component, topic, kafka_partition)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE IF NOT EXISTS kafka_gaps (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      family VARCHAR(32) NOT NULL,
      topic VARCHAR(249) CHARACTER SET ascii NOT NULL,
      kafka_partition INT NOT NULL,
      detected_by VARCHAR(32) NOT NULL,
      reason VARCHAR(512) NOT NULL,
      expected_offset BIGINT NULL,
      found_offset BIGINT NULL,
      detected_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      repaired_at TIMESTAMP(3) NULL,
      repaired_by VARCHAR(32) NULL,
      KEY kafka_gaps_open (family, repaired_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
)


class LogBounds(BaseModel):
    """What a partition holds now: offsets ``start`` (inclusive) to ``end`` (exclusive)."""

    start: int
    end: int


class GapFinding(BaseModel):
    topic: str
    partition: int
    reason: str
    expected: int
    found: int


class OpenGap(BaseModel):
    id: int
    family: str
    topic: str
    partition: int
    detected_by: str
    reason: str
    detected_at: datetime


def partitions_of(consumer: Any, topic: str, timeout_ms: int = CHECK_TIMEOUT_MS) -> set[int]:
    """``KafkaConsumer.partitions_for_topic`` with a bound: for a topic missing from its metadata
    (a fresh client, a deleted topic) kafka-python 3.0 waits for a metadata answer with no timeout,
    and with Kafka away that wait never ends. Raises ``KafkaTimeoutError`` after ``timeout_ms``.
    Reaches into the client's cluster metadata (kafka-python is pinned below 4); a client without
    those internals gets the unbounded public call."""
    cluster, net, manager = (getattr(consumer, name, None) for name in ("_cluster", "_net", "_manager"))
    if cluster is None or net is None or manager is None:
        return set(consumer.partitions_for_topic(topic) or ())
    found = cluster.partitions_for_topic(topic)
    if found is None:
        stash = cluster.need_all_topic_metadata
        cluster.need_all_topic_metadata = True
        try:
            net.run(manager.wait_for, cluster.request_update(), timeout_ms)
        finally:
            cluster.need_all_topic_metadata = stash
        found = cluster.partitions_for_topic(topic)
    return set(found or ())


def refresh_metadata(consumer: Any, timeout_ms: int = CHECK_TIMEOUT_MS) -> None:
    """Fetch the client's topics' metadata now. For a group consumer, kafka-python's coordinator
    compares every metadata update with the partitions it assigned from, and the group leader
    rejoins when they differ: the group is then assigned the partitions a topic gained. Bounded
    like ``partitions_of`` (the public ``topics()`` waits without a timeout)."""
    cluster, net, manager = (getattr(consumer, name, None) for name in ("_cluster", "_net", "_manager"))
    if cluster is None or net is None or manager is None:
        consumer.topics()
        return
    net.run(manager.wait_for, cluster.request_update(), timeout_ms)


def stale_topics(consumer: Any, counts: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Topics a client's cached metadata shows with fewer partitions than ``counts`` (fresh
    metadata) holds: topic -> (cached, actual). A group consumer takes up partitions a topic gains
    only at its next metadata refresh, ``metadata_max_age_ms`` (five minutes) away: after a broker
    lost a topic, a producer auto-created it with the broker's one partition and the gap check gave
    it the configured three, the inventory and refund groups read partition 0 alone for that long,
    and Walmart went without the stock changes and refunds keyed to the other two (the fault
    suite's convergence failed on it)."""
    cluster = getattr(consumer, "_cluster", None)
    stale: dict[str, tuple[int, int]] = {}
    for topic, actual in counts.items():
        cached = cluster.partitions_for_topic(topic) if cluster is not None else consumer.partitions_for_topic(topic)
        if len(cached or ()) < actual:
            stale[topic] = (len(cached or ()), actual)
    return stale


def find_gaps(role: Role, ledger: dict[TopicPartitionKey, int],
              bounds: dict[TopicPartitionKey, LogBounds]) -> list[GapFinding]:
    """Where the partitions do not continue what the ledger says was produced or consumed.

    A partition absent from ``bounds`` (its topic deleted, or fewer partitions now) holds
    nothing. A ledger offset of 0 promises nothing, so an empty new topic is not a gap."""
    findings = []
    for (topic, partition), offset in sorted(ledger.items()):
        if offset <= 0:
            continue
        held = bounds.get((topic, partition)) or LogBounds(start=0, end=0)
        if held.end < offset:
            what = ("Kafka acknowledged records up to offset" if role == "produced" else
                    "the consumer group committed offset")
            findings.append(GapFinding(
                topic=topic, partition=partition, expected=offset, found=held.end,
                reason=f"{what} {offset} but the log now ends at {held.end}: records lost (the topic recreated, "
                       f"a broker's log lost, or an unclean leader election)"))
        elif role == "consumed" and held.start > offset:
            findings.append(GapFinding(
                topic=topic, partition=partition, expected=offset, found=held.start,
                reason=f"the log now starts at {held.start}, past the committed offset {offset}: records deleted "
                       f"before they were consumed (retention shorter than the outage)"))
    return findings


def backwards(ledger: dict[TopicPartitionKey, int], acked: dict[TopicPartitionKey, tuple[int, int]]
              ) -> list[GapFinding]:
    """Acknowledged offsets below the end of what Kafka acknowledged before: offsets in a healthy
    partition only grow, so the partition's log was truncated or the topic recreated."""
    findings = []
    for (topic, partition), (low, _high) in sorted(acked.items()):
        before = ledger.get((topic, partition), 0)
        if low < before:
            findings.append(GapFinding(
                topic=topic, partition=partition, expected=before, found=low,
                reason=f"Kafka acknowledged offset {low} after acknowledging records up to {before}: the "
                       f"partition's log went backwards (the topic recreated, a broker's log lost, or an unclean "
                       f"leader election)"))
    return findings


def family_of(settings: Settings, topic: str) -> str:
    prefix = f"{settings.kafka.topic_prefix}."
    return topic[len(prefix):] if topic.startswith(prefix) else topic


class GapWatch:
    """One component's ledger and checks, on a state-store connection and a Kafka client of its own.

    ``families``: the topics it produces or consumes. The component calls ``produced`` or
    ``consumed`` with offsets Kafka acknowledged or took, ``flush`` beside its checkpoint, and
    ``maybe_check`` from its loop; ``open`` is what readiness reads."""

    def __init__(self, settings: Settings, component: str, role: Role, families: Iterable[str],
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.component = component
        self.role = role
        self.families = tuple(families)
        self.topics = {topic_name(settings.kafka, f): f for f in self.families}
        self.clock = clock
        self.log = get_logger(f"gaps.{component}")
        self._conn: DbConnection | None = None
        self._lock = threading.Lock()
        self._ledger: dict[TopicPartitionKey, int] | None = None
        self._dirty: dict[TopicPartitionKey, int] = {}
        self._next_check = 0.0
        self._next_refresh = 0.0
        self.open: list[OpenGap] = []  # open gaps on this component's families (refreshed every second)
        # topic -> partitions, from the last check's fresh metadata (a new dict each check): a group
        # consumer compares its own cached view with it (``stale_topics``)
        self.partition_counts: dict[str, int] = {}
        self.detected = 0
        self.repaired = 0

    # connections -------------------------------------------------------------------------------
    def _db(self) -> DbConnection:
        if self._conn is None or not self._conn.open:
            self._conn = connect_state_store(self.settings, connect_timeout_s=5)
            with self._conn.cursor() as cur:
                for statement in DDL:
                    cur.execute(statement)
        return self._conn

    def _kafka(self) -> Any:
        """A client of its own for each check: fresh metadata, so a topic deleted or recreated since the
        last check is seen as it is now, not as a cached view of it."""
        from kafka import KafkaConsumer

        # never auto-creating: a check that created a lost topic would give it the broker's partition
        # count, not the configured one
        return KafkaConsumer(**connection_kwargs(self.settings.kafka, f"walmart-sync-{self.component}-gaps"),
                             enable_auto_commit=False, request_timeout_ms=10_000, allow_auto_create_topics=False,
                             bootstrap_timeout_ms=CHECK_TIMEOUT_MS)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
        self._conn = None

    # the ledger --------------------------------------------------------------------------------
    def ledger(self) -> dict[TopicPartitionKey, int]:
        """The ledger as stored, with what this process recorded since and not yet wrote on top."""
        with self._lock:
            if self._ledger is None:
                with self._db().cursor() as cur:
                    cur.execute("SELECT topic, kafka_partition, end_offset FROM kafka_offset_ledger "
                                "WHERE component = %s", (self.component,))
                    self._ledger = {(str(t), int(p)): int(o) for t, p, o in cur.fetchall() if t in self.topics}
                for tp, offset in self._dirty.items():
                    self._ledger[tp] = offset
            return dict(self._ledger)

    def reload(self) -> None:
        """Read the ledger again (a new publisher, a restart after an outage)."""
        with self._lock:
            self._ledger = None

    def _known(self) -> dict[TopicPartitionKey, int] | None:
        """The ledger, or None when the state store cannot be read now: recording an offset must
        never fail the produce or commit it follows (the next check compares what it can)."""
        try:
            return self.ledger()
        except Exception as exc:
            self._conn = None
            self.log.warning("Kafka offset ledger unreadable; offsets kept for the next write", error=str(exc))
            return None

    def produced(self, acked: dict[TopicPartitionKey, tuple[int, int]]) -> list[GapFinding]:
        """Offsets Kafka acknowledged, (lowest, highest) per partition since the last call."""
        if not acked:
            return []
        ledger = self._known()
        findings = backwards(ledger, acked) if ledger is not None else []
        try:
            self._report(findings)
        except Exception as exc:  # not rebased: the next check finds the log end below the ledger instead
            self._conn = None
            self.log.warning("could not record a Kafka gap; the next check finds it", error=str(exc))
            findings = []
        gone = {(f.topic, f.partition) for f in findings}
        with self._lock:
            for tp, (_low, high) in acked.items():
                before = (self._ledger or {}).get(tp, self._dirty.get(tp, 0))
                end = high + 1 if tp in gone else max(before, high + 1)
                self._dirty[tp] = end
                if self._ledger is not None:
                    self._ledger[tp] = end
        return findings

    def consumed(self, offsets: dict[TopicPartitionKey, int]) -> None:
        """Offsets the group committed (the next record to read); never touches the store itself."""
        with self._lock:
            for tp, offset in offsets.items():
                before = (self._ledger or {}).get(tp, self._dirty.get(tp, 0))
                end = max(before, offset)
                self._dirty[tp] = end
                if self._ledger is not None:
                    self._ledger[tp] = end

    def flush(self) -> None:
        """Write what changed since the last flush; kept for the next one when the store is away."""
        with self._lock:
            dirty, self._dirty = self._dirty, {}
        if not dirty:
            return
        try:
            with self._db().cursor() as cur:
                cur.executemany(
                    "INSERT INTO kafka_offset_ledger (component, topic, kafka_partition, role, end_offset) "
                    "VALUES (%s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE end_offset = VALUES(end_offset), "
                    "role = VALUES(role)",
                    [(self.component, t, p, self.role, o) for (t, p), o in dirty.items()])
        except pymysql.MySQLError as exc:
            self._conn = None
            with self._lock:
                self._dirty = {**dirty, **self._dirty}
            self.log.warning("Kafka offset ledger not written; will retry", error=str(exc))

    # checks ------------------------------------------------------------------------------------
    def bounds(self, topics: Iterable[str] | None = None, consumer: Any = None) -> dict[TopicPartitionKey, LogBounds]:
        from kafka import TopicPartition

        own = consumer is None
        consumer = consumer or self._kafka()
        try:
            partitions = [TopicPartition(topic, partition) for topic in (topics or self.topics)
                          for partition in sorted(partitions_of(consumer, topic))]
            if not partitions:
                return {}
            starts = consumer.beginning_offsets(partitions, timeout_ms=CHECK_TIMEOUT_MS)
            ends = consumer.end_offsets(partitions, timeout_ms=CHECK_TIMEOUT_MS)
            return {(tp.topic, tp.partition): LogBounds(start=int(starts[tp]), end=int(ends[tp]))
                    for tp in partitions}
        finally:
            if own:
                consumer.close()

    def check(self) -> list[GapFinding]:
        """Compare the ledger with what the topics hold now; report and rebase what does not continue."""
        self.flush()
        ledger = self.ledger()
        consumer = self._kafka()
        try:
            bounds = self.bounds(consumer=consumer)
            findings = self._confirmed(find_gaps(self.role, ledger, bounds), bounds, consumer)
        finally:
            consumer.close()
        counts: dict[str, int] = {}
        for topic, _partition in bounds:
            counts[topic] = counts.get(topic, 0) + 1
        self._report(findings)
        with self._lock:
            assert self._ledger is not None
            for f in findings:
                held = bounds.get((f.topic, f.partition)) or LogBounds(start=0, end=0)
                # rebased on the log as it is now: one loss is one gap, and later offsets compare with the new log
                self._ledger[(f.topic, f.partition)] = self._dirty[(f.topic, f.partition)] = \
                    held.end if self.role == "produced" or held.end < f.expected else held.start
        self.flush()
        if findings:  # deleted with the data: as configured again (not as a producer's auto-create made it)
            try:
                changed = restore_topics(self.settings.kafka, sorted({f.topic for f in findings}), self._partitions)
            except Exception as exc:
                self.log.warning("could not create the lost topics again; a component's start does",
                                 error=f"{type(exc).__name__}: {exc}")
            else:
                if changed:
                    self.log.warning("lost topics created again with their configured partitions", topics=changed)
                    counts.update(self._partitions(changed))
        self.partition_counts = counts
        return findings

    def _partitions(self, topics: list[str]) -> dict[str, int]:
        consumer = self._kafka()
        try:
            return {topic: len(partitions_of(consumer, topic)) for topic in topics}
        finally:
            consumer.close()

    def _confirmed(self, findings: list[GapFinding], bounds: dict[TopicPartitionKey, LogBounds],
                   consumer: Any) -> list[GapFinding]:
        """A log end below the ledger confirmed by a fetch's high watermark before it is reported:
        ListOffsets' latest offset is not the log end on every broker (Tansu answers the last
        batch's base offset + 1), and a false "records lost" would page someone and hold
        readiness false. A partition that does not answer the fetch in time keeps its finding."""
        from kafka import TopicPartition

        suspect = [f for f in findings if (f.topic, f.partition) in bounds and f.found < f.expected
                   and f.found == bounds[(f.topic, f.partition)].end]
        if not suspect:
            return findings
        partitions = {(f.topic, f.partition): TopicPartition(f.topic, f.partition) for f in suspect}
        consumer.assign(list(partitions.values()))
        for f in suspect:
            consumer.seek(partitions[(f.topic, f.partition)], max(0, f.expected - 1))
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and any(consumer.highwater(tp) is None for tp in partitions.values()):
            consumer.poll(timeout_ms=200)
        reached = {key for key, tp in partitions.items() if (consumer.highwater(tp) or -1) >= next(
            f.expected for f in suspect if (f.topic, f.partition) == key)}
        return [f for f in findings if (f.topic, f.partition) not in reached]

    def maybe_check(self, force: bool = False) -> list[GapFinding]:
        """The check every ``ops.gap_check_s`` (at once when ``force``), and the open gaps every
        second; never raises: a component must not stop because its check could not run."""
        now = self.clock()
        findings: list[GapFinding] = []
        if force or now >= self._next_check:
            self._next_check = now + self.settings.ops.gap_check_s
            try:
                findings = self.check()
            except Exception as exc:
                self._conn = None
                self.log.warning("could not compare the Kafka offset ledger with the topics; will retry",
                                 error=f"{type(exc).__name__}: {exc}")
        if force or findings or now >= self._next_refresh:
            self._next_refresh = now + 1.0
            try:
                self.open = self.open_gaps(self.families)
            except Exception as exc:
                self._conn = None
                self.log.warning("could not read open Kafka gaps", error=f"{type(exc).__name__}: {exc}")
        return findings

    def _report(self, findings: list[GapFinding]) -> None:
        if not findings:
            return
        with self._db().cursor() as cur:
            for f in findings:
                family = family_of(self.settings, f.topic)
                cur.execute("INSERT INTO kafka_gaps (family, topic, kafka_partition, detected_by, reason, "
                            "expected_offset, found_offset) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                            (family, f.topic, f.partition, self.component, f.reason[:512], f.expected, f.found))
                METRICS.kafka_gaps_detected.labels(family, self.component).inc()
                self.detected += 1
                self.log.error("RECORDS LOST IN KAFKA: a repair from the source of truth is due", topic=f.topic,
                               partition=f.partition, reason=f.reason,
                               repaired_by=GAP_REPAIRERS.get(family, "nobody (no repair for this topic)"))

    def report_missed(self, families: Iterable[str], reason: str) -> None:
        """Events of ``families`` that never reached Kafka at all (the listener started past changes
        the binlog no longer has): a gap like a Kafka loss (partition -1: every partition), so the
        same owners repair it from Commerce and `lag` shows it until then."""
        findings = [GapFinding(topic=topic_name(self.settings.kafka, family), partition=-1, reason=reason,
                               expected=0, found=0) for family in families]
        self._report(findings)
        self.open = self.open_gaps(self.families)

    # open gaps and repairs ---------------------------------------------------------------------
    def open_gaps(self, families: Iterable[str]) -> list[OpenGap]:
        wanted = list(families)
        if not wanted:
            return []
        with self._db().cursor() as cur:
            cur.execute(f"SELECT id, family, topic, kafka_partition, detected_by, reason, detected_at FROM kafka_gaps "
                        f"WHERE repaired_at IS NULL AND family IN ({', '.join(['%s'] * len(wanted))}) ORDER BY id",
                        wanted)
            return [OpenGap(id=int(i), family=str(f), topic=str(t), partition=int(p), detected_by=str(d),
                            reason=str(r), detected_at=at) for i, f, t, p, d, r, at in cur.fetchall()]

    def to_repair(self) -> list[OpenGap]:
        """Open gaps on the families this component repairs (of the list ``maybe_check`` refreshes
        every second: no query of its own, so a loop may ask on every turn)."""
        return [g for g in self.open if GAP_REPAIRERS.get(g.family) == self.component]

    def mark_repaired(self, gaps: list[OpenGap]) -> None:
        """Those gaps (found before the repair began) repaired: ones found since stay open."""
        if not gaps:
            return
        with self._db().cursor() as cur:
            cur.execute(f"UPDATE kafka_gaps SET repaired_at = CURRENT_TIMESTAMP(3), repaired_by = %s WHERE "
                        f"repaired_at IS NULL AND id IN ({', '.join(['%s'] * len(gaps))})",
                        [self.component, *[g.id for g in gaps]])
        for gap in gaps:
            METRICS.kafka_gaps_repaired.labels(gap.family, self.component).inc()
        self.repaired += len(gaps)
        self.log.warning("Kafka gap repaired from the source of truth", families=sorted({g.family for g in gaps}),
                         gaps=len(gaps))
        self.open = self.open_gaps(self.families)

    def last_polled_at(self, family: str) -> int | None:
        """The ``polled_at`` (ms) of the oldest of the last records each partition of a polled
        family still holds: every document a poller published after that poll is in a later
        record, so polling again from there (less the overlap) covers what was lost. None when
        a partition holds nothing (then nothing says how far back the loss goes)."""
        import json

        from kafka import TopicPartition

        topic = topic_name(self.settings.kafka, family)
        consumer = self._kafka()
        try:
            bounds = self.bounds([topic], consumer)
            if not bounds or any(b.end <= b.start for b in bounds.values()):
                return None
            partitions = [TopicPartition(t, p) for t, p in bounds]
            consumer.assign(partitions)
            for tp in partitions:
                consumer.seek(tp, bounds[(tp.topic, tp.partition)].end - 1)
            found: dict[TopicPartitionKey, int] = {}
            deadline = time.monotonic() + 10
            while len(found) < len(partitions) and time.monotonic() < deadline:
                for tp, records in consumer.poll(timeout_ms=200).items():
                    for record in records:
                        try:
                            found[(tp.topic, tp.partition)] = int(json.loads(record.value)["polled_at"])
                        except (ValueError, KeyError, TypeError):
                            found[(tp.topic, tp.partition)] = int(record.timestamp)
        finally:
            consumer.close()
        return min(found.values()) if len(found) == len(partitions) else None
