"""The fast path: skip what the listener ignores from a binlog event's first bytes, before
python-mysql-replication builds anything for it.

On a store's binlog most events belong to tables the sidecar never reads (sessions, the reports
event log, carts, cron, index rebuilds: issue 19 measured 91% of rows). The library filters them
only after building a packet wrapper and an event object per event, and the listener then paid
for every transaction (a publisher slot, a pydantic position, a GTID merge, a pipe flush) whether
it touched a watched table or not. ``PrefilteredReader`` replaces the library's packet loop
(``BinLogStreamReader.fetchone``, whose connection handling it keeps) with one that looks at the
raw event first:

- a rows event whose table id (6 bytes after the 19-byte header) has no watched table map is
  dropped: the library would drop it too (its ``table_map`` holds exactly the watched tables,
  ``only_tables`` + ``only_schemas``), only later;
- a table map of an unwatched table is dropped after reading its two names; a watched table map
  identical to the one already parsed for that id (Commerce repeats it before every statement)
  is not parsed again;
- a transaction's GTID (and BEGIN) is held back until the transaction shows a watched row event
  or a statement the listener must see (DDL); a transaction that ends without one ends silently,
  its GTID folded into the reader's GTID state. Every ``skip_interval_s``, and whenever it has
  read all the server has sent (caught up), the reader yields one ``Skipped`` marker with the
  boundary after the last skipped transaction, which the listener turns into a checkpointable
  position: long irrelevant stretches still move the checkpoint, at a bounded cost.

Everything else (watched rows, table maps, rotations, format descriptions, heartbeats) goes
through the library's own wrapper unchanged, so the events the listener sees are the library's,
in the same order, at the same positions; tests/integration/test_listener_fast_path.py compares
both paths over the realistic binlog. MySQL GTID transactions are passed through whole (their
GTID-set arithmetic is not folded here), so on MySQL only the row and table-map skipping applies.
"""

from __future__ import annotations

import select
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql
from pymysql.protocol import MysqlPacket
from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.binlogstream import MYSQL_EXPECTED_ERROR_CODES
from pymysqlreplication.constants.BINLOG import (
    FORMAT_DESCRIPTION_EVENT,
    GTID_LOG_EVENT,
    HEARTBEAT_LOG_EVENT,
    MARIADB_GTID_EVENT,
    QUERY_EVENT,
    ROTATE_EVENT,
    TABLE_MAP_EVENT,
    XID_EVENT,
)
from pymysqlreplication.packet import BinLogPacketWrapper

from cdc_listener.gtid import advance, flavour_of

# rows events v1 and v2 (MariaDB writes v1, MySQL 8 v2); all carry the table id at the same place
ROWS_EVENTS = frozenset({0x17, 0x18, 0x19, 0x1E, 0x1F, 0x20})
FL_STANDALONE = 0x01  # MariaDB GTID flag: a statement outside a transaction (DDL), no COMMIT/XID
MAX_PACKET_LEN = 0xFFFFFF
READ_CHUNK = 1 << 20  # bytes asked of the socket at a time
_LOG_POS = struct.Struct("<I")
_PRIVATE = "_BinLogStreamReader__"  # the library's name-mangled attributes its own loop uses


@dataclass(frozen=True, slots=True)
class Skipped:
    """Transactions that touched no watched table ended; ``log_pos`` is the boundary after the last
    of them, ``gtid`` the GTID state there, ``transactions`` how many since the last marker."""

    log_file: str
    log_pos: int
    gtid: str | None
    timestamp: int
    transactions: int


@dataclass(frozen=True, slots=True)
class Idle:
    """The server has sent nothing for ``idle_tick_s``: the listener's loop gets a turn (its
    checkpoint) without waiting for the next heartbeat."""


IDLE = Idle()


