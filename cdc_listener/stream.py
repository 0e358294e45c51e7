"""The binlog connection: start, heartbeat, watchdog and reconnect, without ever losing a position.

The server sends a heartbeat every ``heartbeat_s`` while idle; the socket read timeout is the
watchdog, so a stream that goes silent (a known failure mode of long idle blocking streams)
fails after ``watchdog_s``. Two layers reconnect: python-mysql-replication itself reopens a lost
stream at its last event (transparent to us: positions stay exact, and checkpoints are only
taken at transaction ends); any other failure closes the reader and this class reopens it from
the last transaction boundary the listener reported, with exponential backoff, yielding
``RECONNECTED`` so the caller abandons the transaction it was in (it is read again).
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pymysql
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.event import (
    GtidEvent,
    HeartbeatLogEvent,
    MariadbGtidEvent,
    QueryEvent,
    RotateEvent,
    XidEvent,
)
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

from cdc_listener.gtid import flavour_of
from cdc_listener.position import BinlogPosition, PurgedBinlogError
from cdc_listener.prefilter import PrefilteredReader
from config.settings import CommerceDatabaseSettings
from plumbing.db import DbConnection, scalar, tls_options

STREAM_EVENTS = [WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, XidEvent, QueryEvent,
                 MariadbGtidEvent, GtidEvent, RotateEvent, HeartbeatLogEvent]
ER_MASTER_FATAL_ERROR_READING_BINLOG = 1236
RECONNECTED = object()
# fast path: how long a silent server is waited for before the listener's loop gets a turn (to
# checkpoint a change just acknowledged, cdc_listener/listener.py)
IDLE_TICK_S = 0.05


def server_flavour(cur: Any) -> str:
    cur.execute("SELECT VERSION()")
    return "mariadb" if "mariadb" in cur.fetchone()[0].lower() else "mysql"


def current_position(conn: DbConnection) -> BinlogPosition:
    """The end of the binlog now (SHOW MASTER STATUS, or its MySQL 8.4 replacement)."""
    with conn.cursor() as cur:
        flavour = server_flavour(cur)
        row = None
        for statement in ("SHOW MASTER STATUS", "SHOW BINARY LOG STATUS"):
            try:
                cur.execute(statement)
                row = cur.fetchone()
                break
            except pymysql.MySQLError:
                continue
        if row is None:
            raise RuntimeError("the server reports no binlog status: is log_bin on, and does the "
                               "user have REPLICATION CLIENT / BINLOG MONITOR?")
        gtid = None
        if flavour == "mariadb":
            gtid = scalar(cur, "SELECT @@gtid_binlog_pos") or None
    return BinlogPosition(log_file=row[0], log_pos=int(row[1]), gtid=gtid)


def available_binlogs(conn: DbConnection) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        return [row[0] for row in cur.fetchall()]


def check_position_available(conn: DbConnection, position: BinlogPosition) -> None:
    files = available_binlogs(conn)
    if position.log_file not in files:
        raise PurgedBinlogError(position, files[0] if files else None)


class BinlogSource:
    def __init__(self, db: CommerceDatabaseSettings, heartbeat_s: float, watchdog_s: float,
                 tables: tuple[str, ...], on_reconnect: Callable[[], None] | None = None,
                 max_backoff_s: float = 30.0, sleep: Callable[[float], None] = time.sleep,
                 report_as: str = "walmart-sync", fast_path: bool = False, skip_interval_s: float = 0.5,
                 on_idle: Callable[[], None] | None = None):
        self.db = db
        self.on_idle = on_idle  # fast path: called before a read that waits for the server
        self.fast_path = fast_path
        self.skip_interval_s = skip_interval_s
        self.report_as = report_as
        self.heartbeat_s = heartbeat_s
        self.watchdog_s = watchdog_s
        self.tables = list(tables)
        self.on_reconnect = on_reconnect
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._reader: BinLogStreamReader | None = None
        self.resume_at: BinlogPosition | None = None
        self._start_gtid: str | None = None
        self._closed = False

    def connection_settings(self) -> dict[str, Any]:
        """PyMySQL arguments of the stream and its control connection, TLS included (the binlog
        carries every row of the store). Never logged: the reader's own parameter logging, which
        prints them with the password, stays off (``enable_logging=False``)."""
        return {"host": self.db.host, "port": self.db.port, "user": self.db.user,
                "passwd": self.db.password.get_secret_value(), "read_timeout": self.watchdog_s,
                "connect_timeout": self.db.connect_timeout_s, **tls_options(self.db)}

    def start_at(self, position: BinlogPosition) -> None:
        self.resume_at, self._start_gtid = position, None

    def start_at_gtid(self, gtid: str) -> None:
        """Begin after this MariaDB GTID position, or after this MySQL executed GTID set
        (``--from gtid:...``, or a checkpoint taken on another server of a failover)."""
        self._start_gtid = gtid

    @property
    def position(self) -> tuple[str, int]:
        """File and offset just after the last event read."""
        assert self._reader is not None
        return self._reader.log_file, self._reader.log_pos

    def _open(self) -> BinLogStreamReader:
        stream_connects = 0

        def connect(**kwargs: Any) -> Any:
            # python-mysql-replication reopens a lost stream itself (errors 2006/2013, which is
            # also how our read-timeout watchdog fires) from its last event; count those too.
            nonlocal stream_connects
            if kwargs.get("db") != "information_schema":
                stream_connects += 1
                if stream_connects > 1 and self.on_reconnect is not None:
                    self.on_reconnect()
            return pymysql.connect(**kwargs)

        # report_slave: a DBA sees who reads the binlog (SHOW SLAVE HOSTS / SHOW REPLICAS)
        common = dict(server_id=self.db.server_id, blocking=True, only_events=STREAM_EVENTS,
                      report_slave=self.report_as,
                      only_schemas=[self.db.database], only_tables=self.tables,
                      slave_heartbeat=self.heartbeat_s, enable_logging=False,
                      pymysql_wrapper=connect)
        reader: Any = BinLogStreamReader
        if self.fast_path:
            start_gtid = self._start_gtid if self._start_gtid is not None else (
                self.resume_at.gtid if self.resume_at else None)
            reader = partial(PrefilteredReader, watched=[(self.db.database, t) for t in self.tables],
                             start_gtid=start_gtid, skip_interval_s=self.skip_interval_s,
                             on_idle=self.on_idle, idle_tick_s=min(self.skip_interval_s, IDLE_TICK_S))
        if self._start_gtid is not None:
            return reader(self.connection_settings(), auto_position=self._start_gtid,
                          is_mariadb=flavour_of(self._start_gtid) == "mariadb", **common)
        assert self.resume_at is not None, "start_at() first"
        return reader(self.connection_settings(), resume_stream=True,
                      log_file=self.resume_at.log_file, log_pos=self.resume_at.log_pos, **common)

    @property
    def signals_idle(self) -> bool:
        """Whether ``on_idle`` runs before every read that waits (the fast path's reader)."""
        return self.fast_path and self.on_idle is not None

    def gtid_state(self) -> str | None:
        """Fast path: the GTID position after the last transaction read, skipped ones included."""
        assert isinstance(self._reader, PrefilteredReader)
        return self._reader.gtid_state()

    def events(self) -> Iterator[Any]:
        """Binlog events forever (until ``close``), reconnecting on errors and silence."""
        backoff = 0.5
        while not self._closed:
            try:
                self._reader = self._open()
                while not self._closed:
                    event = self._reader.fetchone()
                    if event is None:
                        raise ConnectionError("binlog stream ended")
                    backoff = 0.5
                    yield event
            except pymysql.err.OperationalError as exc:
                if exc.args and exc.args[0] == ER_MASTER_FATAL_ERROR_READING_BINLOG and self.resume_at:
                    raise PurgedBinlogError(self.resume_at, None) from exc
                if self._closed:
                    return
                self._reconnect_pause(backoff)
            except (ConnectionError, OSError, pymysql.err.InterfaceError, struct.error):
                if self._closed:
                    return
                self._reconnect_pause(backoff)
            except ValueError:  # a read on the socket file ``close`` took away from another thread
                if self._closed:
                    return
                raise
            finally:
                if self._reader is not None:
                    try:
                        self._reader.close()
                    except Exception:
                        pass
            backoff = min(backoff * 2, self.max_backoff_s)
            if not self._closed:
                if self.resume_at is not None:  # once a boundary is known, resume by file/position
                    self._start_gtid = None
                yield RECONNECTED

    def _reconnect_pause(self, backoff: float) -> None:
        if self.on_reconnect is not None:
            self.on_reconnect()
        self._sleep(backoff)

    def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            try:
                self._reader.close()
            except Exception:
                pass

