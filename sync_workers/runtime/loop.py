"""The consumer loop every worker runs: batch, handle, settle (dead-letter or park), then commit.

Offsets are committed only after every record of a batch was applied, dead-lettered (Kafka
acknowledged the letter) or parked (the state store holds it), so a crash replays, never skips,
the batch; handlers are written to be idempotent for that. What a failure means is decided in
one place (``sync_workers.runtime.errors.classify``): the batch is retried with backoff, the
record is dead-lettered with Kafka Connect's kind of headers, the record is parked until due,
or the component stops with the traceback logged. A batch that fails for one bad record is
handled again record by record, so only that record is dead-lettered. Records are collected for
a short window before handling, so ten changes to one SKU become one push.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError, RebalanceInProgressError
from kafka.structs import MemberState
from pydantic import ValidationError

from config import Settings
from domain.events import POLLED_FAMILIES, ChangeEvent, PolledDocument
from plumbing.db import DbConnection, connect_state_store, revive
from plumbing.gaps import GapWatch, refresh_metadata, stale_topics
from plumbing.kafka import consumer_kwargs, ensure_topics, producer_kwargs, send_acknowledged, topic_name
from plumbing.logs import get_logger, redact
from plumbing.metrics import METRICS
from plumbing.retry import backoff_delay
from sync_workers.runtime.errors import NotYet, PermanentError, TransientError, classify, error_code
from sync_workers.runtime.status import ComponentStatus
from sync_workers.runtime.watchdog import GroupView, GroupWatchdog
from sync_workers.stores.parked import ParkedRecords
from sync_workers.walmart.errors import WalmartWritesOff

__all__ = ["BatchHandler", "ConsumerRebuildFailed", "DeadLetter", "NotYet", "Parked", "PermanentError", "Record",
           "TransientError", "WorkerLoop", "dlq_topic"]

GROUP_LOOK_S = 5.0  # how often the loop shows its consumer to the group watchdog (one ListOffsets request)
GROUP_LOOK_TIMEOUT_MS = 2_000  # the most that look holds the loop: far below max_poll_interval_ms
CLOSE_TIMEOUT_MS = 5_000  # a stalled consumer's close (its LeaveGroup may go unanswered)


@dataclass(slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    event: dict[str, Any] | None = None  # parsed JSON, when it parses
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class DeadLetter:
    record: Record
    reason: str
    error_code: str | None = None
    error: BaseException | None = None


@dataclass
class Parked:
    """The record is early: handle it again in ``retry_after_s``."""

    record: Record
    reason: str
    retry_after_s: float = 60.0


Outcome = DeadLetter | Parked


class BatchHandler(Protocol):
    name: str
    families: tuple[str, ...]
    # the event fields the handler reads (None: all): a batch holds up to workers.max_batch_records
    # parsed events, and slim ones keep a backlog's batch within a worker's memory budget
    event_fields: tuple[str, ...] | None
    # records consumed but not yet handled on this worker's partitions (set by the loop before
    # each batch: the value workers choose singles or a feed by it)
    backlog_records: int

    def handle(self, records: list[Record]) -> Sequence[Outcome]:
        """Apply the records; return those that were not applied and why. Raise when the batch
        cannot be applied at all (the loop classifies the exception)."""
        ...

    def tick(self) -> None:
        """Work due without new records (feed polling, rechecks)."""
        ...

    def connections(self) -> list[DbConnection]:
        """The database connections it reads and writes: revived after a failure the loop retries."""
        ...

    # Optionally, ``batch_lost(records)``: called when the batch was applied but its commit was
    # refused because the group had rebalanced, so another member was (or is) handling the same
    # records at the same time. A handler whose state a late write can contradict repairs it here.


def dlq_topic(settings: Settings, worker: str) -> str:
    return topic_name(settings.kafka, f"dlq.{worker}")


class _Retry(Exception):
    """The batch must be tried again; carries the cause."""


class ConsumerRebuildFailed(RuntimeError):
    """The watchdog closed a stalled consumer and could not build another: the worker stops, so its
    process exits non-zero and its supervisor (systemd, Kubernetes, ``walmart-sync run``'s exit)
    starts it again, rather than running on without consuming."""


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
        self.parked = 0
        self.batches = 0
        self.retries = 0
        self.kafka_outages = 0  # polls that failed because Kafka was unreachable (the loop went on)
        self.commit_failures = 0
        # since when batches fail and are retried (None: the last one went through): readiness
        # turns false after a while, so an orchestrator and the status page see a worker that is up
        # but cannot reach Walmart, Commerce or its database
        self.failing_since: float | None = None
        self.last_error: str | None = None
        self.running = threading.Event()
        self.assigned = threading.Event()  # joined its consumer group (ready: changes are consumed)
        self.status = ComponentStatus(settings, handler.name)
        self._max_poll_records = settings.kafka.tuning_for(handler.name).max_poll_records or 500
        self._tick_resume = 0.0
        self._tick_attempt = 0
        self._next_parked_check = 0.0
        self._parked_keys: set[tuple[str, bytes | None]] = set()
        # offsets of applied batches Kafka has not taken yet (a coordinator away); sent with the next commit
        self._uncommitted: dict[TopicPartition, OffsetAndMetadata] = {}
        self._uncommitted_lock = threading.Lock()
        self._next_pending_commit = 0.0
        handler.backlog_records = 0
        self._envelope = envelope_of(handler)
        # the offsets this group committed, beside Kafka's own record of them: a log that no longer
        # reaches them lost records (plumbing/gaps.py); the handler repairs its families from the source
        self.gaps = GapWatch(settings, handler.name, "consumed", handler.families)
        self._check_gaps_now = True
        self._newly_assigned: set[TopicPartition] = set()
        self._next_ledger_flush = 0.0
        self._next_repair = 0.0
        self._repair_attempt = 0
        self._counts_compared: dict[str, int] | None = None  # the gap check's partition counts last compared
        self.metadata_refreshes = 0
        self.gap_repairs = 0
        # out of its consumer group, or not consuming while records wait: readiness false after two
        # session timeouts, the consumer rebuilt after workers.group_watchdog_s (sync_workers/runtime/watchdog.py)
        session_s = (settings.kafka.tuning_for(handler.name).session_timeout_ms or 10_000) / 1000
        self.watchdog = GroupWatchdog(grace_s=min(2 * session_s, settings.workers.group_watchdog_s),
                                      limit_s=settings.workers.group_watchdog_s)
        self.consumer: KafkaConsumer | None = None
        self.consumer_rebuilds = 0
        self._next_group_look = 0.0

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
            try:
                polled = consumer.poll(timeout_ms=timeout)
            except KafkaError:
                if records:  # already past them: handle these, the failure shows again at the next poll
                    return records
                raise
            got = 0
            for partition_records in polled.values():
                got += len(partition_records)
                for r in partition_records:
                    records.append(Record(r.topic, r.partition, r.offset, r.key, r.value,
                                          headers=list(r.headers or ())))
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
        ensure_topics(kafka, [*topics, dlq_topic(self.settings, self.handler.name)])  # a broker may not auto-create
        consumer = self._new_consumer(topics)
        producer = KafkaProducer(**producer_kwargs(kafka, f"walmart-sync-{self.handler.name}-dlq"))
        parked = ParkedRecords(connect_state_store(self.settings), self.handler.name)
        self._parked_keys = parked.parked_keys()
        self.status.start_heartbeat()
        attempt = 0
        try:
            while not self._stop.is_set():
                self.running.set()
                consumer = self._watch_group(consumer, topics, attempt > 0)
                self.handler.backlog_records = _backlog(consumer)
                self._resume_from_ledger(consumer)
                self._watch_gaps()
                self._follow_partition_growth(consumer)
                self._tick()
                self._handle_due_parked(producer, parked)
                try:
                    records = self._collect(consumer)
                except KafkaError as exc:
                    # the broker away (a restart, a rebuilt cluster): kafka-python raised out of poll while
                    # looking for the group coordinator, and the worker process ended with it
                    self.kafka_outages += 1
                    self.log.warning("Kafka unreachable while polling; polling again", error=f"{type(exc).__name__}: "
                                     f"{exc}", outages=self.kafka_outages)
                    self._stop.wait(1.0)
                    continue
                if not records:
                    self._commit_pending(consumer)
                    continue
                outcomes: list[Outcome] = []
                fields = self.handler.event_fields
                ready = []
                for r in records:
                    if not parse_record(r, fields, self._envelope):
                        outcomes.append(DeadLetter(r, "not a JSON change event", "MALFORMED_EVENT"))
                    elif (r.topic, r.key) in self._parked_keys:
                        outcomes.append(Parked(r, "behind a parked record of the same key",
                                               self.settings.workers.park_retry_s))
                    else:
                        ready.append(r)
                self.handler.backlog_records = _backlog(consumer)
                try:
                    outcomes += self._apply(ready) if ready else []
                    self._settle_or_retry(producer, parked, outcomes)
                except _Retry as retry:
                    attempt += 1
                    self.retries += 1
                    self.failing_since = self.failing_since or time.monotonic()
                    self.last_error = redact(str(retry.__cause__))
                    pause = backoff_delay(attempt, self.settings.workers.retry_base_s, self.settings.workers.retry_cap_s)
                    self.log.warning("batch failed; retrying", error=str(retry.__cause__), attempt=attempt,
                                     pause_s=round(pause, 2), records=len(records))
                    METRICS.worker_retries.labels(self.handler.name).inc()
                    self.status.failed(str(retry.__cause__))
                    _rewind(consumer, records)
                    self.sleep(pause)
                    revive([parked.conn, *self.handler.connections()])
                    continue
                attempt = 0
                self.failing_since = None
                if not self._commit(consumer, _next_offsets(records), records):
                    continue
                self.batches += 1
                METRICS.worker_batches.labels(self.handler.name).inc()
                METRICS.worker_records.labels(self.handler.name).inc(len(records))
                METRICS.worker_last_success.labels(self.handler.name).set_to_current_time()
                self.status.succeeded()
                dead = [o for o in outcomes if isinstance(o, DeadLetter)]
                if dead:
                    self.status.failed(f"dead-lettered {len(dead)} record(s): {dead[-1].reason}")
        finally:
            producer.close(timeout=10)
            if self.consumer is not None:
                self.consumer.close()
            parked.conn.close()
            self.status.close()
            self.gaps.flush()
            self.gaps.close()

    # the consumer and its group ------------------------------------------------------------------
    def _new_consumer(self, topics: list[str]) -> KafkaConsumer:
        """A consumer subscribed with the loop's rebalance hooks: every one, the first or a rebuilt one,
        runs the same gap check and ledger resume on assignment and forgets revoked offsets."""
        consumer = KafkaConsumer(**consumer_kwargs(self.settings.kafka, self.handler.name,
                                                   f"walmart-sync-{self.handler.name}"))
        try:
            consumer.subscribe(topics, listener=_AssignmentLog(self.log, self.assigned, self._forget_offsets,
                                                               self._partitions_assigned))
        except BaseException:
            consumer.close(autocommit=False, timeout_ms=CLOSE_TIMEOUT_MS)
            raise
        self.consumer = consumer
        return consumer

    def group_trouble(self) -> str | None:
        """Why the consumer is not consuming (None: it is, or it is too early to say), for readiness.
        Membership is read here as well as in the loop, so a loop frozen in a handler (and dropped
        from its group for overrunning max.poll.interval.ms) shows as not ready all the same."""
        now = time.monotonic()
        consumer = self.consumer
        if consumer is not None and self.assigned.is_set():
            try:
                self.watchdog.observe_membership(now, consumer.group_metadata().state is MemberState.STABLE)
            except Exception:  # closed while being rebuilt: the loop's own view stands
                pass
        return self.watchdog.reason(now)

    def _group_view(self, consumer: KafkaConsumer, retrying: bool) -> GroupView:
        member = consumer.group_metadata().state is MemberState.STABLE
        assigned = sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
        if not member or not assigned:
            return GroupView(member=member, retrying=retrying)
        positions: list[tuple[str, int, int]] = []
        waiting: int | None = 0
        try:
            ends = consumer.end_offsets(assigned, timeout_ms=GROUP_LOOK_TIMEOUT_MS)
        except KafkaError:  # the broker away: membership tells, progress is not judged this time
            ends, waiting = {}, None
        for tp in assigned:
            try:
                position: int | None = consumer.position(tp, timeout_ms=0)
            except Exception:  # not known yet (an offset reset in flight): not judged
                position = None
            positions.append((tp.topic, tp.partition, -1 if position is None else position))
            if waiting is not None and position is not None and tp in ends:
                waiting += max(0, int(ends[tp]) - position)
        return GroupView(member=True, waiting=waiting, positions=tuple(positions), retrying=retrying)

    def _watch_group(self, consumer: KafkaConsumer, topics: list[str], retrying: bool) -> KafkaConsumer:
        """Shows the consumer to the watchdog; one stalled for workers.group_watchdog_s is closed and a new
        one joins the group in its place (the hooks, the ledger and the gap check go with it)."""
        now = time.monotonic()
        if now >= self._next_group_look:
            self._next_group_look = now + GROUP_LOOK_S
            try:
                self.watchdog.observe(now, self._group_view(consumer, retrying or self.failing_since is not None))
            except Exception as exc:  # a view: never a reason to stop
                self.log.warning("could not look at the consumer's group membership", error=f"{type(exc).__name__}: "
                                 f"{exc}")
        if not self.watchdog.due(now):
            return consumer
        reason = self.watchdog.reason(now) or "stalled"
        self.consumer_rebuilds += 1
        METRICS.worker_consumer_rebuilds.labels(self.handler.name).inc()
        self.log.error("Kafka consumer stalled: closing it and joining the consumer group with a new one",
                       reason=reason, rebuilds=self.consumer_rebuilds)
        self.status.failed(f"Kafka consumer rebuilt: {reason}")
        self.assigned.clear()  # not ready ("joining its consumer group") until the new one is assigned
        self._newly_assigned = set()
        with self._uncommitted_lock:  # like a revocation: whoever owns the partitions next handles those again
            self._uncommitted = {}
        self.consumer = None
        try:
            consumer.close(autocommit=False, timeout_ms=CLOSE_TIMEOUT_MS)
        except Exception as exc:
            self.log.warning("the stalled consumer did not close cleanly", error=f"{type(exc).__name__}: {exc}")
        try:
            fresh = self._new_consumer(topics)
        except Exception as exc:
            self.log.error("could not build a new Kafka consumer; stopping the worker for its supervisor to "
                           "restart", error=f"{type(exc).__name__}: {exc}")
            raise ConsumerRebuildFailed(f"{self.handler.name}: Kafka consumer stalled ({reason}) and could not be "
                                        f"rebuilt: {type(exc).__name__}: {exc}") from exc
        self.watchdog.reset(time.monotonic())
        self._next_group_look = time.monotonic() + GROUP_LOOK_S
        return fresh

    # offsets --------------------------------------------------------------------------------------
    def _commit(self, consumer: KafkaConsumer, offsets: dict[TopicPartition, OffsetAndMetadata],
                records: list[Record]) -> bool:
        """Commit an applied batch's offsets, with any an earlier commit could not deliver; True
        when Kafka took them.

        Refused because the group moved on (``CommitFailedError``; ``RebalanceInProgressError`` while
        this member rejoins, as when another replica joins or this one overran max.poll.interval.ms):
        the partitions' owner after the rebalance, this worker or another, handles the records again
        from the last commit and the handlers are idempotent, so the worker goes on. Not delivered
        (a timeout, no coordinator: the broker holding the group is down or frozen): the batch is
        applied all the same, so its offsets are kept for the next commit instead of the worker
        stopping for a broker's outage. Anything else is not Kafka's weather and stops the worker."""
        with self._uncommitted_lock:
            pending = _merge_offsets(self._uncommitted, offsets)
        try:
            consumer.commit(pending)
        except (CommitFailedError, RebalanceInProgressError) as exc:
            with self._uncommitted_lock:
                self._uncommitted = {}
            self._commit_failed("rebalanced", exc, len(records),
                                "commit refused after a rebalance; the partitions' owner handles the batch again")
            lost = getattr(self.handler, "batch_lost", None)
            if lost is not None and records:
                try:
                    lost(records)
                except Exception as failure:  # a repair that could not be arranged is no reason to stop
                    self.log.warning("could not arrange the lost batch's repair", error=redact(str(failure)))
            return False
        except KafkaError as exc:
            if not exc.retriable:
                raise
            with self._uncommitted_lock:
                self._uncommitted = _merge_offsets(self._uncommitted, pending)
            self._next_pending_commit = time.monotonic() + 1.0
            self._commit_failed("unavailable", exc, len(records),
                                "commit not delivered (group coordinator unreachable); it goes with the next one")
            return False
        with self._uncommitted_lock:
            self._uncommitted = {tp: o for tp, o in self._uncommitted.items()
                                 if tp not in pending or o.offset > pending[tp].offset}
        self.gaps.consumed({(tp.topic, tp.partition): o.offset for tp, o in pending.items()})
        return True

    def _commit_pending(self, consumer: KafkaConsumer) -> None:
        """An idle worker delivers the offsets a failed commit left, so lag reaches 0 without new records."""
        if self._uncommitted and time.monotonic() >= self._next_pending_commit:
            self._next_pending_commit = time.monotonic() + 1.0
            self._commit(consumer, {}, [])

    def _commit_failed(self, reason: str, exc: BaseException, records: int, message: str) -> None:
        self.commit_failures += 1
        METRICS.worker_commit_failures.labels(self.handler.name, reason).inc()
        self.log.warning(message, error=f"{type(exc).__name__}: {exc}", records=records)

    def _forget_offsets(self, revoked: Any) -> None:
        """Revoked partitions are another member's now: their uncommitted offsets are not ours to
        commit (the new owner handles those records again)."""
        with self._uncommitted_lock:
            self._uncommitted = {tp: o for tp, o in self._uncommitted.items() if tp not in set(revoked)}

    # records Kafka lost -----------------------------------------------------------------------------
    def _partitions_assigned(self, assigned: Any) -> None:
        self._check_gaps_now = True  # a (re)join: compare what the group committed with the log at once
        self._newly_assigned |= set(assigned)

    def _resume_from_ledger(self, consumer: KafkaConsumer) -> None:
        """Partitions just assigned for which Kafka holds no committed offset of this group, while the
        ledger holds one the log still covers: the group's offsets were lost (offsets.retention.minutes
        past an outage, a rebuilt cluster restored from the topics' data), and ``auto_offset_reset``
        would replay everything (earliest) or skip what is waiting (latest). Resumed where the group
        had committed instead. A ledger offset the log does not cover is a gap; the check reports it."""
        if not self._newly_assigned:
            return
        partitions, self._newly_assigned = self._newly_assigned, set()
        try:
            ledger = self.gaps.ledger()
            assigned = consumer.assignment()
            lost = [tp for tp in partitions if tp in assigned and ledger.get((tp.topic, tp.partition), 0) > 0
                    and consumer.committed(tp) is None]
            if not lost:
                return
            starts, ends = consumer.beginning_offsets(lost), consumer.end_offsets(lost)
        except Exception as exc:  # a view, never a reason to stop: the reset position stands
            self.log.warning("could not compare the group's offsets with the ledger", error=f"{type(exc).__name__}: {exc}")
            return
        for tp in lost:
            offset = ledger[(tp.topic, tp.partition)]
            if starts[tp] <= offset <= ends[tp]:
                consumer.seek(tp, offset)
                METRICS.worker_offsets_restored.labels(self.handler.name).inc()
                self.log.warning("the group's committed offset is gone from Kafka; resuming at the offset the "
                                 "state store's ledger holds", topic=tp.topic, partition=tp.partition, offset=offset)

    def _follow_partition_growth(self, consumer: KafkaConsumer) -> None:
        """After each gap check: a topic with more partitions than this consumer's cached metadata
        shows (re-created with one by an auto-create, then given the configured count; or grown by
        an operator) has its metadata fetched now, so the group takes up the new partitions at once
        instead of at ``metadata_max_age_ms``. Their records wait meanwhile, none is lost; a refresh
        that cannot run is tried after the next check."""
        counts = self.gaps.partition_counts
        if counts is self._counts_compared or not counts:
            return
        self._counts_compared = counts
        try:
            stale = stale_topics(consumer, counts)
            if not stale:
                return
            refresh_metadata(consumer)
        except Exception as exc:  # Kafka away: the next check's counts bring the next try
            self.log.warning("could not refresh the consumer's topic metadata", error=f"{type(exc).__name__}: {exc}")
            return
        self.metadata_refreshes += 1
        for topic, (cached, actual) in stale.items():
            self.log.warning("the topic has more partitions than this consumer knew; its metadata is refreshed so "
                             "the group is assigned them", topic=topic, known=cached, partitions=actual)

    def _watch_gaps(self) -> None:
        """The ledger written every second, compared with the topics on start, on assignment and every
        ``ops.gap_check_s``; open gaps on the families this worker repairs repaired from the source."""
        now = time.monotonic()
        if now >= self._next_ledger_flush:
            self._next_ledger_flush = now + 1.0
            self.gaps.flush()
        force, self._check_gaps_now = self._check_gaps_now, False
        self.gaps.maybe_check(force=force)
        repair = getattr(self.handler, "repair_gaps", None)
        if repair is None or now < self._next_repair:
            return
        self._next_repair = now + 1.0
        try:
            gaps = self.gaps.to_repair()
            if not gaps:
                return
            self.log.warning("records were lost in Kafka: repairing from the source of truth",
                             families=sorted({g.family for g in gaps}), gaps=len(gaps))
            repair()
            self.gaps.mark_repaired(gaps)
            self.gap_repairs += 1
            self._repair_attempt = 0
        except Exception as exc:
            if classify(exc) == "fatal":
                self.log.error("gap repair failed; will try again", error=redact(str(exc)), exc_info=True)
            self._repair_attempt += 1
            pause = backoff_delay(self._repair_attempt, self.settings.workers.retry_base_s,
                                  self.settings.workers.retry_cap_s)
            self._next_repair = time.monotonic() + pause
            revive(self.handler.connections())
            self.status.failed(f"gap repair failed: {exc}")
            self.log.warning("gap repair failed; will retry", error=str(exc), pause_s=round(pause, 2))

    # outcomes -------------------------------------------------------------------------------------
    def _apply(self, records: list[Record]) -> list[Outcome]:
        """Handle records; a failure that belongs to records, not the batch, is narrowed down to
        the records that cause it by handling them one at a time."""
        try:
            return list(self.handler.handle(records))
        except WalmartWritesOff:
            # shadow mode withheld a write the handler did not expect to be withheld: the client
            # recorded it; each record is handled on its own so every one's write is recorded, and
            # none is dead-lettered or retried (the old integration is doing the writing)
            if len(records) > 1:
                return [outcome for record in records for outcome in self._apply([record])]
            self.log.info("shadow mode: the record's Walmart write was withheld", topic=records[0].topic,
                          offset=records[0].offset)
            return []
        except BaseException as exc:
            verdict = classify(exc)
            if verdict == "retry":
                raise _Retry() from exc
            if verdict == "fatal":
                self.log.error("handler failed; stopping the worker", error=redact(str(exc)),
                               records=len(records), exc_info=True)
                raise
            if len(records) > 1:
                return [outcome for record in records for outcome in self._apply([record])]
            record = records[0]
            if isinstance(exc, NotYet):
                return [Parked(record, str(exc), exc.retry_after_s)]
            return [DeadLetter(record, str(exc), error_code(exc), exc)]

    def _settle(self, producer: KafkaProducer, parked: ParkedRecords, outcomes: Sequence[Outcome]) -> None:
        """Dead letters acknowledged by Kafka and parked records written, before the commit."""
        letters = [o for o in outcomes if isinstance(o, DeadLetter)]
        if letters:
            send_acknowledged(producer, [self.letter_message(letter) for letter in letters])
            for letter in letters:
                self.dead_lettered += 1
                METRICS.dead_letters.labels(self.handler.name, letter.error_code or "").inc()
                record = letter.record
                self.log.warning("dead-lettered a record", reason=letter.reason, code=letter.error_code,
                                 topic=record.topic, partition=record.partition, offset=record.offset)
        now = datetime.now()
        for outcome in outcomes:
            if isinstance(outcome, Parked):
                r = outcome.record
                parked.park(r.topic, r.partition, r.offset, r.key, r.value, r.headers, outcome.reason,
                            now + timedelta(seconds=outcome.retry_after_s))
                self._parked_keys.add((r.topic, r.key))
                self.parked += 1
                self.log.info("parked a record until due", reason=outcome.reason, topic=r.topic,
                              partition=r.partition, offset=r.offset, retry_after_s=outcome.retry_after_s)

    def _settle_or_retry(self, producer: KafkaProducer, parked: ParkedRecords, outcomes: Sequence[Outcome]) -> None:
        """Settling fails like handling: Kafka not acknowledging a dead letter, or the state store
        away for a parked record, retries the batch (it is not committed); anything else is fatal."""
        try:
            self._settle(producer, parked, outcomes)
        except BaseException as exc:
            if classify(exc) == "retry":
                raise _Retry() from exc
            raise

    def letter_message(self, letter: DeadLetter) -> tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]:
        """The original record with its own headers, plus why and where it failed (Kafka Connect's
        ``errors.deadletterqueue.context.headers.enable`` set, under ``dlq.``)."""
        record = letter.record
        headers = [(k, v) for k, v in record.headers if not k.startswith("dlq.")] + [
            ("dlq.reason", redact(letter.reason).encode()),
            ("dlq.error.code", (letter.error_code or "").encode()),
            ("dlq.source.topic", record.topic.encode()),
            ("dlq.source.partition", str(record.partition).encode()),
            ("dlq.source.offset", str(record.offset).encode()),
            ("dlq.worker", self.handler.name.encode()),
            ("dlq.failed_at", datetime.now(UTC).isoformat().encode()),
        ]
        if letter.error is not None:
            headers += [("dlq.exception.class", type(letter.error).__qualname__.encode()),
                        ("dlq.exception.message", redact(str(letter.error)).encode())]
        return dlq_topic(self.settings, self.handler.name), record.key, record.value, headers

    # work without new records -----------------------------------------------------------------------
    def _tick(self) -> None:
        """The handler's scheduled work, failing like ``handle``: retried later, or fatal."""
        if time.monotonic() < self._tick_resume:
            return
        try:
            self.handler.tick()
            self._tick_attempt = 0
        except WalmartWritesOff:
            self._tick_attempt = 0  # shadow mode: the client recorded the write it withheld
        except BaseException as exc:
            if classify(exc) == "fatal":
                self.log.error("scheduled work failed; stopping the worker", error=redact(str(exc)), exc_info=True)
                raise
            self._tick_attempt += 1
            pause = backoff_delay(self._tick_attempt, self.settings.workers.retry_base_s,
                                  self.settings.workers.retry_cap_s)
            self._tick_resume = time.monotonic() + pause
            revive(self.handler.connections())
            self.status.failed(f"scheduled work failed: {exc}")
            self.log.warning("scheduled work failed; will retry", error=str(exc), pause_s=round(pause, 2))

    def _handle_due_parked(self, producer: KafkaProducer, parked: ParkedRecords) -> None:
        if time.monotonic() < self._next_parked_check:
            return
        self._next_parked_check = time.monotonic() + 1.0
        try:
            due = parked.claim_due(datetime.now())
            count, oldest = parked.summary()
        except Exception as exc:
            if classify(exc) == "fatal":
                raise
            self.log.warning("parked records unreadable; will retry", error=str(exc))
            revive([parked.conn])
            return
        METRICS.parked_records.labels(self.handler.name).set(count)
        METRICS.parked_oldest_seconds.labels(self.handler.name).set(
            (datetime.now() - oldest).total_seconds() if oldest else 0)
        if not due:
            if not count:
                self._parked_keys.clear()
            return
        workers = self.settings.workers
        records, expired = [], []
        for p in due:
            record = Record(p.topic, p.partition, p.offset, p.key, p.value, headers=p.headers)
            waited = (datetime.now() - p.parked_at).total_seconds()
            if not parse_record(record, self.handler.event_fields, self._envelope):
                expired.append(DeadLetter(record, "not a JSON change event", "MALFORMED_EVENT"))
            elif waited > workers.park_max_s:
                expired.append(DeadLetter(record, f"parked {waited / 3600:.1f} h, longer than workers.park_max_s: "
                                                  f"{p.reason}", "PARKED_TOO_LONG"))
            else:
                records.append(record)
        attempts = {(p.topic, p.partition, p.offset): p.attempts for p in due}
        try:
            outcomes = expired + (self._apply(records) if records else [])
        except _Retry as retry:
            self.log.warning("parked records could not be handled yet", error=str(retry.__cause__))
            return  # claims lapse; tried again later
        letters = [o for o in outcomes if isinstance(o, DeadLetter)]
        if letters:
            self._settle(producer, parked, letters)
        again = {(o.record.topic, o.record.partition, o.record.offset): o for o in outcomes if isinstance(o, Parked)}
        now = datetime.now()
        for p in due:
            key = (p.topic, p.partition, p.offset)
            if key in again:
                wait = min(600.0, max(again[key].retry_after_s, workers.park_retry_s * 2 ** attempts[key]))
                parked.park(p.topic, p.partition, p.offset, p.key, p.value, p.headers, again[key].reason,
                            now + timedelta(seconds=wait))
            else:
                parked.release(p.topic, p.partition, p.offset)
        self._parked_keys = parked.parked_keys()


class _AssignmentLog(ConsumerRebalanceListener):
    """Rebalances are what an operator scaling workers out needs to see."""

    def __init__(self, log: Any, assigned: threading.Event, on_revoked: Callable[[Any], None] = lambda _: None,
                 on_assigned: Callable[[Any], None] = lambda _: None):
        self.log = log
        self.assigned = assigned
        self.on_revoked = on_revoked
        self.on_assigned = on_assigned

    def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            self.on_revoked(revoked)
            self.log.info("partitions revoked", partitions=sorted(f"{tp.topic}/{tp.partition}" for tp in revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.on_assigned(assigned)
        self.assigned.set()
        self.log.info("partitions assigned", partitions=sorted(f"{tp.topic}/{tp.partition}" for tp in assigned))


def envelope_of(handler: BatchHandler) -> type[ChangeEvent] | type[PolledDocument]:
    """The envelope of the handler's topics: the pollers' for Walmart's documents, the listener's else."""
    return PolledDocument if set(handler.families) <= set(POLLED_FAMILIES) else ChangeEvent


def parse_record(record: Record, fields: tuple[str, ...] | None,
                 envelope: type[ChangeEvent] | type[PolledDocument] = ChangeEvent) -> bool:
    """Validate the record against its envelope (pydantic-core parses JSON faster than json.loads
    does) and keep only the fields the handler reads: a batch may hold 20,000 of them."""
    try:
        event = envelope.model_validate_json(record.value)
    except (ValidationError, ValueError):
        return False
    record.event = (event.model_dump(by_alias=True) if fields is None
                    else {k: getattr(event, k) for k in fields if k in type(event).model_fields})
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
    """Back to the batch's first records, on the partitions this consumer still owns: a rebalance
    while the batch was handled (a join completing on the client's I/O thread) may have given some
    to another member, which reads them from the last commit; seeking those would raise."""
    first: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        first[tp] = min(first.get(tp, r.offset), r.offset)
    assigned = consumer.assignment()
    for tp, offset in first.items():
        if tp not in assigned:
            continue
        try:
            consumer.seek(tp, offset)
        except (ValueError, KafkaError):  # revoked between the two calls
            continue


def _merge_offsets(*offsets: dict[TopicPartition, OffsetAndMetadata]) -> dict[TopicPartition, OffsetAndMetadata]:
    """Per partition, the furthest offset: a commit never moves a partition back."""
    merged: dict[TopicPartition, OffsetAndMetadata] = {}
    for found in offsets:
        for tp, offset in found.items():
            if tp not in merged or offset.offset > merged[tp].offset:
                merged[tp] = offset
    return merged


def _next_offsets(records: list[Record]) -> dict[TopicPartition, OffsetAndMetadata]:
    last: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        last[tp] = max(last.get(tp, -1), r.offset)
    return {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in last.items()}
