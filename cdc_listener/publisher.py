"""Publish change events to Kafka from a process of its own, and report the safe position.

Why a process: decoding the binlog is pure-Python CPU work, and so is kafka-python's producer
(record batching, CRCs, its I/O thread). In one process they share one GIL and the listener ran
at about 0.35x raw decoding speed; with the producer in a second process each gets a core.
The decoder sends serialised events in batches over a pipe (flushed at every transaction end, or,
on the fast path, whenever the binlog reader is about to wait for the server, so a lone change
waits for nothing either way); the publisher process owns the producer (idempotent,
acks=all) and the transaction slots, and reports back the safe position (the end of the longest
prefix of transactions whose events are all acknowledged), failures and ack counts. The pipe
is the backpressure: when Kafka is slow the decoder blocks instead of buffering without bound.

The publisher process exits when the pipe closes, so it dies with its parent even on kill -9.

Fencing: the moment the leader lease stops being trusted (``fence``'s ``valid_until`` on
``plumbing.locks.lease_clock``, the same clock in both processes) is shared with the publisher
process and moved on at every renewal; the decoder refuses to send a batch after it and the
publisher refuses to produce one, so a listener frozen (host paused, SIGSTOP) between the two
checks still publishes nothing once thawed. (A batch already queued in the pipe when the process
started or while Kafka was slow is judged by the deadline when it is produced, not when it was
sent: the lease is renewed meanwhile.)
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cdc_listener.position import BinlogPosition, KafkaUnavailable, ListenerError
from config.settings import KafkaSettings
from domain.events import FAMILIES, Family
from plumbing.locks import LeaseLost, lease_clock


class Fence(Protocol):
    """What the publisher needs of the leader lease."""

    @property
    def valid_until(self) -> float: ...

    def valid(self) -> bool: ...

    def watch(self, callback: Callable[[float], None] | None) -> None:
        """``callback(valid_until)`` after every renewal (0 when the lease is lost); None stops."""

BATCH_ITEMS = 256
REPORT_INTERVAL_S = 0.01
# with ``defer_flushes``: a transaction end hands the batch over only once it is this old (a stream
# that never pauses still publishes in steps this short); otherwise the reader's idle hook does
MAX_BATCH_AGE_S = 0.01

# Messages decoder -> publisher: lists of
#   ("o", slot)                                        a transaction starts
#   ("e", slot, family_index, key, value, event_id)  an event
#   ("c", slot, position, ts_ms)                       a transaction end (position None: abandon)
#   ("stop",)                                          flush and exit
# Messages publisher -> decoder:
#   ("safe", position, ts_ms, acked_by_family, in_flight, acks, offsets)   acks: [(event_id, family, t)],
#                                         offsets: {(topic, partition): (lowest, highest)} acknowledged since
#   ("ready",)              the producer is up and has the topics' metadata (sent once, first)
#   ("failed", message)
#   ("fenced", message)     a batch came after the lease's deadline: nothing of it was produced


@dataclass
class _Slot:
    outstanding: int = 0
    closed: bool = False
    position: BinlogPosition | None = None
    binlog_ts_ms: int | None = None


class TransactionTracker:
    """Transaction slots in binlog order; acks arrive out of order across partitions."""

    def __init__(self) -> None:
        self._slots: deque[_Slot] = deque()
        self._lock = threading.Lock()
        self._safe: tuple[BinlogPosition, int | None] | None = None

    def open(self) -> _Slot:
        slot = _Slot()
        with self._lock:
            self._slots.append(slot)
        return slot

    def sent(self, slot: _Slot) -> None:
        with self._lock:
            slot.outstanding += 1

    def acked(self, slot: _Slot) -> None:
        with self._lock:
            slot.outstanding -= 1
            self._advance()

    def close(self, slot: _Slot, position: BinlogPosition | None, binlog_ts_ms: int | None) -> None:
        """End a transaction; ``position`` None abandons it (it will be read again)."""
        with self._lock:
            slot.closed, slot.position, slot.binlog_ts_ms = True, position, binlog_ts_ms
            self._advance()

    def _advance(self) -> None:
        while self._slots and self._slots[0].closed and self._slots[0].outstanding == 0:
            slot = self._slots.popleft()
            if slot.position is not None:
                self._safe = (slot.position, slot.binlog_ts_ms)

    def safe(self) -> tuple[BinlogPosition, int | None] | None:
        with self._lock:
            return self._safe

    def in_flight(self) -> int:
        with self._lock:
            return sum(s.outstanding for s in self._slots)




def _publisher_main(inbox: Any, outbox: Any, kafka: KafkaSettings, topics: list[str],
                    report_acks: bool, deadline: Any) -> None:
    """The publisher process: producer, slots, and the reporter thread.

    ``kafka`` arrives pickled over the spawn pipe (never a command line), with its ``SecretStr``
    values intact: a JSON dump writes them as asterisks, and the child then logged in to a SASL
    or TLS-with-password broker with ``**********``.
    """
    from kafka import KafkaProducer

    from plumbing.kafka import producer_kwargs

    try:
        producer = KafkaProducer(**producer_kwargs(kafka, "walmart-sync-listener"))
        for topic in topics:  # fetch metadata now, so the first change does not wait for it
            producer.partitions_for(topic)
    except Exception as exc:  # Kafka unreachable or refusing us: say why, rather than just exit
        outbox.send(("failed", f"the publisher could not start: {type(exc).__name__}: {exc}"))
        return
    outbox.send(("ready",))
    tracker = TransactionTracker()
    slots: dict[int, _Slot] = {}
    acked: Counter[str] = Counter()
    acks: list[tuple[str, str, float]] = []
    offsets: dict[tuple[str, int], tuple[int, int]] = {}  # acknowledged since the last report (gap ledger)
    state: dict[str, Any] = {"failure": None, "fenced": None}
    lock = threading.Lock()
    stop = threading.Event()

    def on_ack(slot: _Slot, family: str, event_id: str, meta: Any) -> None:
        tracker.acked(slot)
        with lock:
            acked[family] += 1
            tp = (meta.topic, meta.partition)
            low, high = offsets.get(tp, (meta.offset, meta.offset))
            offsets[tp] = (min(low, meta.offset), max(high, meta.offset))
            if report_acks:
                acks.append((event_id, family, time.time()))

    def on_error(exc: BaseException) -> None:
        state["failure"] = f"{type(exc).__name__}: {exc}"

    def report() -> None:
        last = None
        while True:
            safe = tracker.safe()
            with lock:
                counts, acked_now, offsets_now = dict(acked), list(acks), dict(offsets)
                acks.clear()
                offsets.clear()
            if state["fenced"] is not None:
                outbox.send(("fenced", state["fenced"]))
                return
            if state["failure"] is not None:
                outbox.send(("failed", state["failure"]))
                return
            if safe != last or acked_now or offsets_now:
                outbox.send(("safe", safe[0] if safe else None, safe[1] if safe else None, counts,
                             tracker.in_flight(), acked_now, offsets_now))
                last = safe
            if stop.is_set():
                return
            time.sleep(REPORT_INTERVAL_S)

    reporter = threading.Thread(target=report, name="publisher-report", daemon=True)
    reporter.start()
    try:
        while True:
            try:
                batch = inbox.recv()
            except EOFError:  # the decoder is gone
                break
            if batch == ("stop",):
                break
            late = lease_clock() - deadline.value
            if late >= 0:
                state["fenced"] = f"a batch came {late:.1f}s after the leader lease's deadline"
                break
            for item in batch:
                if item[0] == "o":
                    slots[item[1]] = tracker.open()
                elif item[0] == "e":
                    _k, slot_id, family_index, key, value, event_id = item
                    slot = slots[slot_id]
                    tracker.sent(slot)
                    family = FAMILIES[family_index]
                    headers = [("event_id", event_id.encode())]
                    future = producer.send(topics[family_index], key=key, value=value, headers=headers)
                    future.add_callback(on_ack, slot, family, event_id)
                    future.add_errback(on_error)
                else:
                    _k, slot_id, position, ts_ms = item
                    tracker.close(slots.pop(slot_id), position, ts_ms)
        producer.flush(timeout=30)
    except Exception as exc:  # report, never hang the decoder
        on_error(exc)
    finally:
        stop.set()
        reporter.join(5)
        producer.close(timeout=5)


class PublisherProcess:
    """The decoder's handle on the publisher process."""

    def __init__(self, kafka: KafkaSettings, topics: dict[Family, str],
                 on_ack: Callable[[str, str, float], None] | None = None, fence: Fence | None = None):
        self.kafka = kafka
        self.fence = fence
        self.fenced: str | None = None
        self.topics = topics
        self._family_index = {family: i for i, family in enumerate(FAMILIES)}
        context = multiprocessing.get_context("spawn")
        # lease_clock() seconds until which the publisher may produce (written here, read there)
        self._deadline = context.Value("d", fence.valid_until if fence else float("inf"), lock=False)
        if fence is not None:
            fence.watch(self._moved)
        inbox_read, self._inbox = context.Pipe(duplex=False)
        self._outbox, outbox_write = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_publisher_main, name="walmart-sync-publisher", daemon=True,
            args=(inbox_read, outbox_write, kafka,
                  [topics[f] for f in FAMILIES], on_ack is not None, self._deadline))
        self._on_ack = on_ack
        self._ready = threading.Event()  # set by the first reply: "ready", or a failure
        self._batch: list[tuple[Any, ...]] = []
        self._batch_since = 0.0  # monotonic time of the oldest item in the batch
        self._defer = False
        self._deferred_error: BaseException | None = None
        self._next_slot = 0
        self._safe: tuple[BinlogPosition, int | None] | None = None
        self.failure: str | None = None
        self.acked: dict[str, int] = {}
        self.in_flight = 0
        self._sent = 0
        self._offsets: dict[tuple[str, int], tuple[int, int]] = {}
        self._offsets_lock = threading.Lock()
        self._process.start()
        inbox_read.close()
        outbox_write.close()
        self._receiver = threading.Thread(target=self._receive, name="publisher-replies", daemon=True)
        self._receiver.start()

    def _moved(self, valid_until: float) -> None:
        self._deadline.value = valid_until

    def _receive(self) -> None:
        while True:
            try:
                message = self._outbox.recv()
            except (EOFError, OSError):
                if self.failure is None and self._process.exitcode not in (None, 0):
                    self.failure = f"publisher process exited with code {self._process.exitcode}"
                elif self.failure is None and not self._ready.is_set():
                    self.failure = "the publisher process ended before it was ready"
                self._ready.set()
                return
            if message[0] == "ready":
                self._ready.set()
                continue
            if message[0] == "failed":
                self.failure = message[1]
                self._ready.set()
                return
            if message[0] == "fenced":
                self.fenced = message[1]
                self._ready.set()
                return
            _kind, position, ts_ms, acked, in_flight, acks, offsets = message
            with self._offsets_lock:
                for tp, (low, high) in offsets.items():
                    before = self._offsets.get(tp, (low, high))
                    self._offsets[tp] = (min(before[0], low), max(before[1], high))
            if position is not None:
                self._safe = (position, ts_ms)
            self.acked, self.in_flight = acked, in_flight
            if self._on_ack is not None:
                for event_id, family, acked_at in acks:
                    self._on_ack(event_id, family, acked_at)

    def wait_ready(self, timeout_s: float, stop: threading.Event | None = None) -> None:
        """Block until the producer is connected and knows its topics' partitions.

        The decoder reads the binlog only once its events can be published: a publisher still
        starting (a fresh interpreter importing kafka-python, bootstrapping, fetching metadata: about
        a second) filled the pipe while the reader stood blocked on it, and a Kafka that refused the
        producer showed up only as a full pipe. ``stop`` ends the wait early (the listener stopping)."""
        deadline = time.monotonic() + timeout_s
        while not self._ready.wait(0.05):
            if stop is not None and stop.is_set():
                return
            if time.monotonic() > deadline:
                raise KafkaUnavailable(f"the publisher did not connect to Kafka within {timeout_s:.0f}s")
        if self.failure is not None:
            raise KafkaUnavailable(self.failure)
        if self.fenced is not None:
            raise LeaseLost(f"the publisher refused to start: {self.fenced}")

    # decoder-side API ------------------------------------------------------------------------
    def defer_flushes(self) -> None:
        """Transaction ends stop handing the batch over one by one: the reader calls
        ``flush_when_idle`` before it waits for the server, so a lone change still goes at once,
        while a backlog goes over the pipe in batches (one pipe write and one pickled message per
        transaction was a third of the decoder's time on a store's binlog, issue 19)."""
        self._defer = True

    def flush_when_idle(self) -> None:
        """The reader's idle hook. It runs inside the binlog read, so it raises nothing there: a
        failure is raised by the next call the listener makes (its batch is gone with the lease)."""
        if self._deferred_error is not None:
            return
        try:
            self.flush_batch()
        except (ListenerError, LeaseLost) as exc:
            self._deferred_error = exc

    def open_slot(self) -> int:
        """Slots are created in the publisher when first referenced, in binlog order."""
        self._next_slot += 1
        if not self._batch:
            self._batch_since = time.monotonic()
        self._batch.append(("o", self._next_slot))
        return self._next_slot

    def send(self, family: Family, key: str, value: bytes, event_id: str, slot: int) -> None:
        """``value`` is the serialised ``ChangeEvent`` (see domain.events)."""
        if not self._batch:
            self._batch_since = time.monotonic()
        self._batch.append(("e", slot, self._family_index[family], key.encode(), value, event_id))
        self._sent += 1
        if len(self._batch) >= BATCH_ITEMS:
            self.flush_batch()

    def close_slot(self, slot: int, position: BinlogPosition | None, ts_ms: int | None) -> None:
        if not self._batch:
            self._batch_since = time.monotonic()
        self._batch.append(("c", slot, position, ts_ms))
        if (not self._defer or len(self._batch) >= BATCH_ITEMS
                or time.monotonic() - self._batch_since >= MAX_BATCH_AGE_S):
            self.flush_batch()

    def flush_batch(self) -> None:
        if self._deferred_error is not None:
            raise self._deferred_error
        if self.fenced is not None:
            raise LeaseLost(f"the publisher refused a batch: {self.fenced}")
        if self.failure is not None:
            raise KafkaUnavailable(f"Kafka did not acknowledge an event: {self.failure}")
        if self._batch:
            if self.fence is not None and not self.fence.valid():
                self._batch = []
                self._deadline.value = 0.0
                raise LeaseLost("the leader lease ran out before this batch was published")
            batch, self._batch = self._batch, []
            try:
                self._inbox.send(batch)
            except (BrokenPipeError, OSError) as exc:
                raise KafkaUnavailable(f"the publisher process is gone: {self.failure or exc}") from exc

    def safe(self) -> tuple[BinlogPosition, int | None] | None:
        return self._safe

    @property
    def sent(self) -> int:
        """Events handed to ``send`` so far (this publisher's life)."""
        return self._sent

    def take_offsets(self) -> dict[tuple[str, int], tuple[int, int]]:
        """(lowest, highest) offset Kafka acknowledged per partition since the last call: the gap
        ledger's record of what Kafka holds (plumbing/gaps.py)."""
        with self._offsets_lock:
            taken, self._offsets = self._offsets, {}
        return taken

    def stop(self, timeout_s: float = 30.0) -> None:
        """Deliver what is in flight, then end the process; the final safe position is kept.

        After a failure nothing more can move the safe position (replies stop at the failure), so
        the process is not waited for: it would spend a flush timeout on the broker that failed.
        ``timeout_s`` 0 kills it at once (the leader lease is gone: nothing more may reach Kafka)."""
        try:
            self.flush_batch()
            self._inbox.send(("stop",))
        except (ListenerError, LeaseLost, BrokenPipeError, OSError):
            pass
        if self.fence is not None:
            self.fence.watch(None)
        if self.failure is not None or self.fenced is not None:
            timeout_s = 0
        self._process.join(timeout_s)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._receiver.join(5)
        self._inbox.close()
