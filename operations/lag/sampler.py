"""The lag sampler: every ``ops.lag_sample_s`` one sidecar process samples every consumer group
into the state store (the history the trend is judged on) and publishes every stage's figures as
Prometheus gauges. Any process with an ops endpoint runs one; a lease in the state store lets
exactly one of them sample, so a deployment of many containers writes one history and one set of
lag gauges. A lease, not a ``GET_LOCK``: a named lock outlives a dead host by the server's
``wait_timeout`` (8 hours), and the lag gauges would stop with that host while every standby waits.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from typing import Any

import pymysql

from config import Settings
from config.components import DRIFT_KINDS, GAP_REPAIRERS
from operations.lag.report import LagReport, ReportBuilder
from plumbing.locks import Lease
from plumbing.logs import get_logger
from plumbing.metrics import GROUP_STATUS_CODES, METRICS, SidecarMetrics


def sampler_lease_s(settings: Settings) -> float:
    """Three sampling rounds: a holder that misses two renewals in a row (a long GC, a slow state
    store) keeps the lease, and a dead one is replaced within three rounds."""
    return 3 * settings.ops.lag_sample_s


def open_builder(settings: Settings) -> ReportBuilder:
    """A report builder on its own connections (state store, Commerce server, Kafka)."""
    from operations.lag.kafka_lag import KafkaLagReader
    from plumbing.db import connect_commerce
    from sync_workers.stores.value_state import connect_state

    state = connect_state(settings)
    try:
        commerce = connect_commerce(settings)
    except pymysql.MySQLError:
        commerce = None  # the binlog stage then reports the checkpoint alone
    return ReportBuilder(settings, state, commerce, KafkaLagReader(settings.kafka))


def _close_quietly(closable: Any) -> None:
    try:
        closable.close()
    except Exception:
        pass


def close_builder(builder: ReportBuilder) -> None:
    for closable in (builder.reader, builder.state, builder.commerce):
        if closable is not None:
            _close_quietly(closable)


def publish(report: LagReport, metrics: SidecarMetrics = METRICS) -> None:
    """Every stage's figures as gauges (the names deploy/ dashboards and alerts use)."""
    for family in GAP_REPAIRERS:  # every family, so a repaired one returns to 0
        metrics.kafka_gaps_open.labels(family).set(report.gaps_open.get(family, 0))
    for stage in report.stages:
        kind, _, name = stage.stage.partition(":")
        metrics.stage_over_threshold.labels(stage.stage).set(1 if stage.over else 0)
        if kind == "group":
            group = stage.group_id or name
            metrics.consumer_group_status.labels(group).set(GROUP_STATUS_CODES[stage.status])
            for p in stage.partitions:
                metrics.consumer_lag_messages.labels(group, p.topic, str(p.partition)).set(p.lag)
                metrics.consumer_lag_seconds.labels(group, p.topic, str(p.partition)).set(p.lag_seconds)
            if stage.members is not None:
                metrics.consumer_group_members.labels(group).set(stage.members)
        elif kind == "walmart":
            metrics.stream_pending_age.labels(name).set(stage.lag_seconds or 0)
            metrics.stream_waiting.labels(name).set(stage.counts.get("waiting", 0))
        elif kind == "binlog":
            metrics.binlog_lag_seconds.set(stage.lag_seconds or 0)
        elif kind == "poll":
            metrics.poll_age_seconds.labels(name).set(stage.lag_seconds or 0)
        elif kind == "dlq":
            metrics.dead_letter_queue.labels(name).set(stage.lag_messages or 0)
        elif kind == "orders":
            metrics.orders_open.labels("count").set(stage.lag_messages or 0)
            metrics.orders_open.labels("oldest_age_seconds").set(stage.lag_seconds or 0)
        elif kind == "deadline":
            for state, count in stage.counts.items():
                metrics.orders_at_deadline.labels(name, state).set(count)
        elif kind == "drift":
            for drift_kind in DRIFT_KINDS:  # every kind, so one resolved returns to 0
                metrics.drift_open.labels(drift_kind).set(stage.counts.get(drift_kind, 0))
            if stage.lag_seconds is not None:
                metrics.drift_cycle_age.set(stage.lag_seconds)
        elif kind == "listings":
            for status, count in stage.counts.items():
                metrics.listings.labels(status).set(count)


class LagSampler:
    def __init__(self, settings: Settings, metrics: SidecarMetrics = METRICS):
        self.settings = settings
        self.metrics = metrics
        self.log = get_logger("lag_sampler")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="lag-sampler", daemon=True)
        self.sampling = False  # this process holds the sampler lease
        # one name for this process's term across reconnects: after a dropped state-store
        # connection it takes its own unexpired lease back instead of waiting for it to run out
        self.holder = f"{socket.gethostname()}:{os.getpid()}:lag:{uuid.uuid4().hex[:8]}"
        self.rounds = 0

    def start(self) -> LagSampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def run(self) -> None:
        from sync_workers.stores.value_state import connect_state

        state: Any = None
        lease: Lease | None = None
        builder: ReportBuilder | None = None
        try:
            while not self._stop.is_set():
                try:
                    if lease is None:
                        state = connect_state(self.settings)
                        lease = Lease(state, "ops.lag_sampler", lease_s=sampler_lease_s(self.settings),
                                      margin_s=self.settings.ops.lag_sample_s / 2, holder=self.holder)
                    self.sampling = (lease.epoch is not None and lease.renew()) or lease.try_acquire()
                    if self.sampling:  # the others stand by: one history, one set of lag gauges
                        if builder is None:
                            builder = open_builder(self.settings)
                        self._round(builder)
                except Exception as exc:
                    self.log.warning("lag sample failed; will try again", error=str(exc))
                    if builder is not None:
                        close_builder(builder)
                    builder = None
                    if state is not None:
                        _close_quietly(state)
                    state, lease = None, None
                self._stop.wait(self.settings.ops.lag_sample_s)
        finally:
            if builder is not None:
                close_builder(builder)
            if lease is not None:
                lease.release()  # a standby samples at its next round, not a lease later
            if state is not None:
                _close_quietly(state)

    def _round(self, builder: ReportBuilder) -> None:
        ops = self.settings.ops
        builder.history.record(builder.sample())
        builder.history.prune(time.time() - ops.lag_history_s)
        report = builder.build(window_s=max(300.0, 4 * ops.lag_sample_s))
        publish(report, self.metrics)
        self.rounds += 1
