"""``walmart-sync listen``: Commerce binlog -> typed change events on Kafka.

Order of a run: preflight (refuse a misconfigured server), wait for the leader lease (standby),
load the catalog lookups, resolve the start position, then stream. Every row of a watched table
becomes zero or more events, sent with the transaction's slot; transaction ends (Xid, COMMIT,
DDL) close the slot with the position after them. The safe position (all before it acked) is
checkpointed every ``checkpoint_interval_ms`` and at shutdown, and only while this process still
holds the lease. A listener whose lease ran out (frozen, cut off from the state store, taken over)
stops publishing before another can take the lease, and goes back to standby.
At-least-once: a crash replays at most what was not yet checkpointed, with the
same event ids.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pymysql
from kafka.errors import KafkaError
from pymysqlreplication.event import (
    GtidEvent,
    HeartbeatLogEvent,
    MariadbGtidEvent,
    QueryEvent,
    XidEvent,
)
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

from cdc_listener.catalog import CommerceCatalog
from cdc_listener.checkpoint import CheckpointStore, LeaderLock
from cdc_listener.gtid import advance, flavour_of
from cdc_listener.metrics import ListenerMetrics
from cdc_listener.position import (
    BinlogPosition,
    KafkaUnavailable,
    ListenerError,
    StartSpec,
)
from cdc_listener.prefilter import Idle, Skipped
from cdc_listener.preflight import check_server_id, check_source
from cdc_listener.publisher import PublisherProcess
from cdc_listener.stream import (
    RECONNECTED,
    BinlogSource,
    check_position_available,
    current_position,
)
from cdc_listener.translate import WATCHED_TABLES, translate, translate_query
from config import Settings
from domain.events import FAMILIES, Operation, encode_change_event, event_id
from plumbing.db import DbConnection, connect_commerce, connect_state_store, revive
from plumbing.gaps import GapWatch
from plumbing.kafka import ensure_topics, topic_name
from plumbing.locks import LeaseLost
from plumbing.logs import get_logger
from plumbing.retry import backoff_delay

ORDER_FAMILIES = ("shipment", "cancellation", "refund")
# kafka-python's producer blocks up to max_block_ms (60 s) for metadata; a spawn on a loaded host on top
PUBLISHER_START_TIMEOUT_S = 90.0
OPS: dict[type, Operation] = {WriteRowsEvent: "insert", UpdateRowsEvent: "update", DeleteRowsEvent: "delete"}


class Listener:
    def __init__(self, settings: Settings, start: StartSpec | None = None,
                 metrics: ListenerMetrics | None = None, clock: Callable[[], float] = time.time,
                 on_ack: Callable[[str, str, float], None] | None = None):
        self.settings = settings
        self.start = start or StartSpec("checkpoint")
        self.metrics = metrics or ListenerMetrics()
        self.clock = clock
        self.on_ack = on_ack
        self.log = get_logger("cdc_listener", listener=settings.cdc.name)
        self._stop = threading.Event()
        self.streaming = threading.Event()  # set once the binlog stream delivers its first event
        self._source: BinlogSource | None = None
        self._last_saved: tuple[BinlogPosition, int | None] | None = None
        # the end of the last transaction that published events, until a checkpoint covers it
        self._events_end: BinlogPosition | None = None
        self._sent_seen = 0
        self._acked_seen: dict[str, int] = {}
        self.state = "starting"
        self.behind_s = 0.0  # binlog time of the event being processed vs now; 0 when caught up
        # what Kafka acknowledged per partition, beside the checkpoint: a topic that no longer holds
        # it lost events the checkpoint is already past (plumbing/gaps.py)
        self.gaps = GapWatch(settings, "listener", "produced", FAMILIES)

    # connections ---------------------------------------------------------------------------
    def _source_connection(self) -> Any:
        return connect_commerce(self.settings)

    def _state_connection(self) -> Any:
        return connect_state_store(self.settings)

    # acknowledgement counts ----------------------------------------------------------------
    def _publisher_started(self) -> None:
        """A new publisher (after a Kafka outage) counts its acknowledgements from 0 again."""
        self._acked_seen = {}

    def _count_acknowledged(self, acked: dict[str, int]) -> None:
        """Move the acked counter on by what this publisher acknowledged since the last look. The
        counter only grows: a count below the last one seen (a publisher of a new life) adds
        nothing rather than raising; once, in the three-broker fault run, a negative inc() crashed
        the listener after a Kafka outage and its restart left changes unpublished."""
        for family, count in acked.items():
            self.metrics.acked.labels(family).inc(max(0, count - self._acked_seen.get(family, 0)))
            self._acked_seen[family] = count

    # lifecycle -----------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        if self._source is not None:
            self._source.close()

    def preflight(self) -> None:
        conn = self._source_connection()
        try:
            findings = check_source(conn, self.settings.commerce_db.database)
            findings += check_server_id(conn, self.settings.commerce_db.server_id)
        finally:
            conn.close()
        for finding in findings:
            if finding.ok and finding.warning:
                self.log.warning("preflight", check=finding.check, detail=finding.detail)
        failed = [f"{f.check}: {f.detail}" for f in findings if not f.ok]
        if failed:
            raise ListenerError("the Commerce database is not ready for change capture:\n  - "
                                + "\n  - ".join(failed))

    def _lease_connection(self) -> Any:
        """The lease's own connection (its renewals run on a thread), with read and write timeouts
        of one renewal period, so a renewal on a dead socket fails in time to be tried again."""
        renew_s = max(1, round(self.settings.cdc.lease_renew_s))
        return connect_state_store(self.settings, read_timeout=renew_s, write_timeout=renew_s)

    def run(self) -> None:
        self.preflight()
        cdc = self.settings.cdc
        state = self._state_connection()
        lock = LeaderLock(self._lease_connection(), cdc.name, cdc.lease_s, cdc.lease_renew_s)
        try:
            while not self._stop.is_set():
                self.state = "standby"
                while not self._stop.is_set():
                    if lock.try_acquire():
                        break
                    self.log.debug("standby: another listener is active", holder=lock.holder_now())
                    self._stop.wait(cdc.standby_poll_s)
                if self._stop.is_set():
                    return
                # a lease lost to a state-store cut left this connection dead (the lease's own is revived):
                # the lease just taken says the store answers again
                revive([state])
                self.log.info("active: holding the leader lease", holder=lock.holder,
                              epoch=lock.lease.epoch, lease_s=cdc.lease_s)
                self.metrics.active.set(1)
                self.state = "active"
                try:
                    self._run_active_through_kafka_outages(state, lock)
                    return
                except LeaseLost as exc:
                    # Another listener may be active now: publish nothing more, stand by again.
                    self.metrics.active.set(0)
                    self.streaming.clear()
                    self.start = StartSpec("checkpoint")
                    self._last_saved = None
                    self.log.error("lost the leader lease; stopped publishing, standing by",
                                   error=str(exc), holder_now=lock.holder_now())
                    lock.release()
        finally:
            self.metrics.active.set(0)
            self.state = "stopped"
            lock.release()
            lock.conn.close()
            state.close()
            self.gaps.close()

    def _run_active_through_kafka_outages(self, state: DbConnection, lock: LeaderLock) -> None:
        """Stream while active; when Kafka does not acknowledge events, publish again from the
        checkpoint (which only ever covers acknowledged events) with a fresh publisher, after a
        backoff, keeping the leader lock, instead of ending the process.

        A cluster that lost one broker of three still takes writes once its partitions have new
        leaders; a process that exited for it would leave change capture to a supervisor's restart
        delays (Kubernetes doubles them). Kafka unreachable while starting again is waited out the
        same way; at the first start it is an error to show, not to wait for."""
        attempt = 0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self._run_active(state, lock)
                return
            except Exception as exc:
                outage = isinstance(exc, KafkaUnavailable) or (attempt > 0 and isinstance(exc, KafkaError))
                # a connection the state store (or Commerce) dropped while starting to stream again: a cut
                # longer than the lease ends in a new lease taken between two failures of the store
                dropped = isinstance(exc, pymysql.OperationalError | pymysql.InterfaceError)
                if not (outage or dropped):
                    raise
                attempt = 1 if time.monotonic() - started > 60 else attempt + 1
                pause = backoff_delay(attempt, 0.5, 10.0)
                self.metrics.publisher_restarts.inc()
                self.streaming.clear()
                if dropped:
                    revive([state])
                if self.start.kind == "current" or self._last_saved is not None:
                    self.start = StartSpec("checkpoint")  # its position is in the checkpoint now
                self.log.warning("Kafka did not take the events; publishing again from the checkpoint" if outage else
                                 "a database connection failed; streaming again from the checkpoint",
                                 error=f"{type(exc).__name__}: {exc}", attempt=attempt, pause_s=round(pause, 2),
                                 checkpoint=str(self._last_saved[0]) if self._last_saved else None)
                self._stop.wait(pause)

    def _resolve_start(self, conn: DbConnection, checkpoints: CheckpointStore, server_id: int,
                       source: BinlogSource, lock: LeaderLock) -> None:
        spec = self.start
        if spec.kind == "gtid":
            assert spec.gtid is not None
            source.start_at_gtid(spec.gtid)
            self.log.warning("starting after GTID position on operator request", gtid=spec.gtid)
            return
        if spec.kind == "position":
            assert spec.position is not None
            check_position_available(conn, spec.position)
            source.start_at(spec.position)
            self.log.warning("starting at a given position on operator request", position=str(spec.position))
            return
        saved = checkpoints.load() if spec.kind == "checkpoint" else None
        if saved is not None:
            position, saved_server, _resync = saved
            if saved_server != server_id and position.gtid and flavour_of(position.gtid):
                # A failover: another server's file/offset mean nothing here, its GTIDs do.
                self.log.warning("source server changed since the checkpoint; resuming by GTID",
                                 checkpoint_server_id=saved_server, server_id=server_id,
                                 gtid=position.gtid)
                source.start_at_gtid(position.gtid)
                return
            check_position_available(conn, position)
            source.start_at(position)
            self.log.info("resuming from checkpoint", position=str(position))
            return
        position = current_position(conn)
        reason = ("first start: began at the end of the binlog" if spec.kind == "checkpoint"
                  else "started with --from current")
        checkpoints.save(position, server_id, resync_reason=reason, lease=lock.lease)
        if spec.kind == "current":
            # the changes skipped are gone from the binlog: the value streams take the full comparison
            # (resync_due); shipments, cancellations and refunds made meanwhile are repaired like
            # events Kafka lost, by reconciling every recent Walmart order with Commerce
            self.gaps.report_missed(ORDER_FAMILIES, f"the listener started at the end of the binlog ({reason}): "
                                                    "order changes made before it were never published")
        source.start_at(position)
        self.log.warning("no checkpoint used; starting at the end of the binlog, full resync due",
                         position=str(position), reason=reason)

    def _run_active(self, state: DbConnection, lock: LeaderLock) -> None:
        cdc = self.settings.cdc
        conn = self._source_connection()
        publisher: PublisherProcess | None = None
        checkpoints = CheckpointStore(state, cdc.name)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT @@server_id")
                server_id = int(cur.fetchone()[0])

            def query(sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
                with conn.cursor() as cur:
                    cur.execute(sql, args)
                    return list(cur.fetchall())

            topics = {family: topic_name(self.settings.kafka, family) for family in FAMILIES}
            ensure_topics(self.settings.kafka, list(topics.values()))
            # the publisher's interpreter starts while the catalog loads; the binlog is read once it is up
            publisher = PublisherProcess(self.settings.kafka, topics, on_ack=self.on_ack, fence=lock)
            self._publisher_started()
            self._events_end, self._sent_seen = None, 0
            catalog = CommerceCatalog(query, self.clock).load()
            self.gaps.reload()
            self.gaps.maybe_check(force=True)  # on start: do the topics still hold what was acknowledged?
            publisher.wait_ready(PUBLISHER_START_TIMEOUT_S, self._stop)
            source = BinlogSource(self.settings.commerce_db, cdc.heartbeat_s, cdc.watchdog_s,
                                  WATCHED_TABLES, on_reconnect=self.metrics.reconnects.inc,
                                  report_as=f"walmart-sync-{cdc.name}", fast_path=cdc.fast_path,
                                  skip_interval_s=cdc.checkpoint_interval_ms / 1000,
                                  on_idle=publisher.flush_when_idle)
            if source.signals_idle:
                publisher.defer_flushes()
            self._source = source
            if self._stop.is_set():
                return
            self._resolve_start(conn, checkpoints, server_id, source, lock)
            self._stream(source, catalog, publisher, checkpoints, lock, server_id)
        finally:
            if self._source is not None:
                self._source.close()  # a restart after a Kafka outage opens a new binlog connection
            if publisher is not None:
                # Lease gone: end the publisher now, whatever it still holds (the new active
                # listener publishes it again from the checkpoint); a flush could land after it.
                publisher.stop(30.0 if lock.valid() else 0.0)
                if publisher.failure:
                    self.log.error("events in flight were not all delivered; they will be read "
                                   "again from the checkpoint", error=publisher.failure)
                self._checkpoint(publisher, checkpoints, lock, server_id, force=True)
            conn.close()

    def _checkpoint(self, publisher: PublisherProcess, checkpoints: CheckpointStore,
                    lock: LeaderLock, server_id: int, force: bool = False) -> None:
        self._count_acknowledged(publisher.acked)
        self.gaps.produced(publisher.take_offsets())
        self.gaps.maybe_check()
        safe = publisher.safe()
        if safe is None or safe == self._last_saved:
            self.gaps.flush()
            return
        position, ts_ms = safe
        try:
            checkpoints.save(position, server_id, ts_ms, lease=lock.lease)
        except LeaseLost:
            if force:  # stopping anyway; the new active listener owns the checkpoint
                return
            raise
        except pymysql.MySQLError as exc:
            # The state store away (a cut, a restart): the position is saved at a later tick, on the
            # connection revived here. Ending the process for it (as before) left change capture to a
            # supervisor's restart; the lease decides whether this listener may go on publishing, and
            # walmart_sync_cdc_checkpoint_age_seconds shows the checkpoint falling behind.
            revive([checkpoints.conn])
            self.log.warning("checkpoint not saved, the state store is away; will retry", error=str(exc))
            return
        self.gaps.flush()  # beside the checkpoint: what Kafka acknowledged up to it
        self._last_saved = safe
        self.metrics.checkpointed()


    # the stream ----------------------------------------------------------------------------
    def _stream(self, source: BinlogSource, catalog: CommerceCatalog, publisher: PublisherProcess,
                checkpoints: CheckpointStore, lock: LeaderLock, server_id: int) -> None:
        interval = self.settings.cdc.checkpoint_interval_ms / 1000
        next_checkpoint = time.monotonic() + interval
        slot = None
        txn = ""
        ordinal = 0
        gtid_state = source.resume_at.gtid if source.resume_at else None
        txn_gtid: str | None = None
        ts_ms = 0
        metrics = self.metrics
        row_counters: dict[tuple[str, str], Any] = {}
        event_counters: dict[tuple[str, str], Any] = {}
        for event in source.events():
            if self._stop.is_set():
                break
            self.streaming.set()
            if publisher.failure is not None:
                raise KafkaUnavailable(f"Kafka did not acknowledge an event: {publisher.failure}")
            kind = type(event)
            if event is RECONNECTED:
                if slot is not None:
                    publisher.close_slot(slot, None, None)  # read again from its start
                    slot = None
                self.log.warning("binlog stream reconnected", resume_at=str(source.resume_at))
            elif kind in OPS:
                if slot is None:  # no GTID/BEGIN seen (resumed mid-way or no GTIDs)
                    slot = publisher.open_slot()
                    txn = f"{server_id}:{source.position[0]}:{event.packet.log_pos}"
                    ordinal = 0
                op = OPS[kind]
                ts_ms = event.timestamp * 1000
                metrics.saw_event()
                self.behind_s = max(0.0, self.clock() - event.timestamp)
                metrics.seconds_behind_source.set(self.behind_s)
                table = event.table
                info = {"server_id": server_id, "gtid": txn_gtid, "log_file": source.position[0],
                        "log_pos": event.packet.log_pos, "ts_ms": ts_ms, "database": event.schema,
                        "table": table, "txn": txn}
                now = datetime.now(UTC)
                rows_counter = row_counters.get((table, op))
                if rows_counter is None:
                    rows_counter = row_counters[(table, op)] = metrics.rows.labels(table, op)
                for row in event.rows:
                    if op == "update":
                        before, after = row["before_values"], row["after_values"]
                    elif op == "insert":
                        before, after = None, row["values"]
                    else:
                        before, after = row["values"], None
                    rows_counter.inc()
                    for sub, draft in enumerate(translate(table, op, before, after, catalog)):
                        eid = event_id(txn, ordinal, sub)
                        publisher.send(draft.family, draft.key, encode_change_event(
                            eid, draft.family, draft.type, draft.op, draft.key, draft.sku, draft.order_id,
                            draft.entity, draft.before, draft.after, draft.reservation, info, now), eid, slot)
                        counter = event_counters.get((draft.family, draft.type))
                        if counter is None:
                            counter = event_counters[(draft.family, draft.type)] = \
                                metrics.events.labels(draft.family, draft.type)
                        counter.inc()
                    catalog.observe(table, before, after)
                    ordinal += 1
            elif kind is MariadbGtidEvent or kind is GtidEvent:
                if slot is not None:  # a transaction that never ended (should not happen)
                    publisher.close_slot(slot, None, None)
                slot = publisher.open_slot()
                txn_gtid = event.gtid
                txn = txn_gtid
                ordinal = 0
            elif kind is XidEvent:
                gtid_state = self._close(publisher, source, slot, txn_gtid, gtid_state, event)
                slot, txn_gtid = None, None
            elif kind is QueryEvent:
                query = event.query.strip().upper()
                if query == "BEGIN":
                    if slot is None:
                        slot = publisher.open_slot()
                        txn = f"{server_id}:{source.position[0]}:{event.packet.log_pos}"
                        ordinal = 0
                elif slot is not None:  # COMMIT of a non-transactional table, or a DDL
                    if query != "COMMIT":
                        self.log.info("DDL in the binlog", schema=event.schema,
                                      query=event.query[:200])
                        self._publish_statement(event, publisher, slot, server_id, source, txn, txn_gtid)
                    gtid_state = self._close(publisher, source, slot, txn_gtid, gtid_state, event)
                    slot, txn_gtid = None, None
            elif kind is Skipped:
                # fast path: transactions that touched no watched table ended; their end is a
                # boundary to checkpoint (at most every checkpoint interval, not per transaction)
                if slot is None:
                    position = BinlogPosition(log_file=event.log_file, log_pos=event.log_pos, gtid=event.gtid)
                    source.resume_at = position
                    gtid_state = event.gtid
                    metrics.transactions.inc(event.transactions)
                    publisher.close_slot(publisher.open_slot(), position, event.timestamp * 1000)
            elif kind is HeartbeatLogEvent or kind is Idle:
                if slot is None and publisher.in_flight == 0:
                    self.behind_s = 0.0
                    metrics.seconds_behind_source.set(0)
                if kind is Idle and slot is None and self._events_acknowledged(publisher):
                    # caught up and what was published is acknowledged: checkpoint it now, not at the
                    # next interval, so a restart does not publish it again. Only after events: the
                    # checkpoint's own write (a state store on this server) is a skipped transaction,
                    # and checkpointing those on every tick would feed itself.
                    lock.check()
                    self._checkpoint(publisher, checkpoints, lock, server_id)
                    self._events_end = None
                    next_checkpoint = time.monotonic() + interval
            if time.monotonic() >= next_checkpoint:
                lock.check()  # an idle stream sends no batch to fence: stop here, at the latest
                metrics.in_flight.set(publisher.in_flight)
                self._checkpoint(publisher, checkpoints, lock, server_id)
                next_checkpoint = time.monotonic() + interval

    def _events_acknowledged(self, publisher: PublisherProcess) -> bool:
        """Whether the last transaction that published events is now inside the safe position."""
        end, safe = self._events_end, publisher.safe()
        return (end is not None and safe is not None
                and (safe[0].log_file, safe[0].log_pos) >= (end.log_file, end.log_pos))

    def _publish_statement(self, event: Any, publisher: PublisherProcess, slot: Any, server_id: int,
                           source: BinlogSource, txn: str, txn_gtid: str | None) -> None:
        """A statement that changes what Walmart shows with no row events (a rule price index
        swapped in by RENAME TABLE: cdc_listener/translate.py ``translate_query``)."""
        schema = event.schema.decode() if isinstance(event.schema, bytes) else str(event.schema or "")
        drafts = translate_query(event.query, schema, self.settings.commerce_db.database)
        if not drafts:
            return
        info = {"server_id": server_id, "gtid": txn_gtid, "log_file": source.position[0],
                "log_pos": event.packet.log_pos, "ts_ms": event.timestamp * 1000, "database": schema,
                "table": drafts[0].key, "txn": txn or f"{server_id}:{source.position[0]}:{event.packet.log_pos}"}
        now = datetime.now(UTC)
        for sub, draft in enumerate(drafts):
            eid = event_id(info["txn"], 0, sub)
            publisher.send(draft.family, draft.key, encode_change_event(
                eid, draft.family, draft.type, draft.op, draft.key, draft.sku, draft.order_id, draft.entity,
                draft.before, draft.after, draft.reservation, info, now), eid, slot)
            self.metrics.events.labels(draft.family, draft.type).inc()

    def _close(self, publisher: PublisherProcess, source: BinlogSource, slot: Any,
               txn_gtid: str | None, gtid_state: str | None, event: Any) -> str | None:
        if source.fast_path:  # the reader folded in the GTIDs of the transactions it skipped
            gtid_state = source.gtid_state()
        elif txn_gtid is not None:
            gtid_state = advance(gtid_state, txn_gtid)
        position = BinlogPosition(log_file=source.position[0], log_pos=source.position[1],
                                  gtid=gtid_state)
        source.resume_at = position
        self.metrics.transactions.inc()
        if slot is None:
            slot = publisher.open_slot()
        publisher.close_slot(slot, position, event.timestamp * 1000)
        if publisher.sent != self._sent_seen:
            self._sent_seen, self._events_end = publisher.sent, position
        return gtid_state
