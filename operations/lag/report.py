"""One report over every stage of the sidecar, for `walmart-sync lag`, the status page and the
metrics: binlog -> Kafka, each consumer group per partition, Walmart pending per stream, poll
freshness, dead letters, orders and listings. Each stage has a status and says whether it is over
its threshold (`[ops]` settings), which is what `lag` exits non-zero for.

Sources: the Commerce server's binlog position, the state store (checkpoint, pending values and
feeds, watermarks, component status, orders, listings, lag history) and Kafka (committed offsets,
high watermarks, message timestamps) read from outside the groups.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pymysql
from pydantic import BaseModel

from config import Settings
from config.components import DRIFT_KINDS, GAP_REPAIRERS, POLL_WATERMARKS, WALMART_STREAMS, worker_families
from operations.lag.burrow import Evaluation, evaluate, worst
from operations.lag.history import LagHistory
from operations.lag.kafka_lag import GroupSample, KafkaLagReader
from plumbing.db import DbConnection
from plumbing.kafka import topic_name
from sync_workers.stores.listings import LISTING_STATUSES


class PartitionRow(BaseModel):
    topic: str
    partition: int
    committed: int | None
    end: int
    lag: int
    lag_seconds: float
    status: str


class StageRow(BaseModel):
    stage: str                  # e.g. "binlog", "group:inventory", "walmart:price", "poll:orders"
    label: str
    status: str                 # OK WARN STALL STOP ERR
    over: bool                  # over its threshold
    lag_messages: int | None = None
    lag_seconds: float | None = None
    threshold: str = ""
    detail: str = ""
    partitions: list[PartitionRow] = []
    trend: list[float] = []     # recent lag readings, oldest first (messages for groups)
    group_id: str | None = None
    members: int | None = None
    counts: dict[str, int] = {}


class LagReport(BaseModel):
    generated_at: str
    window_s: float
    stages: list[StageRow]
    absent_groups: list[str] = []
    gaps_open: dict[str, int] = {}  # family -> partition gaps not yet repaired (records Kafka lost)

    @property
    def over(self) -> list[StageRow]:
        return [s for s in self.stages if s.over]


def worker_groups(settings: Settings) -> dict[str, list[str]]:
    """Worker name -> the topics its consumer group reads."""
    return {name: [topic_name(settings.kafka, family) for family in families]
            for name, families in worker_families().items()}


def sampled_groups(settings: Settings) -> dict[str, list[str]]:
    """The workers' groups and, with ``cdc.source = "debezium"``, the translation stage's group on
    Debezium's topics (its lag is how far the sidecar is behind Debezium)."""
    groups = worker_groups(settings)
    if settings.cdc.source == "debezium":
        from cdc_debezium.stage import debezium_topics

        groups[settings.cdc.debezium.group] = list(debezium_topics(settings))
    return groups


def _age(at: Any, now: float) -> float | None:
    if at is None:
        return None
    stamp = at.timestamp() if isinstance(at, datetime) else float(at)
    return round(max(0.0, now - stamp), 1)


