"""The worker loop through Kafka's weather: a group rebalancing while a batch is handled, a group
coordinator that does not answer, a dead letter a broker does not acknowledge. Each leaves the
batch applied or to be applied again, never the worker stopped. kafka-python 3 raises
RebalanceInProgressError (not CommitFailedError) from a commit while the member rejoins,
KafkaTimeoutError when the coordinator does not answer within request_timeout_ms, and completes
a join on its I/O thread, so a partition can be revoked between two calls of the loop; before
these tests each of them stopped the worker.

The consumer, producer and state store are fakes shaped like kafka-python's; the loop is the real one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.errors import CommitFailedError, KafkaConnectionError, KafkaTimeoutError, RebalanceInProgressError

from config import load_settings
from plumbing.metrics import METRICS
from sync_workers.runtime import loop as loop_module
from sync_workers.runtime.loop import DeadLetter, Record, TransientError, WorkerLoop
from tests.support.records import change_event

REQUIRED = {"commerce_db.password": "x", "state_store.dsn": "mysql://u:p@h:3306/s", "walmart.client_id": "i",
            "walmart.client_secret": "s", "commerce_api.base_url": "https://shop.example", "commerce_api.token": "t",
            "workers.coalesce_ms": "0", "workers.retry_base_s": "0.01", "workers.retry_cap_s": "0.01"}
TOPIC = "walmart-sync.stock"
TP = TopicPartition(TOPIC, 0)


STOCK_EVENT = change_event("stock", "source_item", "SKU-1", sku="SKU-1")  # a whole envelope: the loop validates it


def _record(offset: int) -> Any:
    return SimpleNamespace(topic=TOPIC, partition=0, offset=offset, key=b"SKU-1", value=STOCK_EVENT, headers=[])


class FakeConsumer:
    """Hands out ``batches`` one poll each, answers commits with ``commit_errors`` in turn (None: taken)."""

    def __init__(self, batches: list[list[int]], commit_errors: list[BaseException | None]):
        self.batches = deque(batches)
        self.commit_errors = deque(commit_errors)
        self.committed: dict[TopicPartition, int] = {}
        self.owned = {TP}
        self.position_of = 0
        self.listener: Any = None
        self.done: Callable[[], bool] = lambda: not self.batches
        self.stop: Callable[[], None] = lambda: None

    def subscribe(self, topics: list[str], listener: Any) -> None:
        self.listener = listener
        listener.on_partitions_assigned(set(self.owned))

    def poll(self, timeout_ms: int = 0) -> dict[TopicPartition, list[Any]]:
        if self.batches:
            offsets = self.batches.popleft()
            self.position_of = offsets[-1] + 1
            return {TP: [_record(o) for o in offsets]}
        if self.done():
            self.stop()
        time.sleep(0.005)
        return {}

    def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        error = self.commit_errors.popleft() if self.commit_errors else None
        if error is not None:
            raise error
        self.committed.update({tp: o.offset for tp, o in offsets.items()})

    def assignment(self) -> set[TopicPartition]:
        return set(self.owned)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        if tp not in self.owned:
            raise ValueError("Unassigned partition")  # what kafka-python raises
        self.batches.appendleft(list(range(offset, self.position_of)))

    def revoke(self) -> None:
        """What a join completing on kafka-python's I/O thread does while the loop handles a batch."""
        self.owned = set()
        self.listener.on_partitions_revoked({TP})

    def highwater(self, tp: TopicPartition) -> None:
        return None

    def close(self) -> None:
        pass


class FakeFuture:
    def __init__(self, error: BaseException | None):
        self.error = error

    def get(self, timeout: float) -> Any:
        if self.error is not None:
            raise self.error
        return SimpleNamespace(offset=0)


class FakeProducer:
    def __init__(self, failures: int = 0):
        self.failures = failures
        self.sent: list[tuple[str, bytes | None]] = []

    def send(self, topic: str, key: bytes | None = None, value: bytes | None = None, headers: Any = None) -> FakeFuture:
        if self.failures:
            self.failures -= 1
            return FakeFuture(KafkaTimeoutError("Expiring 1 record(s): 15000 ms has passed since batch creation"))
        self.sent.append((topic, key))
        return FakeFuture(None)

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


