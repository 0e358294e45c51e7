"""Commerce promotions -> a Walmart promotional price with a was-price (``price.promotions``).

Sent as Magento computes it (mappings/price.py), a special price is only a lower BASE price: Walmart
shows no strike-through and the shopper no saving. In ``promotions`` mode the regular price goes as
BASE and the window Magento discounts in goes as a ``REDUCED`` promotion: the discounted final price,
the regular price as ``comparisonPrice`` and the window's dates. Both after the SKU's selling rule.

- The regular price is what Magento charges outside any window: the least of ``price`` and the
  tier/group price for quantity 1 (``RegularPrice`` and ``TierPrice``, which no date limits).
- The window is a special price's (``special_from_date`` through the whole day of
  ``special_to_date``, on the store's clock: ``Timezone::isScopeDateInInterval``) or the catalogue
  rule price's (``CatalogRulePrice``: the consecutive days ``catalogrule_product_price`` holds the
  same price, from the store's midnight). One promotion at a time: the one open now (the cheaper if
  both are), else the next to open. Its price is Magento's final price inside it.
- Walmart's rules (developer.walmart.com, price and promotional price management): a promotion
  starts more than 4 hours after it is sent and lasts at most 180 days. A window that opens sooner
  (or is open already) is sent from the earliest start Walmart allows (now + 4 h + the margin for
  a feed's processing and clock skew), and keeps that start afterwards (``previous``: what Walmart
  confirmed), so re-sending it changes nothing. A longer one is sent for its first 180 days.

The value the price worker keeps per SKU is the wire string ``wire()`` (compared with what Walmart
confirmed, so a promotion whose dates or price change is sent again): ``"40.00"`` alone, or
``"40.00 R29.50 1767225600-1767830400"`` (the promotional price and its epoch-second dates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal

from mappings.price import PriceRecord, effective_price, wall_clock_instant, wire_price
from mappings.selling_rules import SellingRule, rule_price

WALMART_LEAD = timedelta(hours=4)      # a promotion starts more than 4 hours after it is set up
WALMART_MAX_LENGTH = timedelta(days=180)


@dataclass(frozen=True)
class Promotion:
    price: str                  # the promotional price, on the wire
    starts: datetime            # aware, as sent to Walmart
    ends: datetime
    source: str = ""            # "special price" | "catalogue rule price"
    window_starts: datetime | None = None  # the Commerce window, aware (None: open)
    window_ends: datetime | None = None

    @property
    def moved(self) -> bool:
        """Sent from later than the Commerce window opens: Walmart's lead time."""
        return self.window_starts is not None and self.starts > self.window_starts

    @property
    def shortened(self) -> bool:
        """Sent for less than the window: Walmart's 180 days."""
        return self.window_ends is None or self.ends < self.window_ends

    def describe(self) -> str:
        text = (f"{self.source or 'promotion'} {self.price} as REDUCED from {self.starts:%Y-%m-%d %H:%M} UTC "
                f"until {self.ends:%Y-%m-%d %H:%M} UTC")
        if self.moved and self.window_starts is not None:
            text += (f"; the window opens {self.window_starts:%Y-%m-%d %H:%M} UTC, sooner than Walmart takes a "
                     "promotion (more than 4 h ahead), so it starts on Walmart later")
        if self.shortened:
            text += "; Walmart takes at most 180 days: the rest follows when this part ends"
        return text


@dataclass(frozen=True)
class PriceTarget:
    base: str                   # the BASE price, on the wire
    promotion: Promotion | None = None

    def wire(self) -> str:
        if self.promotion is None:
            return self.base
        p = self.promotion
        return f"{self.base} R{p.price} {int(p.starts.timestamp())}-{int(p.ends.timestamp())}"


def parse_wire(value: str) -> PriceTarget:
    """The inverse of ``PriceTarget.wire`` (the Commerce window is not kept on the wire)."""
    parts = value.split()
    if len(parts) != 3 or not parts[1].startswith("R"):
        return PriceTarget(value.strip())
    starts, _, ends = parts[2].partition("-")
    return PriceTarget(parts[0], Promotion(parts[1][1:], datetime.fromtimestamp(int(starts), UTC),
                                           datetime.fromtimestamp(int(ends), UTC)))


