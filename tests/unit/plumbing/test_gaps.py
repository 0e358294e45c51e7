"""The rules that say a Kafka partition does not continue what the sidecar produced or consumed."""

from __future__ import annotations

from plumbing.gaps import LogBounds, backwards, find_gaps, stale_topics

STOCK = ("ws.stock", 0)
PRICE = ("ws.price", 1)


def test_a_log_end_below_what_kafka_acknowledged_is_a_gap_and_one_that_continues_is_not() -> None:
    found = find_gaps("produced", {STOCK: 7, PRICE: 3},
                      {STOCK: LogBounds(start=0, end=0), PRICE: LogBounds(start=0, end=5)})
    assert [(f.topic, f.partition, f.expected, f.found) for f in found] == [("ws.stock", 0, 7, 0)]
    assert "ends at 0" in found[0].reason


def test_a_partition_that_is_gone_holds_nothing_but_a_ledger_at_zero_promises_nothing() -> None:
    found = find_gaps("produced", {STOCK: 2, PRICE: 0}, {})
    assert [(f.topic, f.expected, f.found) for f in found] == [("ws.stock", 2, 0)]


def test_a_consumer_sees_a_committed_offset_past_the_end_and_records_deleted_before_it_read_them() -> None:
    past_end = find_gaps("consumed", {STOCK: 9}, {STOCK: LogBounds(start=0, end=4)})
    assert [(f.expected, f.found) for f in past_end] == [(9, 4)]
    retention = find_gaps("consumed", {STOCK: 9}, {STOCK: LogBounds(start=12, end=20)})
    assert [(f.expected, f.found) for f in retention] == [(9, 12)] and "deleted" in retention[0].reason
    # a producer's records deleted by retention after they were consumed are no loss
    assert find_gaps("produced", {STOCK: 9}, {STOCK: LogBounds(start=12, end=20)}) == []
    assert find_gaps("consumed", {STOCK: 9}, {STOCK: LogBounds(start=3, end=9)}) == []


def test_an_acknowledged_offset_below_an_earlier_one_means_the_log_went_backwards() -> None:
    found = backwards({STOCK: 10, PRICE: 4}, {STOCK: (2, 5), PRICE: (4, 8)})
    assert [(f.topic, f.expected, f.found) for f in found] == [("ws.stock", 10, 2)]
    assert backwards({}, {STOCK: (0, 3)}) == []


class _CachedMetadata:
    """kafka-python's ClusterMetadata as a consumer holds it: partitions per topic, None if unknown."""

    def __init__(self, partitions: dict[str, set[int]]):
        self._partitions = partitions

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self._partitions.get(topic)


class _Consumer:
    def __init__(self, partitions: dict[str, set[int]]):
        self._cluster = _CachedMetadata(partitions)


def test_a_topic_the_consumer_knows_with_fewer_partitions_than_the_broker_has_is_stale() -> None:
    consumer = _Consumer({"ws.stock": {0}, "ws.price": {0, 1, 2}})
    assert stale_topics(consumer, {"ws.stock": 3, "ws.price": 3}) == {"ws.stock": (1, 3)}
    # one the consumer has no metadata for at all is stale too; one that shrank (never in Kafka) is not
    assert stale_topics(consumer, {"ws.refund": 3}) == {"ws.refund": (0, 3)}
    assert stale_topics(_Consumer({"ws.stock": {0, 1, 2}}), {"ws.stock": 1}) == {}