class FakeParked:
    def __init__(self, conn: Any, name: str):
        self.conn = conn

    def parked_keys(self) -> set[tuple[str, bytes | None]]:
        return set()

    def claim_due(self, now: Any) -> list[Any]:
        return []

    def summary(self) -> tuple[int, None]:
        return 0, None


class FakeStatus:
    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


class Handler:
    name = "inventory"
    families = ("stock",)
    event_fields = None
    backlog_records = 0

    def __init__(self, on_handle: Callable[[list[Record], int], list[DeadLetter]] | None = None):
        self.handled: list[list[int]] = []
        self.on_handle = on_handle

    def handle(self, records: list[Record]) -> list[DeadLetter]:
        self.handled.append([r.offset for r in records])
        return self.on_handle(records, len(self.handled)) if self.on_handle else []

    def tick(self) -> None:
        pass

    def connections(self) -> list[Any]:
        return []  # no database here: nothing to revive


@pytest.fixture
def run_loop(monkeypatch):
    """Run a real WorkerLoop on the fakes until the consumer has nothing left; return the loop."""

    def run(handler: Handler, consumer: FakeConsumer, producer: FakeProducer | None = None) -> WorkerLoop:
        producer = producer or FakeProducer()
        monkeypatch.setattr(loop_module, "ensure_topics", lambda *a, **k: None)
        monkeypatch.setattr(loop_module, "KafkaConsumer", lambda **kwargs: consumer)
        monkeypatch.setattr(loop_module, "KafkaProducer", lambda **kwargs: producer)
        monkeypatch.setattr(loop_module, "connect_state_store",
                            lambda settings: SimpleNamespace(close=lambda: None, ping=lambda reconnect=True: None))
        monkeypatch.setattr(loop_module, "ParkedRecords", FakeParked)
        settings = load_settings(overrides=[f"{k}={v}" for k, v in REQUIRED.items()], environ={})
        loop = WorkerLoop(settings, handler, sleep=lambda s: None)
        loop.status = FakeStatus()  # type: ignore[assignment]
        consumer.stop = loop.stop
        failure: list[BaseException] = []

        def target() -> None:
            try:
                loop.run()
            except BaseException as exc:  # the worker stopping is what these tests catch
                failure.append(exc)

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), "the loop did not finish"
        assert not failure, f"the worker stopped: {failure[0]!r}"
        return loop

    return run


def _failures(reason: str) -> float:
    return METRICS.worker_commit_failures.labels("inventory", reason)._value.get()


def test_a_commit_refused_while_the_group_rebalances_leaves_the_batch_and_the_worker_goes_on(run_loop) -> None:
    # kafka-python raises RebalanceInProgressError, not CommitFailedError, when the member is rejoining
    before = _failures("rebalanced")
    consumer = FakeConsumer([[0, 1], [2]], [RebalanceInProgressError("rejoining"), None])
    handler = Handler()
    loop = run_loop(handler, consumer)
    assert handler.handled == [[0, 1], [2]]
    assert loop.commit_failures == 1 and _failures("rebalanced") == before + 1
    assert consumer.committed == {TP: 3}


def test_a_commit_failed_after_the_member_was_kicked_out_is_counted_and_the_worker_goes_on(run_loop) -> None:
    consumer = FakeConsumer([[0], [1]], [CommitFailedError("kicked out"), None])
    loop = run_loop(Handler(), consumer)
    assert loop.commit_failures == 1 and consumer.committed == {TP: 2}


def test_a_commit_the_coordinator_never_answered_goes_with_the_next_batch(run_loop) -> None:
    before = _failures("unavailable")
    consumer = FakeConsumer([[0, 1], [2]], [KafkaTimeoutError("Timeout waiting for future"), None])
    loop = run_loop(Handler(), consumer)
    assert loop.commit_failures == 1 and _failures("unavailable") == before + 1
    assert consumer.committed == {TP: 3}


