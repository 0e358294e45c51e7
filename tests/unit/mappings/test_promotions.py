"""Commerce windows -> Walmart promotions with a was-price (mappings/promotions.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from mappings.price import PriceRecord
from mappings.promotions import PriceTarget, Promotion, parse_wire, price_target, settled
from mappings.selling_rules import SellingRule

STORE = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)          # 10:30 in Los Angeles
STORE_NOW = NOW.astimezone(STORE).replace(tzinfo=None)
PLAIN = SellingRule()
D = Decimal


def record(**fields) -> PriceRecord:
    return PriceRecord("S", price=D("40.00"), **fields)


def target(rec: PriceRecord, rule: SellingRule = PLAIN, previous: PriceTarget | None = None,
           promotions: bool = True) -> PriceTarget:
    found = price_target(rec, NOW, STORE, rule, promotions, previous)
    assert found is not None
    return found


def store_instant(wall: datetime) -> datetime:
    return wall.replace(tzinfo=STORE).astimezone(UTC)


def test_base_only_is_magentos_final_price_as_before() -> None:
    rec = record(special_price=D("29.50"), special_from=STORE_NOW - timedelta(days=1),
                 special_to=STORE_NOW + timedelta(days=30))
    assert target(rec, promotions=False) == PriceTarget("29.50")


def test_a_special_price_open_since_yesterday_starts_on_walmart_as_soon_as_walmart_allows() -> None:
    to_day = datetime(2026, 12, 31)
    rec = record(special_price=D("29.50"), special_from=datetime(2026, 11, 30), special_to=to_day)
    found = target(rec)
    assert found.base == "40.00"
    promo = found.promotion
    assert promo is not None and promo.price == "29.50" and promo.source == "special price"
    # more than Walmart's 4 h ahead, plus the hour's margin, on the minute
    assert promo.starts == datetime(2026, 12, 1, 23, 31, tzinfo=UTC)
    # through the whole of special_to_date on the store's clock (Timezone::isScopeDateInInterval)
    assert promo.ends == store_instant(datetime(2027, 1, 1))
    assert promo.moved and not promo.shortened and "sooner than Walmart takes" in promo.describe()
    # sent once, it keeps its start: a later evaluation sends the same value
    later = price_target(rec, NOW + timedelta(minutes=40), STORE, PLAIN, True, parse_wire(found.wire()))
    assert later is not None and later.wire() == found.wire()


def test_a_future_window_goes_with_its_own_dates_and_the_base_price_stays_regular() -> None:
    opens = datetime(2026, 12, 5, 9, 0)
    rec = record(special_price=D("30.00"), special_from=opens, special_to=datetime(2026, 12, 7))
    found = target(rec)
    assert found.base == "40.00" and found.promotion is not None
    assert found.promotion.starts == store_instant(opens) and not found.promotion.moved
    assert found.promotion.ends == store_instant(datetime(2026, 12, 8))


def test_no_promotion_when_the_window_is_not_below_the_regular_price_or_closes_too_soon() -> None:
    assert target(record(special_price=D("45.00"))) == PriceTarget("40.00")
    closes = record(special_price=D("20.00"), special_from=datetime(2026, 11, 1),
                    special_to=STORE_NOW.replace(hour=12, minute=0))  # a time of day: until exactly then
    assert target(closes).promotion is None and target(closes).base == "40.00"


def test_an_open_ended_special_price_is_sent_for_walmarts_180_days() -> None:
    found = target(record(special_price=D("35.00"), special_from=datetime(2026, 12, 10)))
    assert found.promotion is not None and found.promotion.shortened
    assert found.promotion.ends - found.promotion.starts == timedelta(days=180)


def test_the_catalogue_rule_price_runs_over_the_days_it_holds_and_the_tier_price_is_regular() -> None:
    today = STORE_NOW.date()
    rec = record(tier_price=D("38.00"), rule_prices={today: D("33.00"), today + timedelta(days=1): D("33.00")})
    found = target(rec)
    assert found.base == "38.00"  # the tier price for one is no promotion: no date limits it
    assert found.promotion is not None and found.promotion.source == "catalogue rule price"
    assert found.promotion.price == "33.00"
    assert found.promotion.ends == store_instant(datetime.combine(today + timedelta(days=2), datetime.min.time()))


def test_both_open_the_cheaper_is_the_promotion_and_the_selling_rule_applies_to_both_prices() -> None:
    today: date = STORE_NOW.date()
    rec = record(special_price=D("30.00"), special_from=datetime(2026, 11, 1), special_to=datetime(2026, 12, 20),
                 rule_prices={today: D("25.00")})
    found = target(rec, SellingRule(price_markup_percent=D(10), price_ending=".99"))
    assert found.base == "44.99"  # 40.00 + 10 % = 44.00 -> .99
    assert found.promotion is not None and found.promotion.price == "27.99"  # 25.00 + 10 % = 27.50 -> .99


def test_the_wire_value_round_trips_and_an_ended_promotion_settles_to_its_base() -> None:
    promo = Promotion("29.50", datetime(2026, 12, 2, tzinfo=UTC), datetime(2026, 12, 9, tzinfo=UTC))
    value = PriceTarget("40.00", promo).wire()
    assert value == "40.00 R29.50 1796169600-1796774400" and len(value) <= 64  # walmart_values.value
    back = parse_wire(value)
    assert back.base == "40.00" and back.promotion is not None
    assert (back.promotion.price, back.promotion.starts, back.promotion.ends) == ("29.50", promo.starts, promo.ends)
    assert settled(value, datetime(2026, 12, 8, tzinfo=UTC)) == value
    assert settled(value, datetime(2026, 12, 9, tzinfo=UTC)) == "40.00"
    assert parse_wire("12.34") == PriceTarget("12.34")
