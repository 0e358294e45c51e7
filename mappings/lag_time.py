"""A product's lag time (days from order to ship) -> Walmart's lagtime feed.

Made-to-order and drop-shipped products ship days after the order; Walmart judges a seller's
on-time shipping against each item's ``fulfillmentLagTime`` (lag-time.yml), so the merchant keeps
it per product in an attribute (``lag_time.attribute``), with ``lag_time.default_days`` for the
products that have none. A value that is not a whole number of days >= 0 is not sent as it is:
the default stands in, and the reason says so (a typo in the catalogue never stops the feed).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any


def lag_time_days(raw: Any, default_days: int | None) -> tuple[int | None, str]:
    """(the lag time to send, or None for nothing; why that one)."""
    if raw is None or str(raw).strip() == "":
        return default_days, "the default (lag_time.default_days)"
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        value = Decimal(-1)
    if value >= 0 and value == value.to_integral_value():
        return int(value), "the product's lag-time attribute"
    return default_days, f"the attribute's {str(raw)!r} is not a whole number of days; the default instead"


def lag_time_feed(days: dict[str, int]) -> dict[str, Any]:
    """The ``lagtime`` feed (lag-time.yml: ``lagTimeHeader`` and ``lagTime[]``, the schema's names)."""
    return {"lagTimeHeader": {"version": "1.0"},
            "lagTime": [{"sku": sku, "fulfillmentLagTime": value} for sku, value in sorted(days.items())]}
