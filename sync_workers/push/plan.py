"""Singles or a feed: the fastest way to get N pending values onto Walmart within its limits.

Single updates land at once but draw on a small bucket (inventory 200/min, price 100/hour);
a feed carries thousands of SKUs but Walmart takes minutes to process it and allows few an
hour. So: singles while the bucket holds enough tokens; beyond that, compare the time the
bucket needs to drain the rest with the time a feed takes. When the feed wins, the tokens on
hand are still spent on singles so part of the backlog is right at once, and the feed takes the
rest. ``force_feed_above`` lets operators keep the single budget for small changes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PushPlan:
    singles: int      # how many of the pending values go as single updates now
    feed: bool        # the others go in one feed

    @property
    def describe(self) -> str:
        return f"{self.singles} singles" + (" + a feed" if self.feed else "")


def plan_push(pending: int, tokens: int, refill_interval_s: float, feed_eta_s: float,
              feed_tokens: int, force_feed_above: int, expected_more: int = 0) -> PushPlan:
    """``expected_more``: changes still queued behind this batch (consumer lag), which will want
    the same budget a moment later; counting them stops a burst from being drained slice by
    slice through singles when one feed would have been faster overall."""
    if pending <= 0:
        return PushPlan(0, False)
    if feed_tokens < 1:
        return PushPlan(pending, False)  # no feed budget left: singles, waiting for tokens
    if pending > force_feed_above:
        return PushPlan(tokens if pending > tokens else 0, True)
    total = pending + max(0, expected_more)
    if total <= tokens or (total - tokens) * refill_interval_s <= feed_eta_s or pending <= tokens:
        return PushPlan(pending, False)
    return PushPlan(tokens, True)
