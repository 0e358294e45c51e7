"""Which parts of Commerce's credit memos Walmart still has to hear about, and how.

Walmart can refund only what it shows shipped; quantity Commerce refunded before shipping it is,
for Walmart, a cancellation. So per Commerce order item (= Walmart PO line) the refunded quantity
splits into the part Commerce shipped, refunded with the credit memos' amounts scaled to it, and
the rest, cancelled. Targets are totals over every credit memo of the order and are compared with
what Walmart already shows, so a replay or a second credit memo sends only the difference: each
credit memo reaches Walmart once. Shipping refunded by the credit memos is spread over the lines
that carry a shipping charge, first come first served.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CENT = 0.005


@dataclass(frozen=True)
class CreditedItem:
    """A Commerce order item of a Walmart PO line, with its credit memo totals."""

    line_number: str
    shipped: int            # sales_order_item.qty_shipped
    canceled: int           # sales_order_item.qty_canceled
    refunded_qty: int       # sum of credit memo item qty
    refunded_amount: float  # sum of credit memo row_total - discount
    refunded_tax: float     # sum of credit memo tax_amount
    # sales_order_item.qty_ordered: what was still open on Walmart when the PO was imported (the
    # importer orders only that); None where unknown, taken as the whole Walmart line
    ordered: int | None = None


@dataclass(frozen=True)
class WalmartLine:
    line_number: str
    quantity: int
    shipped: int             # Shipped + Delivered
    cancelled: int
    open: int                # Created + Acknowledged
    refunded_product: float
    refunded_tax: float
    refunded_shipping: float
    shipping_charged: float


@dataclass
class LineRefund:
    line_number: str
    product: float = 0.0
    tax: float = 0.0
    shipping: float = 0.0


@dataclass
class RefundPlan:
    refunds: list[LineRefund] = field(default_factory=list)
    cancels: list[tuple[str, int]] = field(default_factory=list)   # (line, quantity)
    waiting: list[str] = field(default_factory=list)               # shipped in Commerce, not yet on Walmart

    def __bool__(self) -> bool:
        return bool(self.refunds or self.cancels)


def plan_refund(items: list[CreditedItem], walmart: dict[str, WalmartLine], shipping_refunded: float) -> RefundPlan:
    plan = RefundPlan()
    by_line: dict[str, LineRefund] = {}
    for item in items:
        line = walmart.get(item.line_number)
        if line is None or item.refunded_qty <= 0:
            continue
        refund_shipped = min(item.refunded_qty, item.shipped)
        never_shipped = item.refunded_qty - refund_shipped
        if refund_shipped > line.shipped:
            plan.waiting.append(item.line_number)
        elif refund_shipped:
            share = refund_shipped / item.refunded_qty
            product = round(item.refunded_amount * share - line.refunded_product, 2)
            tax = round(item.refunded_tax * share - line.refunded_tax, 2)
            if product > CENT or tax > CENT:
                by_line[item.line_number] = LineRefund(item.line_number, max(product, 0.0), max(tax, 0.0))
        # units Walmart cancelled before the import were never ordered in Commerce, but count on Walmart
        before_import = max(0, line.quantity - item.ordered) if item.ordered is not None else 0
        cancel_target = min(line.quantity, before_import + item.canceled + never_shipped)
        cancellable = min(cancel_target - line.cancelled, line.open)
        if cancellable > 0:
            plan.cancels.append((item.line_number, cancellable))

    shipping_due = round(shipping_refunded - sum(l.refunded_shipping for l in walmart.values()), 2)
    if shipping_due > CENT:
        shipped_lines = [l for l in sorted(walmart.values(), key=lambda l: int(l.line_number)) if l.shipped]
        for line in shipped_lines:
            room = round(line.shipping_charged - line.refunded_shipping, 2)
            take = min(room, shipping_due)
            if take > CENT:
                by_line.setdefault(line.line_number, LineRefund(line.line_number)).shipping += take
                shipping_due = round(shipping_due - take, 2)
        if shipping_due > CENT and shipped_lines:  # more than Walmart charged: let Walmart judge it
            first = shipped_lines[0].line_number
            by_line.setdefault(first, LineRefund(first)).shipping += shipping_due
    plan.refunds = [by_line[n] for n in sorted(by_line, key=int)]
    return plan


# Walmart returns -----------------------------------------------------------------------------------
# A credit memo that refunds units a Walmart customer returned must go through Walmart's Returns
# API (POST /v3/returns/{id}/refund), which refunds by return line and quantity; the rest through
# the order refund above. Which part of a credit memo item is which is decided once, when the
# refund worker first sees it: units of the item still returned and not yet covered by earlier
# credit memos are the return's.

@dataclass(frozen=True)
class MemoItem:
    creditmemo_id: int
    order_item_id: int
    qty: int
    amount: float   # row_total - discount
    tax: float


@dataclass(frozen=True)
class ReturnedUnits:
    return_order_id: str
    line_number: int
    order_item_id: int
    quantity: int


def route_to_returns(memo_items: list[MemoItem], returned: list[ReturnedUnits],
                     decided: dict[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """Return quantities for the (credit memo, item) pairs not decided yet, oldest memo first."""
    available: dict[int, int] = {}
    for line in returned:
        available[line.order_item_id] = available.get(line.order_item_id, 0) + line.quantity
    for (_memo, item), qty in decided.items():
        available[item] = available.get(item, 0) - qty
    new: dict[tuple[int, int], int] = {}
    for memo in sorted(memo_items, key=lambda m: (m.creditmemo_id, m.order_item_id)):
        key = (memo.creditmemo_id, memo.order_item_id)
        if key in decided or key in new:
            continue
        take = max(0, min(memo.qty, available.get(memo.order_item_id, 0)))
        new[key] = take
        available[memo.order_item_id] = available.get(memo.order_item_id, 0) - take
    return new


def order_share(memo_items: list[MemoItem], routes: dict[tuple[int, int], int]) -> dict[int, tuple[int, float, float]]:
    """Per order item: (quantity, amount, tax) the credit memos refund through the order, i.e.
    without the units routed to returns (their amounts scaled away with them)."""
    share: dict[int, tuple[int, float, float]] = {}
    for memo in memo_items:
        to_return = routes.get((memo.creditmemo_id, memo.order_item_id), 0)
        qty = memo.qty - to_return
        if qty <= 0:
            continue
        part = qty / memo.qty
        q, a, t = share.get(memo.order_item_id, (0, 0.0, 0.0))
        share[memo.order_item_id] = (q + qty, round(a + memo.amount * part, 2), round(t + memo.tax * part, 2))
    return share


def return_refund_targets(returned: list[ReturnedUnits],
                          routes: dict[tuple[int, int], int]) -> dict[tuple[str, int], int]:
    """How many units of each return line Walmart should show refunded: the units credit memos
    routed to returns, per item, spread over that item's return lines oldest first."""
    routed: dict[int, int] = {}
    for (_memo, item), qty in routes.items():
        routed[item] = routed.get(item, 0) + qty
    targets: dict[tuple[str, int], int] = {}
    for line in sorted(returned, key=lambda l: (l.return_order_id, l.line_number)):
        take = min(line.quantity, routed.get(line.order_item_id, 0))
        targets[(line.return_order_id, line.line_number)] = take
        routed[line.order_item_id] = routed.get(line.order_item_id, 0) - take
    return targets