class ReportBuilder:
    def __init__(self, settings: Settings, state: DbConnection, commerce: DbConnection | None, reader: KafkaLagReader):
        self.settings = settings
        self.state = state
        self.commerce = commerce
        self.reader = reader
        self.history = LagHistory(state)

    # sampling ----------------------------------------------------------------------------------------
    def sample(self) -> dict[str, GroupSample]:
        return self.reader.sample(sampled_groups(self.settings))

    def build(self, window_s: float, fresh: list[dict[str, GroupSample]] | None = None) -> LagReport:
        """``fresh``: samples taken now (one or more rounds), added to the kept history."""
        now = time.time()
        series = self.history.recent(now - window_s)
        for round_ in fresh or []:
            for name, sample in round_.items():
                series.setdefault(name, []).append(sample)
        for samples in series.values():
            samples.sort(key=lambda s: s.taken_at)
        ops = self.settings.ops
        beats = {name: _age(at, now) for name, at in self.query(
            self.state, "SELECT component, alive_at FROM component_status WHERE alive_at IS NOT NULL")}
        stages = [self._debezium(now) if self.settings.cdc.source == "debezium" else self._binlog(now)]
        groups: dict[str, tuple[GroupSample, Evaluation]] = {}
        absent = []
        for name in sampled_groups(self.settings):
            samples = series.get(name) or []
            # Unknown to the broker and never run by walmart-sync: absent. A group the broker has
            # forgotten (Apache Kafka drops a killed member that never committed) but whose worker
            # beat once is a stopped consumer with work waiting, not an absent one.
            if not samples or not samples[-1].exists and not samples[-1].error and name not in beats:
                absent.append(name)
                continue
            beat_age = beats.get(name)
            alive = None if beat_age is None else beat_age <= ops.liveness_s
            evaluation = evaluate(samples, min_window_s=min(window_s / 2, 2.0), alive=alive)
            latest = samples[-1]
            groups[name] = (latest, evaluation)
            stages.append(StageRow(
                stage=f"group:{name}", label=f"{name} consumer group" if name in worker_groups(self.settings)
                else "Debezium topics -> change events (translation)", status=evaluation.status,
                over=evaluation.status in ("STALL", "STOP", "ERR") or latest.lag_seconds > ops.max_consumer_lag_s,
                lag_messages=latest.lag, lag_seconds=round(latest.lag_seconds, 1),
                threshold=f"status OK/WARN and lag < {ops.max_consumer_lag_s:.0f} s",
                detail=f"{evaluation.detail}; {latest.members if latest.members is not None else '?'} member(s) "
                       f"in {latest.group_id} ({latest.state})",
                group_id=latest.group_id, members=latest.members,
                partitions=[PartitionRow(topic=p.topic, partition=p.partition, committed=p.committed, end=p.end,
                                         lag=p.lag, lag_seconds=p.lag_seconds,
                                         status=evaluation.partitions.get((p.topic, p.partition), "OK"))
                            for p in latest.partitions],
                trend=[float(s.lag) for s in samples[-20:]]))
        stages += self._streams(now, groups)
        gap_rows, gaps_open = self._gaps(stages)
        stages += gap_rows
        stages += self._pollers(now)
        stages += self._dead_letters()
        stages.append(self._orders(now))
        stages.append(self._acknowledge_deadline())
        stages += self._ship_deadlines()
        stages.append(self._drift(now))
        stages.append(self._listings())
        return LagReport(generated_at=datetime.now().astimezone().isoformat(timespec="seconds"),
                         window_s=window_s, stages=stages, absent_groups=absent, gaps_open=gaps_open)

    # stages -------------------------------------------------------------------------------------------
    def query(self, conn: DbConnection, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        except pymysql.err.ProgrammingError as exc:
            if exc.args and exc.args[0] == 1146:  # the table is not there yet: that component never ran
                return []
            raise

    def _debezium(self, now: float) -> StageRow:
        """Debezium's own position, as its newest record on the watched tables' topics shows it,
        beside the server's. Informational: without Debezium heartbeats a quiet set of watched
        tables on a busy server looks behind, so it never counts as over; the translation group's
        row (below) is the sidecar's own lag behind Debezium."""
        from cdc_debezium.preflight import newest_source
        from cdc_listener.stream import current_position

        label = "binlog -> Debezium topics"
        try:
            source = newest_source(self.settings)
        except Exception as exc:
            return StageRow(stage="debezium", label=label, status="ERR", over=True,
                            detail=f"cannot read Debezium's topics: {type(exc).__name__}: {exc}")
        if source is None:
            return StageRow(stage="debezium", label=label, status="OK", over=False,
                            detail="no change record on Debezium's topics yet")
        log_file, log_pos = str(source.get("file") or ""), int(source.get("pos") or 0)
        ts_ms = int(source.get("ts_ms") or 0)
        detail = f"Debezium's newest record at {log_file}:{log_pos}" + (
            f" (gtid {source['gtid']})" if source.get("gtid") else "")
        lag_s: float | None = None
        if self.commerce is not None:
            server = current_position(self.commerce)
            behind = (server.log_file, server.log_pos) > (log_file, log_pos)
            lag_s = round(max(0.0, now - ts_ms / 1000), 1) if behind and ts_ms else 0.0
            detail += f", server at {server.log_file}:{server.log_pos}"
            if behind:
                detail += " (later transactions may touch no watched table)"
        return StageRow(stage="debezium", label=label, status="OK", over=False, lag_seconds=lag_s,
                        threshold="informational", detail=detail)

    def _binlog(self, now: float) -> StageRow:
        from cdc_listener.checkpoint import leader_lease_name
        from cdc_listener.stream import current_position
        from plumbing.locks import lease_holder

        threshold = self.settings.ops.max_binlog_lag_s
        rows = self.query(self.state, "SELECT log_file, log_pos, binlog_ts_ms, updated_at FROM cdc_checkpoint "
                                       "WHERE name = %s", (self.settings.cdc.name,))
        holder = lease_holder(self.state, leader_lease_name(self.settings.cdc.name))
        if not rows:
            return StageRow(stage="binlog", label="binlog -> Kafka (listener)", status="STOP" if holder is None
                            else "OK", over=holder is None, threshold=f"< {threshold:.0f} s behind",
                            detail="no checkpoint yet" + ("; no listener is active" if holder is None else ""))
        log_file, log_pos, ts_ms, updated_at = rows[0]
        detail = f"checkpoint {log_file}:{log_pos}"
        lag_s: float | None = None
        if self.commerce is not None:
            server = current_position(self.commerce)
            behind = (server.log_file, server.log_pos) > (log_file, int(log_pos))
            lag_s = round(max(0.0, now - ts_ms / 1000), 1) if behind and ts_ms else 0.0
            detail += f", server at {server.log_file}:{server.log_pos}"
            if behind and server.log_file == log_file:
                detail += f" ({server.log_pos - int(log_pos)} bytes behind)"
        detail += "; listener active" if holder is not None else "; NO ACTIVE LISTENER"
        status = "OK" if lag_s is None or lag_s <= threshold else "WARN"
        if holder is None and (lag_s or 0) > 0:
            status = "STOP"
        return StageRow(stage="binlog", label="binlog -> Kafka (listener)", status=status,
                        over=status != "OK", lag_seconds=lag_s, threshold=f"< {threshold:.0f} s behind",
                        detail=detail)

    def _streams(self, now: float, groups: dict[str, tuple[GroupSample, Evaluation]]) -> list[StageRow]:
        components = {name: (ok_at, err_at, err) for name, ok_at, err_at, err in self.query(
            self.state, "SELECT component, last_success_at, last_error_at, last_error FROM component_status")}
        feeds = {worker: (n, oldest) for worker, n, oldest in self.query(
            self.state, "SELECT worker, COUNT(*), MIN(submitted_at) FROM walmart_feeds WHERE status = 'SUBMITTED' "
                        "GROUP BY worker")}
        due = {kind: (n, oldest) for kind, n, oldest in self.query(
            self.state, "SELECT kind, COUNT(*), MIN(next_check_at) FROM walmart_values WHERE next_check_at <= NOW() "
                        "GROUP BY kind")}
        # values Walmart will not take yet (a price within 24 h of the item's setup): waiting, not
        # pending: they are not behind, so they do not count against the threshold
        waiting = {kind: (int(n), reason, until) for kind, n, reason, until in self.query(
            self.state, "SELECT kind, COUNT(*), MIN(reason), MIN(until_at) FROM walmart_values_waiting "
                        "GROUP BY kind")}
        threshold = self.settings.ops.max_pending_age_s
        rows = []
        for stream in WALMART_STREAMS:
            if stream not in groups and stream not in components and stream not in waiting:
                continue
            ages = [groups[stream][0].lag_seconds] if stream in groups else []
            details = []
            if stream in feeds:
                ages.append(_age(feeds[stream][1], now) or 0.0)
                details.append(f"{feeds[stream][0]} feed(s) processing")
            if stream in due:
                ages.append(_age(due[stream][1], now) or 0.0)
                details.append(f"{due[stream][0]} SKU(s) due for a push")
            counts: dict[str, int] = {}
            if stream in waiting:
                count, reason, until = waiting[stream]
                counts["waiting"] = count
                details.append(f"{count} SKU(s) waiting ({reason}), the first due at "
                               f"{until:%Y-%m-%d %H:%M:%S}" if isinstance(until, datetime) else
                               f"{count} SKU(s) waiting ({reason})")
            pending = round(max(ages, default=0.0), 1)
            ok_at, err_at, err = components.get(stream, (None, None, None))
            if ok_at is not None:
                details.append(f"last success {_age(ok_at, now):.0f} s ago")
            if err_at is not None and (ok_at is None or err_at >= ok_at):
                details.append(f"last error {_age(err_at, now):.0f} s ago: {err}")
            over = pending > threshold
            rows.append(StageRow(stage=f"walmart:{stream}", label=f"Walmart {stream} pending",
                                 status="WARN" if over else "OK", over=over, lag_seconds=pending,
                                 threshold=f"< {threshold:.0f} s", detail="; ".join(details) or "nothing pending",
                                 counts=counts))
        return rows

    def _gaps(self, stages: list[StageRow]) -> tuple[list[StageRow], dict[str, int]]:
        """Records Kafka lost (plumbing/gaps.py): one ERR row per family until repaired, and the
        consumer group that reads the family shows ERR too, since what it committed no longer
        describes what it missed. Returns the rows and the open gaps per family."""
        rows = self.query(self.state, "SELECT family, COUNT(*), MIN(detected_at), GROUP_CONCAT(DISTINCT detected_by), "
                                       "SUBSTRING_INDEX(GROUP_CONCAT(reason ORDER BY id SEPARATOR '|'), '|', 1) "
                                       "FROM kafka_gaps WHERE repaired_at IS NULL GROUP BY family")
        consumers = {family: name for name, families in worker_families().items() for family in families}
        by_stage = {s.stage: s for s in stages}
        out, counts = [], {}
        for family, count, at, found_by, reason in rows:
            family, count = str(family), int(count)
            counts[family] = count
            repairer = GAP_REPAIRERS.get(family, "nobody")
            out.append(StageRow(
                stage=f"gap:{family}", label=f"{family} records lost", status="ERR", over=True,
                lag_messages=count, threshold="no records lost",
                detail=f"RECORDS LOST: {count} partition gap(s) since {at}, found by {found_by}: {reason}; "
                       f"{repairer} repairs them from the source of truth"))
            group = by_stage.get(f"group:{consumers.get(family, '')}")
            if group is not None:
                group.status, group.over = "ERR", True
                group.detail = f"{family} records lost in Kafka (repair pending); {group.detail}"
        return out, counts

    def _pollers(self, now: float) -> list[StageRow]:
        rows = []
        watermarks = dict(self.query(self.state, "SELECT name, polled_at FROM walmart_poll_watermarks"))
        # the running pollers' own intervals (recorded when they start), else this process's settings
        intervals: dict[str, float] = {"orders": self.settings.workers.order_poll_s,
                                       "returns": self.settings.workers.return_poll_s}
        intervals.update({str(n): float(s) for n, s in self.query(
            self.state, "SELECT name, interval_s FROM walmart_poll_intervals")})
        for name, poller in POLL_WATERMARKS.items():
            if name not in watermarks:
                continue
            age = _age(watermarks[name], now) or 0.0
            threshold = self.settings.ops.max_poll_age_s or max(60.0, 10 * intervals[name])
            over = age > threshold
            rows.append(StageRow(stage=f"poll:{name}", label=f"Walmart {name} polled",
                                 status="STOP" if over else "OK", over=over, lag_seconds=age,
                                 threshold=f"< {threshold:.0f} s since the last complete poll",
                                 detail=f"{poller}, every {intervals[name]:g} s"))
        return rows

    def _dead_letters(self) -> list[StageRow]:
        from sync_workers.runtime.loop import dlq_topic

        workers = list(worker_groups(self.settings))
        sizes = self.reader.topic_sizes([dlq_topic(self.settings, w) for w in workers])
        replayed = dict(self.query(self.state, "SELECT worker, COUNT(*) FROM dlq_replays GROUP BY worker"))
        rows = []
        limit = self.settings.ops.max_dead_letters
        for worker in workers:
            total = sizes.get(dlq_topic(self.settings, worker), 0)
            if not total:
                continue
            waiting = max(0, total - int(replayed.get(worker, 0)))
            rows.append(StageRow(stage=f"dlq:{worker}", label=f"dead letters of {worker}",
                                 status="WARN" if waiting > limit else "OK", over=waiting > limit,
                                 lag_messages=waiting, threshold=f"<= {limit} not replayed",
                                 detail=f"{total} dead-lettered, {total - waiting} replayed; "
                                        f"walmart-sync dlq list {worker}"))
        return rows

    def _orders(self, now: float) -> StageRow:
        open_rows = self.query(self.state, "SELECT COUNT(*), MIN(updated_at) FROM walmart_order_state WHERE status "
                                            "IN ('creating', 'placing')")
        failed = self.query(self.state, "SELECT COUNT(*) FROM walmart_order_state WHERE status LIKE 'failed%%'")
        delays = [float(d) for (d,) in self.query(
            self.state, "SELECT TIMESTAMPDIFF(MICROSECOND, FROM_UNIXTIME(order_date / 1000), imported_at) / 1e6 FROM "
                        "walmart_order_state WHERE imported_at > NOW() - INTERVAL 1 DAY AND order_date IS NOT NULL")
            if d is not None]
        count, oldest = open_rows[0] if open_rows else (0, None)
        age = _age(oldest, now) if count else 0.0
        threshold = self.settings.ops.max_pending_age_s
        delays.sort()
        detail = f"{count} being imported, {failed[0][0] if failed else 0} failed (see walmart_order_state)"
        if delays:
            detail += f"; import delay last 24 h: p50 {delays[len(delays) // 2]:.1f} s, max {delays[-1]:.1f} s " \
                      f"({len(delays)} orders)"
        over = (age or 0.0) > threshold
        return StageRow(stage="orders", label="Walmart orders -> Commerce", status="WARN" if over else "OK",
                        over=over, lag_messages=int(count or 0), lag_seconds=age, threshold=f"< {threshold:.0f} s",
                        detail=detail)

    def _acknowledge_deadline(self) -> StageRow:
        """Walmart's clock, not ours: a PO must be acknowledged within 4 hours of the order, imported
        or not (a refused or malformed one too), or Walmart's alarm fires. At risk inside
        ``ops.acknowledge_margin_s`` of that, late after it. Judged on the state store's clock
        against Walmart's orderDate, so the sidecar's own clock does not matter."""
        from sync_workers.pull.order_importer import ACKNOWLEDGE_SETTLED

        margin_ms = int(self.settings.ops.acknowledge_margin_s * 1000)
        settled = tuple(sorted(ACKNOWLEDGE_SETTLED))
        marks = ", ".join(["%s"] * len(settled))
        rows = self.query(
            self.state, "SELECT purchase_order_id, status, order_date, "
                        "UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 - order_date FROM walmart_order_state "
                        f"WHERE status NOT IN ({marks}) AND order_date IS NOT NULL "
                        "AND order_date < UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 - %s "
                        "ORDER BY order_date LIMIT 1000", (*settled, ACKNOWLEDGE_WITHIN_MS - margin_ms))
        late = [row for row in rows if float(row[3]) >= ACKNOWLEDGE_WITHIN_MS]
        at_risk = len(rows) - len(late)
        counts = {"at_risk": at_risk, "late": len(late)}
        if not rows:
            return StageRow(stage="deadline:acknowledge", label="Walmart acknowledge deadline", status="OK",
                            over=False, lag_messages=0, threshold="4 h from the order",
                            detail="every PO acknowledged in time, or not due yet", counts=counts)
        oldest_po, oldest_status, _, oldest_age_ms = rows[0]
        left_s = (ACKNOWLEDGE_WITHIN_MS - float(oldest_age_ms)) / 1000
        when = f"{-left_s / 60:.0f} min late" if left_s < 0 else f"{left_s / 60:.0f} min left"
        return StageRow(stage="deadline:acknowledge", label="Walmart acknowledge deadline",
                        status="ERR" if late else "WARN", over=True, lag_messages=len(rows),
                        lag_seconds=float(oldest_age_ms) / 1000, threshold="4 h from the order",
                        detail=f"{len(late)} late, {at_risk} at risk; oldest PO {oldest_po} ({oldest_status}), {when}: "
                               f"walmart-sync order {oldest_po}", counts=counts)

    def at_risk_orders(self) -> list[AtRiskOrder]:
        """Every open PO inside a margin of one of Walmart's deadlines, or past it, soonest first:
        acknowledge (4 h from the order), ship by (the estimated ship date) and auto-cancel (4 days
        after it). Open means Walmart still shows units neither shipped nor cancelled; a PO the
        importer refused (an unknown SKU) is among them with its reason, since Walmart's clock runs
        anyway. On the state store's clock, against Walmart's dates."""
        from sync_workers.pull.order_importer import ACKNOWLEDGE_SETTLED

        ops = self.settings.ops
        settled = tuple(sorted(ACKNOWLEDGE_SETTLED))
        marks = ", ".join(["%s"] * len(settled))
        closed = tuple(sorted(CLOSED_ON_WALMART))
        closed_marks = ", ".join(["%s"] * len(closed))
        out: list[AtRiskOrder] = []
        try:
            rows = self._at_risk_rows(closed, closed_marks, settled, marks)
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] == 1054:  # a state schema no importer of this version opened yet
                return []
            raise
        for po, status, error, order_date, ship_by, now_ms, increment in rows:
            now_ms = float(now_ms)
            deadlines = []
            if status not in ACKNOWLEDGE_SETTLED and order_date is not None:
                deadlines.append(("acknowledge", int(order_date) + ACKNOWLEDGE_WITHIN_MS, ops.acknowledge_margin_s))
            if ship_by is not None:
                deadlines.append(("ship_by", int(ship_by), ops.ship_by_margin_s))
                deadlines.append(("auto_cancel", int(ship_by) + AUTO_CANCEL_AFTER_SHIP_BY_MS, ops.auto_cancel_margin_s))
            for deadline, due_ms, margin_s in deadlines:
                left_s = (due_ms - now_ms) / 1000
                if left_s > margin_s:
                    continue
                out.append(AtRiskOrder(
                    purchase_order_id=str(po), commerce_order=increment, deadline=deadline,
                    state="late" if left_s < 0 else "at_risk", left_s=round(left_s, 1),
                    due_at=datetime.fromtimestamp(due_ms / 1000).astimezone().isoformat(timespec="minutes"),
                    status=str(status), reason=error))
        out.sort(key=lambda o: o.left_s)
        return out

    def _at_risk_rows(self, closed: tuple[str, ...], closed_marks: str, settled: tuple[str, ...],
                      marks: str) -> list[tuple[Any, ...]]:
        ops = self.settings.ops
        return self.query(
            self.state, "SELECT s.purchase_order_id, s.status, s.last_error, s.order_date, s.ship_by, "
                        "UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000, m.commerce_increment_id FROM walmart_order_state s "
                        "LEFT JOIN walmart_order_map m ON m.purchase_order_id = s.purchase_order_id "
                        f"WHERE s.status NOT IN ({closed_marks}) AND (s.open_units IS NULL OR s.open_units > 0) AND ("
                        f"(s.status NOT IN ({marks}) AND s.order_date IS NOT NULL AND s.order_date < "
                        "UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 - %s) OR "
                        "(s.ship_by IS NOT NULL AND s.ship_by < UNIX_TIMESTAMP(CURRENT_TIMESTAMP(3)) * 1000 + %s)) "
                        "ORDER BY COALESCE(s.ship_by, s.order_date) LIMIT 1000",
            (*closed, *settled, ACKNOWLEDGE_WITHIN_MS - int(ops.acknowledge_margin_s * 1000),
             int(max(ops.ship_by_margin_s, ops.auto_cancel_margin_s - AUTO_CANCEL_AFTER_SHIP_BY_MS / 1000) * 1000)))

    def _ship_deadlines(self) -> list[StageRow]:
        """The ship-by and auto-cancel rows of `lag`: how many open POs are at risk or late, and the
        one with least time left (what `walmart-sync order` explains)."""
        risky = self.at_risk_orders()
        rows = []
        for deadline, label, what in (("ship_by", "Walmart ship-by date", "the estimated ship date"),
                                      ("auto_cancel", "Walmart auto-cancel", "4 days after the estimated ship date")):
            mine = [o for o in risky if o.deadline == deadline]
            late = [o for o in mine if o.state == "late"]
            counts = {"at_risk": len(mine) - len(late), "late": len(late)}
            if not mine:
                rows.append(StageRow(stage=f"deadline:{deadline}", label=label, status="OK", over=False,
                                     lag_messages=0, threshold=what, counts=counts,
                                     detail="no open order near it"))
                continue
            first = mine[0]
            when = (f"{-first.left_s / 3600:.1f} h late" if first.left_s < 0 else f"{first.left_s / 3600:.1f} h left")
            why = f"; not in Commerce: {first.reason}" if first.reason and first.status.startswith("failed") else ""
            rows.append(StageRow(
                stage=f"deadline:{deadline}", label=label, status="ERR" if late else "WARN", over=True,
                lag_messages=len(mine), threshold=what, counts=counts,
                detail=f"{len(late)} late, {len(mine) - len(late)} at risk; first PO {first.purchase_order_id} "
                       f"({first.status}), {when}{why}: walmart-sync order {first.purchase_order_id}"))
        return rows

    def _drift(self, now: float) -> StageRow:
        """What the reconciler found Walmart showing unlike Commerce, by kind, and how fresh its reads are."""
        found = {str(kind): (int(n), reason) for kind, n, reason in self.query(
            self.state, "SELECT kind, COUNT(*), MIN(reason) FROM walmart_drift GROUP BY kind")}
        progress = self.query(self.state, "SELECT last_slice_at, last_cycle_at, interval_s, last_error FROM "
                                          "walmart_reconcile_progress WHERE name = 'reconciler'")
        counts = {kind: found.get(kind, (0, None))[0] for kind in DRIFT_KINDS}
        if not progress:
            return StageRow(stage="drift", label="Walmart agrees with Commerce", status="OK", over=False,
                            lag_messages=sum(counts.values()), counts=counts, threshold="no difference left unfixed",
                            detail="the reconciler has not run yet (walmart-sync work reconciler)")
        last_slice, last_cycle, interval_s, error = progress[0]
        age = _age(last_slice, now)
        stale = age is None or age > max(120.0, 4 * float(interval_s or 0))
        details = [", ".join(f"{counts[k]} {k}" for k in DRIFT_KINDS)]
        for kind in ("unpublished", "missing"):
            if kind in found:
                details.append(f"{kind}: e.g. {found[kind][1]}")
        details.append("last slice read " + (f"{age:.0f} s ago" if age is not None else "never") +
                       (f", last full pass at {_stamp(last_cycle)}" if last_cycle else ", no full pass yet"))
        if error:
            details.append(f"last error: {error}")
        needs_person = counts["unpublished"] + counts["missing"]
        status = "STOP" if stale else "WARN" if needs_person or counts["quantity"] or counts["price"] else "OK"
        return StageRow(stage="drift", label="Walmart agrees with Commerce", status=status,
                        over=stale or needs_person > 0, lag_messages=sum(counts.values()), lag_seconds=age,
                        threshold="no unpublished or missing item; a slice read within 4 intervals",
                        detail="; ".join(details), counts=counts)

    def _listings(self) -> StageRow:
        found = dict(self.query(self.state, "SELECT status, COUNT(*) FROM walmart_listings GROUP BY status"))
        # every status, 0 where none: the walmart_sync_listings gauge showed draft=1000 long after
        # the drafts were matched, because a status without rows was never set again
        counts = {status: int(found.get(status, 0)) for status in LISTING_STATUSES}
        detail = ", ".join(f"{status} {counts[status]}" for status in
                           ("matched", "submitted", "candidate", "draft", "unmatched", "error")) if found \
            else "no listings yet"
        return StageRow(stage="listings", label="listings", status="OK", over=False,
                        lag_messages=counts["draft"] + counts["candidate"] + counts["submitted"], detail=detail, counts=counts)


