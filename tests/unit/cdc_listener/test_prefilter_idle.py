"""The fast path's reader when it has read everything the server sent (issue 19).

It then marks the end of the transactions it skipped (the listener checkpoints there at once,
not at the next marker interval or heartbeat), calls ``on_idle`` (the listener hands its batch to
the publisher then) and, when the server still sends nothing for ``idle_tick_s``, returns
``IDLE`` so the listener's loop gets a turn. A server silent for longer than the read timeout is a
lost connection, as a blocked read's timeout was.
"""

from __future__ import annotations

import socket
import time
from collections import deque
from types import SimpleNamespace

import pytest

from cdc_listener.prefilter import _PRIVATE, IDLE, PrefilteredReader, Skipped


@pytest.fixture
def reader():
    ours, servers = socket.socketpair()
    idle_calls: list[float] = []
    closed: list[bool] = []
    r = PrefilteredReader.__new__(PrefilteredReader)  # no server: only the reader's own loop runs
    r.__dict__.update({_PRIVATE + "connected_stream": True, _PRIVATE + "connected_ctl": True})
    r.end_log_pos = r.skip_to_timestamp = None
    r.table_map = {}
    r._closing = False
    r._ready = deque()
    r._buf, r._pos = bytearray(), 0
    r._skip_interval_s = r._idle_tick_s = 0.05
    r._next_marker = time.monotonic() + 60
    r._skipped, r._skipped_ts = 0, 0
    r._domains, r._mysql_gtid = {0: "0-1-41"}, None
    r.log_file, r.log_pos = "binlog.000001", 4242
    r._last_data = time.monotonic()
    r._on_idle = lambda: idle_calls.append(time.monotonic())
    r._stream_connection = SimpleNamespace(  # type: ignore[assignment]
        _sock=ours, _rfile=ours.makefile("rb"), _read_timeout=30, _current_timeout=30, _next_seq_id=0,
        _force_close=lambda: closed.append(True))
    r._test = SimpleNamespace(idle_calls=idle_calls, closed=closed, server=servers)  # type: ignore[attr-defined]
    yield r
    ours.close()
    servers.close()


def test_caught_up_it_marks_the_skipped_stretch_before_anything_else(reader) -> None:
    reader._skipped, reader._skipped_ts = 3, 1_700_000_000
    assert reader.fetchone() == Skipped("binlog.000001", 4242, "0-1-41", 1_700_000_000, 3)
    assert reader._test.idle_calls == []  # the marker first: the listener closes its slot, then the flush


def test_a_silent_server_hands_the_batch_over_then_gives_the_loop_a_turn(reader) -> None:
    began = time.monotonic()
    assert reader.fetchone() is IDLE
    waited = time.monotonic() - began
    assert len(reader._test.idle_calls) == 1 and reader._test.idle_calls[0] - began < 0.04
    assert waited >= 0.05  # it waited one idle tick for the server first


def test_bytes_from_the_server_end_the_wait(reader) -> None:
    # a MySQL packet: 3-byte length, sequence 0, then an "OK"-led heartbeat-shaped payload the
    # reader passes to the library; a non-zero first byte other than EOF/error is dropped
    reader._test.server.sendall(bytes([1, 0, 0, 0, 0x01]))
    reader._test.server.sendall(bytes([5, 0, 0, 1, 0xFE, 0, 0, 0, 0]))  # EOF: a non-blocking stream ended
    reader.close = lambda: None  # type: ignore[method-assign]
    assert reader.fetchone() is None
    assert reader._stream_connection._next_seq_id == 2


def test_a_server_silent_past_the_read_timeout_is_a_lost_connection(reader) -> None:
    """The library's loop then reconnects from the last position (as on a blocked read's timeout)."""
    class Reconnecting(Exception):
        pass

    def reconnect() -> None:
        raise Reconnecting

    reader._stream_connection._read_timeout = 0.01
    reader._stream_connection.close = lambda: reader._test.closed.append(True)
    reader._BinLogStreamReader__connect_to_stream = reconnect
    reader._last_data = time.monotonic() - 1
    with pytest.raises(Reconnecting):
        reader.fetchone()
    assert reader._test.closed == [True, True]  # forced closed, then the stream dropped
    assert reader.__dict__[_PRIVATE + "connected_stream"] is False