def test_an_idle_worker_delivers_the_offsets_a_failed_commit_left(run_loop) -> None:
    consumer = FakeConsumer([[0, 1]], [KafkaTimeoutError("Timeout waiting for future"), None])
    consumer.done = lambda: consumer.committed == {TP: 2}
    handler = Handler()
    run_loop(handler, consumer)
    assert handler.handled == [[0, 1]] and consumer.committed == {TP: 2}  # lag reaches 0 without new records


def test_offsets_of_revoked_partitions_are_not_committed_later(run_loop) -> None:
    consumer = FakeConsumer([[0, 1]], [KafkaTimeoutError("Timeout waiting for future")])
    started = time.monotonic()
    consumer.done = lambda: time.monotonic() - started > 1.5  # past the pending-commit retry

    def revoke_after_first(records: list[Record], calls: int) -> list[DeadLetter]:
        threading.Timer(0.05, consumer.revoke).start()
        return []

    run_loop(Handler(revoke_after_first), consumer)
    assert consumer.committed == {}  # the new owner commits them; this member must not move them


def test_a_retried_batch_rewinds_only_the_partitions_still_owned(run_loop) -> None:
    consumer = FakeConsumer([[0, 1]], [])

    def fail_once_losing_the_partition(records: list[Record], calls: int) -> list[DeadLetter]:
        if calls == 1:
            consumer.revoke()
            raise TransientError("Walmart 503")
        return []

    handler = Handler(fail_once_losing_the_partition)
    run_loop(handler, consumer)
    assert handler.handled == [[0, 1]]  # another member owns the partition now and reads it from the last commit
    assert consumer.committed == {}


def test_a_dead_letter_kafka_did_not_acknowledge_retries_the_batch(run_loop) -> None:
    consumer = FakeConsumer([[0, 1]], [])
    producer = FakeProducer(failures=1)  # a broker frozen past the delivery timeout, once
    handler = Handler(lambda records, calls: [DeadLetter(records[0], "refused", "CODE")])
    loop = run_loop(handler, consumer, producer)
    assert handler.handled == [[0, 1], [0, 1]] and loop.retries == 1
    assert producer.sent == [("walmart-sync.dlq.inventory", b"SKU-1")] and consumer.committed == {TP: 2}


def test_a_handler_hears_of_a_batch_whose_commit_the_rebalance_refused(run_loop) -> None:
    consumer = FakeConsumer([[0, 1], [2], [3]], [CommitFailedError("kicked out"), KafkaTimeoutError("away"), None])
    handler = Handler()
    lost: list[list[int]] = []
    handler.batch_lost = lambda records: lost.append([r.offset for r in records])  # type: ignore[attr-defined]
    run_loop(handler, consumer)
    assert lost == [[0, 1]]  # the refused one only: an undelivered commit goes with the next, nothing raced


class BrokerRestartingConsumer(FakeConsumer):
    """Its first poll raises what kafka-python 3 raised out of ``poll`` in the fault run while the
    broker restarted (looking for the group coordinator on a socket the broker closed)."""

    def __init__(self, batches: list[list[int]]):
        super().__init__(batches, [])
        self.failures = 1

    def poll(self, timeout_ms: int = 0) -> dict[TopicPartition, list[Any]]:
        if self.failures:
            self.failures -= 1
            raise KafkaConnectionError("socket disconnected")
        return super().poll(timeout_ms)


def test_a_poll_failing_while_the_broker_restarts_does_not_stop_the_worker(run_loop, monkeypatch) -> None:
    """The fault run's broker-data-loss round: two workers' processes ended on it and were only back
    because the run restarts what exits, as a supervisor would."""
    handler = Handler()
    loop = run_loop(handler, BrokerRestartingConsumer([[0, 1], [2]]))
    assert handler.handled == [[0, 1], [2]]
    assert loop.kafka_outages == 1