def settled(value: str, instant: datetime) -> str:
    """What a confirmed value means on Walmart at ``instant``: a promotion that has ended is gone
    by itself (Walmart drops it at its expirationDate), leaving the BASE price alone."""
    target = parse_wire(value)
    if target.promotion is not None and target.promotion.ends <= instant:
        return target.base
    return value


def regular_price(record: PriceRecord) -> Decimal | None:
    """What Magento charges with no window open: the least of price and the tier price for one."""
    if record.price is None:
        return None
    candidates = [record.price] + ([record.tier_price] if record.tier_price is not None else [])
    return max(Decimal(0), min(candidates))


@dataclass(frozen=True)
class Window:
    price: Decimal              # Magento's final price inside the window
    starts: datetime            # store wall clock
    ends: datetime | None       # store wall clock, the first moment after; None: open
    source: str


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time())


def promotion_window(record: PriceRecord, now: datetime) -> Window | None:
    """The window Magento discounts the product in, open now or next (``now``: the store's clock)."""
    regular = regular_price(record)
    if regular is None:
        return None
    found: list[Window] = []
    special = record.special_price
    ends = record.special_ends
    if special is not None and special < regular and (ends is None or ends > now):
        opens = record.special_from or now
        found.append(Window(effective_price(record, max(now, opens)) or special, opens, ends, "special price"))
    today = now.date()
    for first in (today, today + timedelta(days=1)):
        rule = record.rule_prices.get(first)
        if rule and rule < regular and (first == today or not record.rule_prices.get(today)):
            last = first
            while record.rule_prices.get(last + timedelta(days=1)) == rule:
                last += timedelta(days=1)
            at = max(now, _midnight(first))
            found.append(Window(effective_price(record, at) or rule, _midnight(first), _midnight(last + timedelta(days=1)),
                                "catalogue rule price"))
            break
    open_now = [w for w in found if w.starts <= now]
    if open_now:
        return min(open_now, key=lambda w: w.price)
    return min(found, key=lambda w: w.starts) if found else None


def price_target(record: PriceRecord, instant: datetime, zone: tzinfo, rule: SellingRule, promotions: bool,
                 previous: PriceTarget | None = None, margin: timedelta = timedelta(hours=1)) -> PriceTarget | None:
    """The price Walmart should hold for ``record`` at ``instant`` (aware); None: nothing pushable.

    ``promotions`` False is Magento's final price as the BASE price (``price.promotions = "base_only"``).
    ``previous``: what Walmart confirmed for the SKU, whose promotion start is kept when the window's
    own start is too soon for Walmart."""
    now = instant.astimezone(zone).replace(tzinfo=None)
    final = effective_price(record, now)
    if final is None or final <= 0:
        return None
    if not promotions:
        return PriceTarget(wire_price(rule_price(rule, final)))
    regular = regular_price(record)
    if regular is None or regular <= 0:
        return PriceTarget(wire_price(rule_price(rule, final)))
    base = rule_price(rule, regular)
    window = promotion_window(record, now)
    if window is None:
        return PriceTarget(wire_price(base))
    promo_price = rule_price(rule, window.price)
    if promo_price <= 0 or promo_price >= base:
        return PriceTarget(wire_price(base))
    window_starts = wall_clock_instant(window.starts, zone).astimezone(UTC)
    window_ends = None if window.ends is None else wall_clock_instant(window.ends, zone).astimezone(UTC)
    earliest = instant.astimezone(UTC) + WALMART_LEAD + margin
    starts = window_starts
    if starts < earliest:
        sent = previous.promotion if previous is not None else None
        if (sent is not None and sent.ends > instant and window_starts <= sent.starts
                and (window_ends is None or sent.starts < window_ends)):
            starts = sent.starts  # already on Walmart from the earliest start it allowed then
        else:
            starts = (earliest + timedelta(minutes=1)).replace(second=0, microsecond=0)
    ends = starts + WALMART_MAX_LENGTH if window_ends is None else min(window_ends, starts + WALMART_MAX_LENGTH)
    if ends <= starts:
        return PriceTarget(wire_price(base))  # the window closes before Walmart could open it
    return PriceTarget(wire_price(base), Promotion(wire_price(promo_price), starts, ends, window.source,
                                                   window_starts, window_ends))
