"""A consumer group's status from the trend of its samples, in the manner of LinkedIn's Burrow:
not a fixed lag threshold, which is wrong for every group but one, but what the lag is doing.

- ERR: the group could not be read, or a committed offset is past the log end.
- STOP: lag and no member, or a member whose walmart-sync heartbeat stopped (a broker may keep a
  killed consumer in the group longer than its session timeout): the consumer is gone while work
  waits.
- STALL: lag in every sample of the window and no committed offset moved: a consumer is there
  but stuck (a poison batch it keeps retrying, a hung Walmart call).
- WARN: offsets move but the lag grew across the window: the consumer is falling behind.
- OK: no lag, or lag that shrinks or holds while offsets move.

Pure: the samples come from walmart_sync/lag/kafka_lag.py (now, and the history the sampler kept).
"""

from __future__ import annotations

from dataclasses import dataclass

from operations.lag.kafka_lag import GroupSample, PartitionLag

STATUSES = ("OK", "WARN", "STALL", "STOP", "ERR")


@dataclass(frozen=True)
class Evaluation:
    status: str
    detail: str
    partitions: dict[tuple[str, int], str]  # (topic, partition) -> status


def worst(statuses: list[str]) -> str:
    return max(statuses, key=STATUSES.index, default="OK")


def evaluate(samples: list[GroupSample], min_window_s: float = 1.0, alive: bool | None = None) -> Evaluation:
    """``samples`` of one group, oldest first; the last is the current state. ``alive``: the
    consumer's own heartbeat (False: it stopped beating), when walmart-sync runs it."""
    if not samples:
        return Evaluation("ERR", "no sample", {})
    latest = samples[-1]
    if latest.error:
        return Evaluation("ERR", f"cannot read the group: {latest.error}", {})
    beyond = [p for p in latest.partitions if p.committed is not None and p.committed > p.end]
    if beyond:
        return Evaluation("ERR", "committed offset past the log end on " + ", ".join(
            f"{p.topic}/{p.partition}" for p in beyond), {(p.topic, p.partition): "ERR" for p in beyond})
    if latest.lag == 0:
        note = "no active consumer" if not latest.members else "caught up"
        return Evaluation("OK", note, {(p.topic, p.partition): "OK" for p in latest.partitions})
    if not latest.members or alive is False:
        why = "no consumer in the group" if not latest.members else "its consumer stopped sending heartbeats"
        return Evaluation("STOP", f"{latest.lag} message(s) waiting and {why}",
                          {(p.topic, p.partition): ("STOP" if p.lag else "OK") for p in latest.partitions})
    window = [s for s in samples if not s.error]
    per_partition: dict[tuple[str, int], str] = {}
    longest = 0.0
    for p in latest.partitions:
        key = (p.topic, p.partition)
        if not p.lag:
            per_partition[key] = "OK"
            continue
        # the run of samples, up to now, in which this partition had lag
        run: list[PartitionLag] = []
        run_started = latest.taken_at
        for sample in reversed(window):
            found = next((q for q in sample.partitions if (q.topic, q.partition) == key and q.lag > 0), None)
            if found is None:
                break
            run.append(found)
            run_started = sample.taken_at
        spans = latest.taken_at - run_started
        longest = max(longest, spans)
        first = run[-1]
        if spans < min_window_s:
            per_partition[key] = "OK"  # one reading says nothing about a trend
        elif all(q.committed == p.committed for q in run):
            per_partition[key] = "STALL"
        elif p.lag > first.lag:
            per_partition[key] = "WARN"
        else:
            per_partition[key] = "OK"
    status = worst(list(per_partition.values()))
    detail = {"STALL": f"lag and no committed offset moved in {longest:.0f} s",
              "WARN": f"lag grew over {longest:.0f} s while consuming",
              "OK": "consuming" if longest >= min_window_s else "lag, trend not known yet (one reading)"}[status]
    return Evaluation(status, detail, per_partition)
