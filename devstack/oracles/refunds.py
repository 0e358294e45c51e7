"""What Walmart should show for a Walmart PO line once Commerce's credit memos are applied.

Walmart refunds only what it charged for shipped quantity (notes section 5: "Refund only on
Shipped lines, amount negative and <= what was charged"; "Cancel only before Shipped"). So for the
Commerce order item of a PO line, of the units its credit memos refund:

- those Commerce had not shipped can only be a cancellation on Walmart: the line's Cancelled
  quantity is Commerce's cancelled quantity plus the refunded units beyond the shipped ones;
- those it had shipped are money back, at the credit memos' own amount per unit (row total less
  discount, averaged over the memos); Walmart pays it either through the order refund (a PRODUCT
  refund charge) or, for units the shopper returned, through the Returns API (notes section 6: by
  return line and quantity). Whichever way, each credited unit is paid once: the order refund
  should hold the credited shipped units not refunded through a return, and the returns should
  refund no more units than were credited.

This is arithmetic on Walmart's and Commerce's own records; it does not ask the sidecar how it
split a credit memo between the two APIs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class CreditedItem:
    """A Commerce order item: what it shipped and cancelled, and its credit memos' totals."""

    shipped: int
    canceled: int
    refunded_qty: int
    refunded_amount: Decimal  # sum over its credit memo items of row_total - discount_amount


def expected_cancelled(item: CreditedItem) -> int:
    """Units the PO line should show Cancelled."""
    return item.canceled + max(0, item.refunded_qty - item.shipped)


def credited_shipped_units(item: CreditedItem) -> int:
    return min(item.refunded_qty, item.shipped)


def expected_order_refund(item: CreditedItem, refunded_through_returns: int) -> Decimal:
    """PRODUCT amount the line's order refunds should add up to, given the units Walmart shows
    refunded through returns of this line."""
    if item.refunded_qty <= 0:
        return Decimal(0)
    units = max(0, credited_shipped_units(item) - refunded_through_returns)
    return (item.refunded_amount * units / item.refunded_qty).quantize(CENT, rounding=ROUND_HALF_UP)


def returns_over_credited(item: CreditedItem, refunded_through_returns: int) -> int:
    """Units refunded through returns beyond what Commerce credited (a refund nobody made)."""
    return max(0, refunded_through_returns - credited_shipped_units(item))
