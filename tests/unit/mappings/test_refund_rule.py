"""The refund rule (mappings/refunds.py): what of Commerce's credit memos Walmart still needs."""

from __future__ import annotations

from mappings.refunds import (
    CreditedItem,
    MemoItem,
    ReturnedUnits,
    WalmartLine,
    order_share,
    plan_refund,
    return_refund_targets,
    route_to_returns,
)


def walmart(number: str, quantity: int, shipped: int = 0, cancelled: int = 0, product: float = 0.0,
            tax: float = 0.0, shipping_refunded: float = 0.0, shipping: float = 0.0) -> WalmartLine:
    return WalmartLine(number, quantity, shipped, cancelled, quantity - shipped - cancelled, product, tax,
                       shipping_refunded, shipping)


def test_shipped_quantity_is_refunded_with_the_memo_amounts() -> None:
    plan = plan_refund([CreditedItem("1", shipped=2, canceled=0, refunded_qty=1, refunded_amount=10.0,
                                     refunded_tax=0.8)], {"1": walmart("1", 2, shipped=2)}, 0.0)
    assert [(r.line_number, r.product, r.tax, r.shipping) for r in plan.refunds] == [("1", 10.0, 0.8, 0.0)]
    assert plan.cancels == [] and plan.waiting == []


def test_what_walmart_already_refunded_is_not_sent_again() -> None:
    item = CreditedItem("1", shipped=2, canceled=0, refunded_qty=2, refunded_amount=20.0, refunded_tax=1.6)
    assert not plan_refund([item], {"1": walmart("1", 2, shipped=2, product=20.0, tax=1.6)}, 0.0)
    second_memo = plan_refund([item], {"1": walmart("1", 2, shipped=2, product=10.0, tax=0.8)}, 0.0)
    assert [(r.product, r.tax) for r in second_memo.refunds] == [(10.0, 0.8)]


def test_never_shipped_quantity_is_cancelled_not_refunded() -> None:
    # 3 ordered, 1 shipped, credit memo for 2: one unit refunded, one cancelled
    plan = plan_refund([CreditedItem("1", shipped=1, canceled=0, refunded_qty=2, refunded_amount=30.0,
                                     refunded_tax=2.4)], {"1": walmart("1", 3, shipped=1)}, 0.0)
    assert [(r.product, r.tax) for r in plan.refunds] == [(15.0, 1.2)]
    assert plan.cancels == [("1", 1)]
    # once Walmart shows it cancelled, nothing more; cancelled quantity of Commerce counts too
    done = plan_refund([CreditedItem("1", shipped=1, canceled=0, refunded_qty=2, refunded_amount=30.0,
                                     refunded_tax=2.4)],
                       {"1": walmart("1", 3, shipped=1, cancelled=1, product=15.0, tax=1.2)}, 0.0)
    assert not done


def test_refund_waits_for_the_shipment_to_reach_walmart() -> None:
    plan = plan_refund([CreditedItem("2", shipped=1, canceled=0, refunded_qty=1, refunded_amount=5.0,
                                     refunded_tax=0.0)], {"2": walmart("2", 1, shipped=0)}, 0.0)
    assert plan.waiting == ["2"] and not plan


def test_shipping_is_spread_over_lines_with_a_shipping_charge() -> None:
    lines = {"1": walmart("1", 1, shipped=1, shipping=4.0), "2": walmart("2", 1, shipped=1, shipping=6.0)}
    plan = plan_refund([], lines, 7.5)
    assert [(r.line_number, r.shipping) for r in plan.refunds] == [("1", 4.0), ("2", 3.5)]
    lines["1"] = walmart("1", 1, shipped=1, shipping=4.0, shipping_refunded=4.0)
    assert [(r.line_number, r.shipping) for r in plan_refund([], lines, 7.5).refunds] == [("2", 3.5)]


# credit memos that refund Walmart returns ------------------------------------------------------------


def test_returned_units_are_routed_to_returns_once_oldest_memo_first() -> None:
    returned = [ReturnedUnits("R1", 1, order_item_id=10, quantity=2)]
    memos = [MemoItem(5, 10, qty=1, amount=8.0, tax=0.64), MemoItem(6, 10, qty=2, amount=16.0, tax=1.28),
             MemoItem(6, 11, qty=1, amount=30.0, tax=2.4)]
    routes = route_to_returns(memos, returned, {})
    assert routes == {(5, 10): 1, (6, 10): 1, (6, 11): 0}
    # decided pairs are never decided again, even if more returns arrive later
    later = returned + [ReturnedUnits("R2", 1, order_item_id=11, quantity=1)]
    assert route_to_returns(memos, later, routes) == {}
    assert route_to_returns(memos + [MemoItem(7, 11, 1, 30.0, 2.4)], later, routes) == {(7, 11): 1}


def test_the_order_refund_keeps_only_the_units_not_routed_to_returns() -> None:
    memos = [MemoItem(6, 10, qty=2, amount=16.0, tax=1.28), MemoItem(6, 11, qty=1, amount=30.0, tax=2.4)]
    assert order_share(memos, {(6, 10): 1, (6, 11): 0}) == {10: (1, 8.0, 0.64), 11: (1, 30.0, 2.4)}
    assert order_share(memos, {(6, 10): 2, (6, 11): 1}) == {}


def test_routed_units_spread_over_the_items_return_lines_oldest_first() -> None:
    returned = [ReturnedUnits("R2", 1, 10, 2), ReturnedUnits("R1", 1, 10, 1), ReturnedUnits("R1", 2, 11, 1)]
    assert return_refund_targets(returned, {(5, 10): 2, (5, 11): 0}) == \
        {("R1", 1): 1, ("R1", 2): 0, ("R2", 1): 1}
