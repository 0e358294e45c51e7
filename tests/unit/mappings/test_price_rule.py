"""The effective-price rule itself (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from mappings.price import (
    ALL_GROUPS,
    PriceRecord,
    TierRow,
    effective_price,
    next_change,
    price_feed,
    store_wall_clock,
    tier_price_for_one,
    wall_clock_instant,
    wire_price,
)

NOW = datetime(2026, 11, 22, 12, 0, 0)


def record(**kw) -> PriceRecord:
    return PriceRecord("A", price=Decimal("20"), **kw)


def test_tier_price_for_quantity_one() -> None:
    """TierPrice::getValue / canApplyTierPrice for quantity 1 and customer group 0."""
    price = Decimal("20")
    assert tier_price_for_one([TierRow(1, True, 0, Decimal(1), Decimal("18"))], 0, price) == Decimal("18")
    assert tier_price_for_one([TierRow(1, False, 1, Decimal(1), Decimal("18"))], 0, price) is None  # another group
    assert tier_price_for_one([TierRow(1, False, 0, Decimal(5), Decimal("10"))], 0, price) is None  # needs 5
    assert tier_price_for_one([TierRow(1, False, 0, Decimal(1), Decimal(0), Decimal("25"))], 0,
                              price) == Decimal("15")  # 25 % off
    # an all-groups row does not replace the group's own row of the same qty, even when cheaper
    own_first = [TierRow(1, False, 0, Decimal(1), Decimal("18")), TierRow(2, True, ALL_GROUPS, Decimal(1), Decimal("17"))]
    assert tier_price_for_one(own_first, 0, price) == Decimal("18")
    all_first = [TierRow(1, True, ALL_GROUPS, Decimal(1), Decimal("17")), TierRow(2, False, 0, Decimal(1), Decimal("18"))]
    assert tier_price_for_one(all_first, 0, price) == Decimal("17")


def test_rule_and_tier_prices_in_the_final_price() -> None:
    day = NOW.date()
    tomorrow = date(2026, 11, 23)
    assert effective_price(record(tier_price=Decimal("18")), NOW) == Decimal("18")
    ruled = record(rule_prices={day: Decimal("16"), tomorrow: Decimal("19")})
    assert effective_price(ruled, NOW) == Decimal("16")
    assert effective_price(ruled, datetime(2026, 11, 23, 0, 0)) == Decimal("19")
    assert next_change(ruled, NOW) == datetime(2026, 11, 23, 0, 0)  # the store's midnight
    assert next_change(record(rule_prices={day: Decimal("16"), tomorrow: Decimal("16")}), NOW) is None
    assert effective_price(record(rule_prices={day: Decimal("0")}), NOW) == Decimal("20")  # 0 is no rule price
    # Adobe Commerce staging: the next version's start is an edge with no row written
    assert next_change(record(version_change=datetime(2026, 11, 22, 15, 0)), NOW) == datetime(2026, 11, 22, 15, 0)
    assert next_change(record(version_change=datetime(2026, 11, 22, 11, 0)), NOW) is None  # already past


def test_effective_price() -> None:
    assert effective_price(record(), NOW) == Decimal("20")
    assert effective_price(record(special_price=Decimal("15")), NOW) == Decimal("15")
    assert effective_price(record(special_price=Decimal("25")), NOW) == Decimal("20")
    future = record(special_price=Decimal("15"), special_from=datetime(2026, 11, 23))
    assert effective_price(future, NOW) == Decimal("20")
    # Magento's to-date is a whole day: a special ending "today" (midnight) still applies today.
    today = record(special_price=Decimal("15"), special_to=datetime(2026, 11, 22))
    assert effective_price(today, NOW) == Decimal("15")
    assert effective_price(today, datetime(2026, 11, 23, 0, 0, 1)) == Decimal("20")
    assert effective_price(PriceRecord("A", special_price=Decimal("5")), NOW) is None


def test_next_change_is_the_next_window_edge() -> None:
    window = record(special_price=Decimal("15"), special_from=datetime(2026, 11, 24),
                    special_to=datetime(2026, 11, 30))
    assert next_change(window, NOW) == datetime(2026, 11, 24)
    assert next_change(window, datetime(2026, 11, 25)) == datetime(2026, 12, 1)
    assert next_change(window, datetime(2026, 12, 2)) is None
    assert next_change(record(), NOW) is None


def test_wire_format() -> None:
    assert wire_price(Decimal("19.995")) == "20.00" and wire_price(Decimal("7")) == "7.00"
    assert price_feed({"A": "9.99"})["Price"][0]["pricing"][0]["currentPrice"] == {"currency": "USD", "amount": 9.99}


def test_the_window_is_judged_on_the_store_clock() -> None:
    """Timezone::scopeTimeStamp: the store's wall clock, naive; a naive instant (the host's clock) is refused."""
    store = ZoneInfo("America/Los_Angeles")
    instant = datetime(2031, 1, 2, 3, 0, tzinfo=UTC)          # 19:00 on the 1st in Los Angeles
    assert store_wall_clock(instant, store) == datetime(2031, 1, 1, 19, 0)
    through_the_first = record(special_price=Decimal("15"), special_to=datetime(2031, 1, 1))
    assert effective_price(through_the_first, store_wall_clock(instant, store)) == Decimal("15")
    assert effective_price(through_the_first, store_wall_clock(instant, ZoneInfo("UTC"))) == Decimal("20")
    edge = next_change(through_the_first, store_wall_clock(instant, store))
    assert edge is not None and wall_clock_instant(edge, store) == datetime(2031, 1, 2, 8, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        store_wall_clock(datetime(2031, 1, 2, 3, 0), store)
