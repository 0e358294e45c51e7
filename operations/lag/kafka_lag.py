"""Consumer lag per group, topic and partition, in messages and seconds, read from outside the
groups (like Burrow or kafka-lag-exporter): committed offsets from the group coordinator, the log
end from a fetch's high watermark, the age from the timestamp of the oldest uncommitted message.

The high watermark a Fetch returns is right on every broker; ListOffsets' latest offset is not on
the local Tansu broker (it answers the last batch's base offset + 1). Both are read and the larger
is taken, so the figure is right on real Kafka and is not fooled by that quirk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from config.settings import KafkaSettings
from plumbing.kafka import connection_kwargs

FETCH_DEADLINE_S = 3.0


@dataclass
class PartitionLag:
    topic: str
    partition: int
    committed: int | None   # None: the group never committed here (it starts at the beginning)
    end: int
    lag: int
    lag_seconds: float
    end_exact: bool = True  # False: no fetch answered in time, the ListOffsets figure was used


@dataclass
class GroupSample:
    name: str               # the worker (inventory, price, ...)
    group_id: str
    taken_at: float         # epoch seconds
    members: int | None
    state: str
    partitions: list[PartitionLag] = field(default_factory=list)
    error: str | None = None

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def lag_seconds(self) -> float:
        return max((p.lag_seconds for p in self.partitions), default=0.0)

    @property
    def exists(self) -> bool:
        """The broker knows the group: it committed something, or has members."""
        return bool(self.members) or any(p.committed is not None for p in self.partitions)


def describe_group(admin: KafkaAdminClient, group_id: str) -> tuple[str, int]:
    """(state, number of members). kafka-python's describe_groups() decodes the authorized-operations
    bitfield and fails on brokers that answer values it does not know (Tansu); the request is sent
    here without asking for them."""
    from kafka.protocol.admin import DescribeGroupsRequest

    async def describe() -> Any:
        coordinators = await admin._find_coordinator_ids([group_id])
        request = DescribeGroupsRequest(groups=[group_id], include_authorized_operations=False)
        return await admin._manager.send(request, node_id=coordinators[group_id])

    try:
        response = admin._manager.run(describe)
        group = response.groups[0]
        return str(group.group_state), len(group.members)
    except AttributeError:  # a kafka-python without those internals: the public call
        found = admin.describe_groups([group_id])[group_id]
        return str(found.get("group_state") or found.get("state")), len(found.get("members") or [])


class KafkaLagReader:
    def __init__(self, kafka: KafkaSettings):
        self.kafka = kafka
        kwargs = connection_kwargs(kafka, "walmart-sync-lag")
        self.admin = KafkaAdminClient(**kwargs)
        self.consumer = KafkaConsumer(**kwargs, enable_auto_commit=False, fetch_max_wait_ms=50,
                                      max_partition_fetch_bytes=64 * 1024, consumer_timeout_ms=100)

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()

    def sample(self, groups: dict[str, list[str]]) -> dict[str, GroupSample]:
        """``groups``: worker name -> the topics its group consumes."""
        return {name: self._sample_group(name, topics) for name, topics in groups.items()}

    def _sample_group(self, name: str, topics: list[str]) -> GroupSample:
        group_id = f"{self.kafka.topic_prefix}.{name}"
        taken_at = time.time()
        try:
            state, members = describe_group(self.admin, group_id)
            committed = self.admin.list_group_offsets(group_id).get(group_id, {})
            partitions = [TopicPartition(t, p) for t in topics for p in sorted(self.consumer.partitions_for_topic(t)
                                                                                 or ())]
            lags = self._partition_lags(partitions, {tp: c.offset for tp, c in committed.items()
                                                     if c is not None and c.offset >= 0})
            return GroupSample(name, group_id, taken_at, members, state, lags)
        except Exception as exc:
            return GroupSample(name, group_id, taken_at, None, "Unknown", [], f"{type(exc).__name__}: {exc}")

    def topic_sizes(self, topics: list[str]) -> dict[str, int]:
        """Messages in each topic (log end minus log start, summed over partitions); 0 when absent."""
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(self.consumer.partitions_for_topic(t) or ())]
        sizes = {topic: 0 for topic in topics}
        for p in self._partition_lags(partitions, {}):
            sizes[p.topic] += p.lag
        return sizes

    def _partition_lags(self, partitions: list[TopicPartition], committed: dict[TopicPartition, int]
                        ) -> list[PartitionLag]:
        if not partitions:
            return []
        self.consumer.assign(partitions)
        beginning = self.consumer.beginning_offsets(partitions)
        listed_end = self.consumer.end_offsets(partitions)
        start = {tp: committed.get(tp, beginning.get(tp, 0)) for tp in partitions}
        for tp in partitions:
            self.consumer.seek(tp, start[tp])
        first_ts: dict[TopicPartition, int] = {}
        deadline = time.monotonic() + FETCH_DEADLINE_S
        while time.monotonic() < deadline:
            for tp, records in self.consumer.poll(timeout_ms=100, max_records=500).items():
                if records and tp not in first_ts:
                    first_ts[tp] = records[0].timestamp
            known = {tp: self.consumer.highwater(tp) for tp in partitions}
            if all(hw is not None and (hw <= start[tp] or tp in first_ts) for tp, hw in known.items()):
                break
        now_ms = time.time() * 1000
        lags = []
        for tp in partitions:
            high = self.consumer.highwater(tp)
            end = max(high if high is not None else -1, listed_end.get(tp) or 0)
            lag = max(0, end - start[tp])
            seconds = max(0.0, (now_ms - first_ts[tp]) / 1000) if lag and tp in first_ts else 0.0
            lags.append(PartitionLag(tp.topic, tp.partition, committed.get(tp), end, lag, round(seconds, 3),
                                     high is not None))
        return lags