ACKNOWLEDGE_WITHIN_MS = 4 * 3600 * 1000  # walmart-api-notes: Created -> Acknowledged within 4 h [doc]
# walmart-api-notes ("Performance alarms", the PO line auto-canceled event): a seller-fulfilled line
# not shipped with valid tracking by the estimated ship date + 4 calendar days is auto-cancelled
AUTO_CANCEL_AFTER_SHIP_BY_MS = 4 * 86_400_000
# importer statuses after which Walmart has nothing left to ship for the PO
CLOSED_ON_WALMART = frozenset({"cancelled_out_of_stock", "skipped_nothing_open", "cancelled_by_walmart",
                               "cancelled_on_request"})


class AtRiskOrder(BaseModel):
    purchase_order_id: str
    commerce_order: str | None
    deadline: str  # acknowledge, ship_by, auto_cancel
    state: str     # at_risk, late
    left_s: float  # negative: late by that much
    due_at: str    # with its timezone
    status: str    # the importer's
    reason: str | None  # why it is not in Commerce (or the last error)


def _stamp(value: Any) -> str:
    return value.astimezone().isoformat(sep=" ", timespec="seconds") if isinstance(value, datetime) else str(value)


def overall(report: LagReport) -> str:
    return worst([s.status for s in report.stages])
