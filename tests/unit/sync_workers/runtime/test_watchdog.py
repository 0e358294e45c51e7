"""The group watchdog's decision (sync_workers/runtime/watchdog.py): when a worker that is up is
called not consuming, and when its consumer is rebuilt. Kafka's side is in
tests/integration/test_group_watchdog.py."""

from __future__ import annotations

import pytest

from sync_workers.runtime.watchdog import GroupView, GroupWatchdog

AT = (("stock", 0, 10), ("stock", 1, 4))
MOVED = (("stock", 0, 12), ("stock", 1, 4))


def watchdog() -> GroupWatchdog:
    return GroupWatchdog(grace_s=20, limit_s=120)


def test_out_of_the_group_is_unready_after_the_grace_and_rebuilt_after_the_limit() -> None:
    dog = watchdog()
    dog.observe(0, GroupView(member=True, waiting=0, positions=AT))
    dog.observe(5, GroupView(member=False))
    assert dog.reason(24) is None and not dog.due(24)  # a rebalance usually ends within the grace
    assert dog.reason(26) == "not a member of its consumer group for 21 s"
    assert not dog.due(124)
    assert dog.due(125)


def test_rejoining_clears_it() -> None:
    dog = watchdog()
    dog.observe(0, GroupView(member=False))
    dog.observe(30, GroupView(member=True, waiting=0, positions=AT))
    assert dog.reason(31) is None and not dog.due(500)


def test_a_member_whose_position_stands_while_records_wait_is_stuck_from_when_it_last_moved() -> None:
    dog = watchdog()
    dog.observe(0, GroupView(member=True, waiting=3, positions=AT))
    dog.observe(10, GroupView(member=True, waiting=3, positions=MOVED))  # consuming: fine
    dog.observe(25, GroupView(member=True, waiting=3, positions=MOVED))
    assert dog.reason(25) is None  # 15 s standing: within the grace
    dog.observe(31, GroupView(member=True, waiting=5, positions=MOVED))
    assert dog.reason(31) == "not consuming while 5 record(s) wait on its partitions for 21 s"
    dog.observe(130, GroupView(member=True, waiting=5, positions=MOVED))
    assert dog.due(130)


def test_standing_still_with_nothing_waiting_is_idle_not_stuck() -> None:
    dog = watchdog()
    for t in range(0, 600, 5):
        dog.observe(t, GroupView(member=True, waiting=0, positions=AT))
    assert dog.reason(600) is None and not dog.due(600)


def test_a_member_with_no_partitions_is_an_idle_replica() -> None:
    dog = watchdog()
    for t in range(0, 600, 5):
        dog.observe(t, GroupView(member=True))
    assert dog.reason(600) is None and not dog.due(600)


def test_waiting_unknown_is_not_judged() -> None:
    dog = watchdog()
    for t in range(0, 600, 5):
        dog.observe(t, GroupView(member=True, waiting=None, positions=AT))
    assert not dog.due(600)


def test_a_batch_being_retried_is_the_loops_own_business() -> None:
    """A failing batch rewinds its position on purpose; the loop reports it ("retrying for ...")."""
    dog = watchdog()
    for t in range(0, 300, 5):
        dog.observe(t, GroupView(member=True, waiting=40, positions=AT, retrying=True))
    assert dog.reason(300) is None and not dog.due(300)
    # the retries stop and the batch goes through: the clock starts then, not at the first retry
    dog.observe(305, GroupView(member=True, waiting=40, positions=AT))
    assert dog.reason(310) is None


def test_readiness_sees_membership_even_while_the_loop_is_frozen() -> None:
    dog = watchdog()
    dog.observe(0, GroupView(member=True, waiting=0, positions=AT))
    dog.observe_membership(10, member=False)  # the loop stopped observing; readiness asks
    dog.observe_membership(40, member=False)
    assert dog.reason(40) == "not a member of its consumer group for 30 s"
    dog.observe_membership(41, member=True)
    assert dog.reason(41) is None


def test_a_rebuilt_consumer_gets_its_own_time_to_join() -> None:
    dog = watchdog()
    dog.observe(0, GroupView(member=False))
    assert dog.due(120)
    dog.reset(120)
    dog.observe(125, GroupView(member=False))  # the new one is joining
    assert not dog.due(200) and dog.due(245)


def test_the_grace_cannot_exceed_the_limit() -> None:
    with pytest.raises(ValueError):
        GroupWatchdog(grace_s=200, limit_s=120)
