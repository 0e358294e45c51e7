"""Singles or a feed (sync_workers/push/plan.py), with Walmart's published inventory and price limits."""

from __future__ import annotations

from sync_workers.push.plan import PushPlan, plan_push

INVENTORY_REFILL = 60 / 200   # PUT /v3/inventory: 200 a minute
PRICE_REFILL = 3600 / 100     # PUT /v3/price: 100 an hour


def test_singles_while_the_bucket_holds_enough() -> None:
    assert plan_push(150, 200, INVENTORY_REFILL, 300, 10, 1000) == PushPlan(150, False)


def test_singles_when_draining_beats_a_feed() -> None:
    # 300 pending, 200 tokens: the other 100 take 30 s at 200/min, far less than a 5-minute feed
    assert plan_push(300, 200, INVENTORY_REFILL, 300, 10, 1000) == PushPlan(300, False)


def test_budget_as_singles_and_the_rest_as_a_feed_when_the_feed_wins() -> None:
    # 2,000 pending: 1,800 more singles would take 9 minutes; a feed takes 5
    assert plan_push(2000, 200, INVENTORY_REFILL, 300, 10, 5000) == PushPlan(200, True)
    # prices: 150 pending, 100 tokens, 50 more singles take 30 minutes
    assert plan_push(150, 100, PRICE_REFILL, 300, 10, 1000) == PushPlan(100, True)


def test_no_feed_budget_means_singles_and_the_operator_can_force_feeds() -> None:
    assert plan_push(2000, 200, INVENTORY_REFILL, 300, 0, 1000) == PushPlan(2000, False)
    assert plan_push(20, 200, INVENTORY_REFILL, 300, 10, 8) == PushPlan(0, True)
    assert plan_push(20, 5, INVENTORY_REFILL, 300, 10, 8) == PushPlan(5, True)
    assert plan_push(0, 5, INVENTORY_REFILL, 300, 10, 8) == PushPlan(0, False)


def test_a_queued_backlog_tips_the_balance_towards_a_feed() -> None:
    # 1,000 pending with 24 tokens drain in under 5 minutes alone...
    assert plan_push(1000, 24, INVENTORY_REFILL, 300, 10, 5000) == PushPlan(1000, False)
    # ...but not with 10,000 more changes queued behind them
    assert plan_push(1000, 24, INVENTORY_REFILL, 300, 10, 5000, expected_more=10_000) == PushPlan(24, True)
    # what fits in the bucket now still goes at once; the backlog after it will find no tokens
    assert plan_push(100, 200, INVENTORY_REFILL, 300, 10, 5000, expected_more=10_000) == PushPlan(100, False)
