"""The consumer-group watchdog: a worker that is up but no longer consumes is not ready, then rebuilt.

Once, after a state-store cut and a SIGKILL of another component, the inventory worker stayed
alive and ready ("consuming") while Kafka showed its group ``Empty`` for more than ten minutes:
its main thread spun in ``KafkaConsumer.poll`` fetching nothing and never rejoined (kafka-python
has this class of defect: dpkp/kafka-python#1547, #1134). Nothing in the process noticed, since
readiness only remembered that the group had been joined once.

So the loop shows the consumer to a watchdog on every turn, and readiness asks it too (from the
status server's thread, so a worker whose main loop is frozen goes unready as well):

- not a member of its group (kafka-python's ``MemberState`` not ``STABLE``): kicked out after
  overrunning ``max_poll_interval_ms``, the session expired, a join that never completes;
- a member whose partitions hold records past its position, while its position does not move
  and the loop is not retrying a batch on purpose (a batch that fails is the loop's own
  readiness reason, not this one).

A member with no partitions assigned is healthy: replicas beyond the partition count idle by
design. A condition that held for ``grace_s`` (two session timeouts: a rebalance normally ends
well within that) makes readiness false with the reason; one that held for
``workers.group_watchdog_s`` makes the loop close the consumer and build a new one, which joins
the group as a new member. The decision is here, apart from Kafka, so it can be tested alone.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["GroupView", "GroupWatchdog"]


@dataclass(frozen=True, slots=True)
class GroupView:
    """What the consumer shows at one moment."""

    member: bool  # joined and stable in its consumer group
    waiting: int | None = None  # records past its position on its partitions (None: not known now)
    positions: tuple[tuple[str, int, int], ...] = ()  # (topic, partition, position): moves when it consumes
    retrying: bool = False  # the loop is retrying a failed batch (its positions rewind on purpose)


class GroupWatchdog:
    def __init__(self, grace_s: float, limit_s: float):
        if not 0 < grace_s <= limit_s:
            raise ValueError(f"grace_s ({grace_s}) must be positive and at most limit_s ({limit_s})")
        self.grace_s = grace_s
        self.limit_s = limit_s
        self._lock = threading.Lock()
        self._since: float | None = None  # since when the current trouble holds
        self._problem: str | None = None
        self._positions: tuple[tuple[str, int, int], ...] | None = None
        self._moved_at: float | None = None

    def observe(self, now: float, view: GroupView) -> None:
        """Record what the consumer shows; the loop calls it every turn, readiness whenever asked."""
        with self._lock:
            if self._positions != view.positions or self._moved_at is None or view.retrying:
                # a retried batch rewinds on purpose: its time does not count as standing still
                self._positions, self._moved_at = view.positions, now
            if not view.member:
                problem: str | None = "not a member of its consumer group"
            elif (view.waiting and not view.retrying and self._moved_at is not None
                  and now - self._moved_at >= self.grace_s):
                # stuck since the position last moved, not since this observation
                problem = f"not consuming while {view.waiting} record(s) wait on its partitions"
                self._since = self._since if self._problem is not None else self._moved_at
            else:
                problem = None
            if problem is None:
                self._since = self._problem = None
                return
            if self._since is None:
                self._since = now
            self._problem = problem

    def observe_membership(self, now: float, member: bool) -> None:
        """Readiness' view: membership only (positions are the loop's to read), progress untouched."""
        with self._lock:
            if member:
                if self._problem == "not a member of its consumer group":
                    self._since = self._problem = None
                return
            if self._problem != "not a member of its consumer group":
                self._problem, self._since = "not a member of its consumer group", now
            elif self._since is None:
                self._since = now

    def reason(self, now: float) -> str | None:
        """Why readiness is false (None: consuming, or trouble too recent to call)."""
        with self._lock:
            if self._problem is None or self._since is None or now - self._since < self.grace_s:
                return None
            return f"{self._problem} for {now - self._since:.0f} s"

    def due(self, now: float) -> bool:
        """The trouble held for ``limit_s``: the consumer is to be rebuilt."""
        with self._lock:
            return self._problem is not None and self._since is not None and now - self._since >= self.limit_s

    def reset(self, now: float) -> None:
        """A new consumer: its own clock starts (it gets ``limit_s`` to join before the next rebuild)."""
        with self._lock:
            self._since = self._problem = None
            self._positions, self._moved_at = None, now
