"""The fast path's raw read when ``close`` takes the socket file away from another thread.

CPython fails a read on a buffered socket file closed under it with ``ValueError``
("PyMemoryView_FromBuffer(): info->buf must not be NULL"), not ``OSError``; it surfaced in CI as
``walmart-sync run`` failing on SIGTERM. After ``close`` that read ends the stream; before it, a
failing read is a lost connection (2013), which the reader reconnects on.
"""

from __future__ import annotations

from types import SimpleNamespace

import pymysql
import pytest

from cdc_listener.prefilter import PrefilteredReader


def _reader(closing: bool) -> PrefilteredReader:
    def read1(_n: int) -> bytes:
        raise ValueError("PyMemoryView_FromBuffer(): info->buf must not be NULL")

    closed: list[bool] = []
    reader = PrefilteredReader.__new__(PrefilteredReader)  # no server: only the packet read is exercised
    reader._closing = closing
    reader._buf, reader._pos, reader._on_idle = bytearray(), 0, None
    reader._stream_connection = SimpleNamespace(  # type: ignore[assignment]
        _current_timeout=None, _read_timeout=None, _rfile=SimpleNamespace(read1=read1),
        _sock=SimpleNamespace(),
        _next_seq_id=0, _force_close=lambda: closed.append(True))
    reader._test_closed = closed  # type: ignore[attr-defined]
    return reader


def test_a_read_failing_after_close_ends_the_stream() -> None:
    reader = _reader(closing=True)
    with pytest.raises(ConnectionError, match="closed"):
        reader._fill()


def test_the_same_failure_without_close_is_a_lost_connection_to_reconnect_on() -> None:
    reader = _reader(closing=False)
    with pytest.raises(pymysql.err.OperationalError) as caught:
        reader._fill()
    assert caught.value.args[0] == 2013
    assert reader._test_closed == [True]  # type: ignore[attr-defined]