class PrefilteredReader(BinLogStreamReader):
    """``BinLogStreamReader`` with the fast path described above; same constructor arguments,
    plus ``watched`` ((schema, table) names), ``start_gtid`` (the GTID state at the start
    position), ``skip_interval_s``, ``on_idle`` (called, from the reading thread, before a read
    that would wait for the server) and ``idle_tick_s`` (how long the server may be silent before
    ``IDLE`` is returned; ``skip_interval_s`` by default)."""

    def __init__(self, *args: Any, watched: list[tuple[str, str]], start_gtid: str | None,
                 skip_interval_s: float = 0.1, on_idle: Callable[[], None] | None = None,
                 idle_tick_s: float | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._on_idle = on_idle
        self._idle_tick_s = skip_interval_s if idle_tick_s is None else idle_tick_s
        self._buf = bytearray()  # bytes received and not yet taken as packets, from ``_pos`` on
        self._pos = 0
        self._last_data = time.monotonic()  # when the server last sent bytes (the read timeout's start)
        self._watched = frozenset((s.encode(), t.encode()) for s, t in watched)
        self._skip_interval_s = skip_interval_s
        self._next_marker = time.monotonic() + skip_interval_s
        self._ready: deque[Any] = deque()
        self._pending: list[bytes] = []  # the held-back head (GTID, BEGIN) of the transaction
        self._in_txn = False
        self._relevant = False
        self._skipped = 0  # transactions skipped since the last marker
        self._skipped_ts = 0
        self._table_maps: dict[int, bytes] = {}  # table id -> the watched table map's body, parsed
        self._closing = False  # set by ``close``, which another thread calls to stop a blocked read
        # GTID state: MariaDB per domain (folded only when asked), MySQL as the executed set
        self._domains: dict[int, str] = {}
        self._mysql_gtid: str | None = None
        if start_gtid and flavour_of(start_gtid) == "mysql":
            self._mysql_gtid = start_gtid
        elif start_gtid:
            for part in start_gtid.split(","):
                if part.strip():
                    self._domains[int(part.split("-", 1)[0])] = part.strip()

    def close(self) -> None:
        """Closing from another thread pulls the socket file out from under a blocked read, which
        then fails with ``ValueError``; the flag makes that read end the stream instead of reconnecting."""
        self._closing = True
        super().close()

    def gtid_state(self) -> str | None:
        """The GTID position after the last transaction read (the listener asks at transaction ends)."""
        if self._mysql_gtid is not None:
            return self._mysql_gtid
        if not self._domains:
            return None
        return ",".join(self._domains[d] for d in sorted(self._domains))

    # the raw packet loop --------------------------------------------------------------------
    def _fill(self) -> None:
        """Read what the socket has (at least one byte) onto the receive buffer.

        The reader keeps its own buffer rather than pymysql's two reads per packet (header, then
        payload), each a bytes object: a skipped event is looked at where it lies in the buffer and
        never copied, and the buffer knows when it is empty, which is when ``on_idle`` runs (the
        listener hands its batch to the publisher then, not at every transaction end, and the
        transactions skipped since the last marker are marked then). A lost or
        timed out socket is pymysql's "server lost" error, which the library's loop reconnects on."""
        conn = self._stream_connection
        buf = self._buf
        if self._pos:
            del buf[:self._pos]
            self._pos = 0
        try:
            if conn._sock is None:  # closed under us (``close`` from another thread, or a failed write)
                raise OSError("connection closed")
            if conn._current_timeout != conn._read_timeout:
                conn._sock.settimeout(conn._read_timeout)
                conn._current_timeout = conn._read_timeout
            chunk = conn._rfile.read1(READ_CHUNK)
            if not chunk:
                raise OSError("connection closed")
        except (OSError, ValueError) as exc:  # ValueError: the socket file closed by ``close``
            if self._closing:
                raise ConnectionError("binlog reader closed") from exc
            conn._force_close()
            raise pymysql.err.OperationalError(2013, f"Lost connection to MySQL server during query ({exc})") from exc
        buf += chunk
        self._last_data = time.monotonic()

    def _wait_readable(self, conn: Any) -> bool:
        """Wait up to ``idle_tick_s`` for the server; False when nothing came. The read
        timeout (the listener's watchdog on a silent server, whose heartbeats stopped) is kept here,
        since these waits are not reads."""
        try:
            if select.select([conn._sock], [], [], self._idle_tick_s)[0]:
                return True
        except (OSError, ValueError, TypeError):
            return True  # let the read itself fail
        timeout = conn._read_timeout
        if timeout and time.monotonic() - self._last_data > timeout:
            conn._force_close()
            raise pymysql.err.OperationalError(
                2013, f"Lost connection to MySQL server during query (nothing for {timeout}s)")
        return False

    @staticmethod
    def _readable(conn: Any) -> bool:
        """Whether a read would return at once (the socket or its TLS layer holds bytes)."""
        sock = conn._sock
        if sock is None:
            return True  # closed: let the read fail
        try:
            if getattr(sock, "pending", None) is not None and sock.pending() > 0:
                return True
            return bool(select.select([sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True  # let the read itself fail

    def _packet(self) -> tuple[Any, int, int] | None:
        """The next whole packet as (buffer, start, end) of its payload, or None when more bytes are
        needed (``_fill``). A packet split at 16 MiB is joined into a bytes object of its own."""
        buf, p = self._buf, self._pos
        avail = len(buf) - p
        if avail < 4:
            return None
        length = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16)
        if avail < 4 + length:
            return None
        conn = self._stream_connection
        if buf[p + 3] != conn._next_seq_id:
            conn._force_close()
            raise pymysql.err.OperationalError(
                2013, f"Lost connection to MySQL server during query (packet {buf[p + 3]}, "
                      f"expected {conn._next_seq_id})")
        conn._next_seq_id = (buf[p + 3] + 1) % 256
        if length < MAX_PACKET_LEN:
            self._pos = p + 4 + length
            return buf, p + 4, p + 4 + length
        parts, q = [], p  # a payload of 16 MiB or more comes in parts; all must be here
        while True:
            if len(buf) - q < 4:
                return None
            part = buf[q] | (buf[q + 1] << 8) | (buf[q + 2] << 16)
            if len(buf) - q < 4 + part:
                return None
            parts.append(bytes(buf[q + 4:q + 4 + part]))
            q += 4 + part
            if part < MAX_PACKET_LEN:
                break
        conn._next_seq_id = (conn._next_seq_id + len(parts) - 1) % 256
        self._pos = q
        data = b"".join(parts)
        return data, 0, len(data)

    def _query_text(self, data: bytes) -> bytes:
        status_len = data[31] | (data[32] << 8)
        start = 33 + status_len + data[28] + 1
        end = len(data) - (4 if self.__dict__[_PRIVATE + "use_checksum"] else 0)
        return data[start:end]

    def _release_pending(self) -> None:
        """The transaction is relevant after all: hand its held-back head to the library."""
        self._relevant = True
        pending, self._pending = self._pending, []
        for data in pending:
            self._process(MysqlPacket(data, None))

    def _end_skipped(self, data: bytes) -> None:
        self.log_pos = _LOG_POS.unpack_from(data, 14)[0]
        self._pending = []
        self._in_txn = False
        self._skipped += 1
        self._skipped_ts = _LOG_POS.unpack_from(data, 1)[0]
        if time.monotonic() >= self._next_marker:
            self._mark()

    def _mark(self) -> None:
        if self._skipped:
            self._ready.append(Skipped(self.log_file, self.log_pos, self.gtid_state(),
                                       self._skipped_ts, self._skipped))
            self._skipped = 0
        self._next_marker = time.monotonic() + self._skip_interval_s

    def fetchone(self) -> Any:
        assert not self.end_log_pos and not self.skip_to_timestamp, "not supported by the fast path"
        ready = self._ready
        table_map = self.table_map
        attrs = self.__dict__
        while True:
            if ready:
                return ready.popleft()
            if self._closing:
                return None
            if not attrs[_PRIVATE + "connected_stream"]:
                self._BinLogStreamReader__connect_to_stream()
                table_map = self.table_map
                self._table_maps.clear()
                self._buf, self._pos = bytearray(), 0  # a new connection: its own bytes
                self._last_data = time.monotonic()
            if not attrs[_PRIVATE + "connected_ctl"]:
                self._BinLogStreamReader__connect_to_ctl()
            try:
                packet = self._packet()
                if packet is None:
                    if not self._readable(self._stream_connection):
                        # caught up with the server: the skipped stretch's end is a boundary now, not
                        # at the next marker interval or heartbeat; then the publisher gets its batch
                        if self._skipped:
                            self._mark()
                            continue
                        if self._on_idle is not None:
                            self._on_idle()
                        if not self._wait_readable(self._stream_connection):
                            return IDLE
                    self._fill()
                    continue
            except pymysql.OperationalError as error:
                if error.args[0] in MYSQL_EXPECTED_ERROR_CODES:
                    self._stream_connection.close()
                    attrs[_PRIVATE + "connected_stream"] = False
                    continue
                raise
            src, at, end = packet
            first = src[at]
            if first != 0:
                if first == 0xFE and end - at < 9:  # EOF: a non-blocking stream ended
                    self.close()
                    return None
                if first == 0xFF:
                    MysqlPacket(bytes(src[at:end]), self._stream_connection.encoding).raise_for_error()
                continue
            kind = src[at + 5]
            if kind in ROWS_EVENTS:
                if int.from_bytes(src[at + 20:at + 26], "little") not in table_map:
                    self.log_pos = _LOG_POS.unpack_from(src, at + 14)[0]
                    continue
                if not self._relevant:
                    self._release_pending()
            elif kind == TABLE_MAP_EVENT:
                schema_end = at + 29 + src[at + 28]
                table_len = src[schema_end + 1]
                names = (bytes(src[at + 29:schema_end]), bytes(src[schema_end + 2:schema_end + 2 + table_len]))
                if names not in self._watched:
                    self.log_pos = _LOG_POS.unpack_from(src, at + 14)[0]
                    continue
                table_id = int.from_bytes(src[at + 20:at + 26], "little")
                body = bytes(src[at + 20:end - 4] if attrs[_PRIVATE + "use_checksum"] else src[at + 20:end])
                if table_id in table_map and self._table_maps.get(table_id) == body:
                    self.log_pos = _LOG_POS.unpack_from(src, at + 14)[0]
                    continue
                self._table_maps[table_id] = body
            data = src[at:end] if type(src) is bytes and at == 0 and end == len(src) else bytes(src[at:end])
            if kind == MARIADB_GTID_EVENT:
                domain = _LOG_POS.unpack_from(data, 28)[0]
                seq = int.from_bytes(data[20:28], "little")
                self._domains[domain] = f"{domain}-{_LOG_POS.unpack_from(data, 6)[0]}-{seq}"
                self._pending = [data]
                self._in_txn = True
                self._relevant = False
                self.log_pos = _LOG_POS.unpack_from(data, 14)[0]
                continue
            elif kind == QUERY_EVENT:
                if not self._relevant:
                    text = self._query_text(data)
                    word = text.strip().upper() if len(text) <= 8 else b""
                    if word == b"BEGIN":
                        self._in_txn = True
                        self._pending.append(data)
                        self.log_pos = _LOG_POS.unpack_from(data, 14)[0]
                        continue
                    if word == b"COMMIT" and self._in_txn:
                        self._end_skipped(data)
                        continue
                    self._release_pending()  # a DDL: the listener logs it and closes there
                self._in_txn = self._relevant = False  # any other statement ends it (as the listener sees it)
            elif kind == XID_EVENT:
                if self._in_txn and not self._relevant:
                    self._end_skipped(data)
                    continue
                self._in_txn = self._relevant = False
            elif kind == GTID_LOG_EVENT:  # MySQL: passed through whole, state kept as the set
                self._release_pending()
                self._in_txn = True
            elif kind == HEARTBEAT_LOG_EVENT:
                self._mark()
            event = self._process(MysqlPacket(data, None))
            if kind == GTID_LOG_EVENT and event is not None:
                self._mysql_gtid = advance(self._mysql_gtid, event.gtid)
            if ready:
                return ready.popleft()

    def _process(self, pkt: MysqlPacket) -> Any:
        """The library's per-packet handling (``BinLogStreamReader.fetchone``), for one packet;
        what it would return is queued."""
        private = _PRIVATE
        attrs = self.__dict__
        binlog_event = BinLogPacketWrapper(
            pkt, self.table_map, self._ctl_connection, attrs["mysql_version"],
            attrs[private + "use_checksum"], attrs[private + "allowed_events_in_packet"],
            attrs[private + "only_tables"], attrs[private + "ignored_tables"],
            attrs[private + "only_schemas"], attrs[private + "ignored_schemas"],
            attrs[private + "freeze_schema"], attrs[private + "ignore_decode_errors"],
            attrs[private + "verify_checksum"], attrs[private + "optional_meta_data"],
            attrs[private + "enable_logging"], attrs[private + "use_column_name_cache"],
            attrs[private + "post_header_lengths"])
        if binlog_event.event_type == ROTATE_EVENT:
            self.log_pos = binlog_event.event.position
            self.log_file = binlog_event.event.next_binlog
            if binlog_event.timestamp != 0:  # see the library: table ids may be reused after it
                self.table_map.clear()
                self._table_maps.clear()
        elif binlog_event.log_pos:
            self.log_pos = binlog_event.log_pos
        if binlog_event.event_type == FORMAT_DESCRIPTION_EVENT and binlog_event.event is not None:
            self.mysql_version = binlog_event.event.mysql_version
            attrs[private + "post_header_lengths"] = binlog_event.event.post_header_len
        if binlog_event.event_type == TABLE_MAP_EVENT and binlog_event.event is not None:
            self.table_map[binlog_event.event.table_id] = binlog_event.event.get_table()
        event = binlog_event.event
        if event is None or event.__class__ not in attrs[private + "allowed_events"]:
            return None
        self._ready.append(event)
        return event
