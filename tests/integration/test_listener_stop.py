"""A stop while the listener waits on an idle binlog ends it cleanly, on both read paths.

``Listener.stop`` closes the binlog connection from another thread to wake the blocked read. On
the fast path (cdc_listener/prefilter.py) that read is on pymysql's socket file, which the close
takes away: CPython can then fail the read with ``ValueError`` rather than ``OSError``, which the
listener reported as a failure, failing ``walmart-sync run`` on a plain SIGTERM in CI. That race
is timing-bound (tests/unit/cdc_listener/test_prefilter_close.py pins the read's handling); this
test holds the whole stop path, start to joined thread, to ending without an error.
"""

from __future__ import annotations

import uuid

import pytest

from cdc_listener.position import StartSpec
from devstack.environment import prepare_environment
from tests.support.cdc_helpers import ListenerThread, wait_for


@pytest.mark.parametrize("fast", [True, False], ids=["fast_path", "full_parse"])
def test_a_stop_during_an_idle_read_ends_the_listener_cleanly(stack, tmp_path, fast: bool) -> None:
    env = prepare_environment(stack.endpoints, tmp_path, "open_source", products=3,
                              name=f"stop_{uuid.uuid4().hex[:8]}")
    for attempt in range(3):
        name = f"stop{attempt}{uuid.uuid4().hex[:6]}"
        settings = env.settings(cdc={"name": name, "fast_path": fast},
                                kafka={"topic_prefix": f"st-{name}"})
        thread = ListenerThread(settings, StartSpec("current"))
        with thread:  # __exit__ stops it and raises whatever the listener's thread raised
            source = thread.listener._source
            wait_for(lambda source=source: getattr(source, "_reader", None), 30, "the binlog reader open")
        assert thread.error is None, f"attempt {attempt}: {thread.error!r}"
