"""Walmart's promotional prices, modelled from Walmart's documentation with the emulator's own code.

The price API (prices.yml, ``PUT /v3/price``; the bulk ``price`` feed takes the same ``Price``
entries) carries a SKU's regular price as a ``BASE`` pricing entry and its promotions as
``REDUCED`` / ``CLEARANCE`` entries with ``effectiveDate``, ``expirationDate``, a
``comparisonPrice`` (the was-price shown struck through), ``processMode`` UPSERT or DELETE and an
optional ``promoId``; ``replaceAll: "true"`` replaces every promotion of the SKU with those sent.

What Walmart refuses (developer.walmart.com, "Price and promotional price management API
overview" and "Promotion price error codes", US):
- more than 10 promotions for an item (ERR_EXT_DATA_0101137);
- a start that is not more than four hours ahead (ERR_EXT_DATA_0101132);
- changing or cancelling a promotion within four hours of its start (ERR_EXT_DATA_0101132; an
  active one may be changed or deleted, its start stays);
- an end at or before the start (ERR_EXT_DATA_0101134), or more than 180 days after it
  (ERR_EXT_DATA_0101133);
- dates that overlap another promotion of the same item (ERR_EXT_DATA_0101136);
- a promotion without its dates (ERR_INT_SYS_0101139), a DELETE of none (ERR_EXT_DATA_0101138).

A promotion is shown from ``effectiveDate`` until ``expirationDate`` on Walmart's clock (the
emulator's wall clock, which tests move on), then it is gone and the BASE price shows again.
A whole request is applied or refused: nothing of a refused one lands.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PROMO_TYPES = ("REDUCED", "CLEARANCE")
LEAD_S = 4 * 3600.0          # a promotion starts more than four hours after it is set up
MAX_DAYS = 180               # and lasts at most 180 days
MAX_PER_ITEM = 10


class PromotionRefused(Exception):
    def __init__(self, code: str, description: str, field_name: str = "pricing"):
        self.code, self.description, self.field = code, description, field_name
        super().__init__(f"{code}: {description}")


@dataclass(frozen=True)
class Promotion:
    promo_id: str
    price_type: str
    amount: float
    starts: float            # epoch seconds, Walmart's clock
    ends: float
    comparison: float | None = None
    display: str | None = None

    def same_offer(self, other: Promotion) -> bool:
        return (self.price_type, self.amount, self.starts, self.ends, self.comparison, self.display) == \
            (other.price_type, other.amount, other.starts, other.ends, other.comparison, other.display)

    def frozen(self, now: float) -> bool:
        """Within the four hours before its start: Walmart takes no change nor cancellation."""
        return now < self.starts <= now + LEAD_S

    def to_json(self) -> dict[str, Any]:
        """As GET /v3/promo/sku/{sku} lists it (dates in epoch milliseconds)."""
        body: dict[str, Any] = {
            "promoId": self.promo_id, "currentPriceType": self.price_type,
            "currentPrice": {"value": {"currency": "USD", "amount": self.amount}},
            "effectiveDate": int(self.starts * 1000), "expirationDate": int(self.ends * 1000),
            "processMode": "UPSERT"}
        if self.comparison is not None:
            body["comparisonPriceType"] = "BASE"
            body["comparisonPrice"] = {"value": {"currency": "USD", "amount": self.comparison}}
        if self.display:
            body["priceDisplayCodes"] = self.display
        return body


def parse_instant(value: Any, name: str) -> float:
    """``format: date-time`` (ISO 8601 with a zone; a naive one is UTC), or epoch milliseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) / 1000.0
    if not isinstance(value, str) or not value:
        raise PromotionRefused("ERR_INT_SYS_0101139", f"Missing required parameters: {name}", name)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PromotionRefused("ERR_INT_SYS_0101139", f"{name} {value!r} is not a date-time", name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _amount(entry: dict[str, Any], key: str) -> float | None:
    money = entry.get(key)
    if not isinstance(money, dict):
        return None
    amount = money.get("amount")
    if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount <= 0 or money.get("currency") != "USD":
        raise PromotionRefused("INVALID_REQUEST_CONTENT.GMP_PRICE_API",
                               f"{key} needs currency USD and an amount > 0", key)
    return float(amount)


def _overlap(a: Promotion, b: Promotion) -> bool:
    return a.starts < b.ends and b.starts < a.ends


@dataclass
class ItemPrices:
    """One SKU's regular price and promotions on Walmart."""

    promotions: list[Promotion] = field(default_factory=list)

    def live(self, now: float) -> list[Promotion]:
        """Promotions not ended yet (an ended one is gone: it neither counts nor overlaps)."""
        return sorted((p for p in self.promotions if p.ends > now), key=lambda p: p.starts)

    def active(self, now: float) -> Promotion | None:
        return next((p for p in self.live(now) if p.starts <= now), None)

    def apply(self, entries: list[dict[str, Any]], replace_all: bool, now: float) -> dict[str, Any] | None:
        """Apply a request's pricing entries, all or nothing; returns the new BASE entry, if one was sent."""
        base: dict[str, Any] | None = None
        current = self.live(now)
        kept: dict[str, Promotion] = {p.promo_id: p for p in current}
        touched: set[str] = set()
        for entry in entries:
            price_type = entry.get("currentPriceType", "BASE")
            mode = str(entry.get("processMode") or "UPSERT").upper()
            dated = entry.get("effectiveDate") is not None or entry.get("expirationDate") is not None
            if price_type == "BASE" and not dated and mode == "UPSERT":
                base = entry
                continue
            starts = parse_instant(entry.get("effectiveDate"), "effectiveDate")
            ends = parse_instant(entry.get("expirationDate"), "expirationDate")
            wanted_id = entry.get("promoId") or None
            existing = self._find(kept.values(), wanted_id, starts, ends)
            if mode == "DELETE":
                if existing is None:
                    raise PromotionRefused("ERR_EXT_DATA_0101138", "The promotion does not exist for the given promoId")
                if existing.frozen(now):
                    raise PromotionRefused("ERR_EXT_DATA_0101132", "A promotion cannot be cancelled within 4 hours of "
                                           "its effective date and time")
                del kept[existing.promo_id]
                continue
            if mode != "UPSERT":
                raise PromotionRefused("INVALID_REQUEST_CONTENT.GMP_PRICE_API", "processMode is UPSERT or DELETE",
                                       "processMode")
            if price_type not in PROMO_TYPES:
                raise PromotionRefused("INVALID_REQUEST_CONTENT.GMP_PRICE_API",
                                       "a dated pricing entry is a promotion: currentPriceType REDUCED or CLEARANCE",
                                       "currentPriceType")
            amount = _amount(entry, "currentPrice")
            if amount is None:
                raise PromotionRefused("INVALID_REQUEST_CONTENT.GMP_PRICE_API", "currentPrice is required", "currentPrice")
            if ends <= starts:
                raise PromotionRefused("ERR_EXT_DATA_0101134", "A promotion start date cannot be later than the "
                                       "promotion end date")
            if ends - starts > MAX_DAYS * 86400:
                raise PromotionRefused("ERR_EXT_DATA_0101133", f"A promotion ends within {MAX_DAYS} days of its start")
            offer = Promotion(existing.promo_id if existing else (wanted_id or "P" + secrets.token_hex(8)),
                              str(price_type), amount, starts, ends, _amount(entry, "comparisonPrice"),
                              entry.get("priceDisplayCodes") or None)
            if existing is not None and existing.same_offer(offer):
                touched.add(existing.promo_id)
                continue
            if existing is not None and existing.frozen(now):
                raise PromotionRefused("ERR_EXT_DATA_0101132", "A promotion cannot be changed within 4 hours of its "
                                       "effective date and time")
            if existing is not None and existing.starts <= now:
                if offer.starts != existing.starts:
                    raise PromotionRefused("ERR_EXT_DATA_0101132", "An active promotion's start cannot be moved")
            elif offer.starts <= now + LEAD_S:
                raise PromotionRefused("ERR_EXT_DATA_0101132", "The effective start date of a promotion must be more "
                                       "than 4 hours from the current date and time")
            kept[offer.promo_id] = offer
            touched.add(offer.promo_id)
        if replace_all:
            for promo_id in [p for p in kept if p not in touched]:
                if kept[promo_id].frozen(now):
                    raise PromotionRefused("ERR_EXT_DATA_0101132", "A promotion cannot be cancelled within 4 hours of "
                                           "its effective date and time")
                del kept[promo_id]
        result = sorted(kept.values(), key=lambda p: p.starts)
        for first, second in zip(result, result[1:], strict=False):
            if _overlap(first, second):
                raise PromotionRefused("ERR_EXT_DATA_0101136", "A promotion already exists with this date range")
        if len(result) > MAX_PER_ITEM:
            raise PromotionRefused("ERR_EXT_DATA_0101137", f"An item has at most {MAX_PER_ITEM} promotions")
        self.promotions = result
        return base

    @staticmethod
    def _find(promotions: Any, promo_id: str | None, starts: float, ends: float) -> Promotion | None:
        """The promotion an entry names: by promoId, else by its dates, else by its start (a new end)."""
        found = list(promotions)
        if promo_id:
            return next((p for p in found if p.promo_id == promo_id), None)
        return next((p for p in found if (p.starts, p.ends) == (starts, ends)), None) or \
            next((p for p in found if p.starts == starts), None)

    def shown(self, base: dict[str, Any] | None, now: float) -> dict[str, Any]:
        """What a shopper sees now: the active promotion with its was-price, else the BASE price."""
        promo = self.active(now)
        if promo is None:
            amount = ((base or {}).get("currentPrice") or {}).get("amount")
            return {"currentPriceType": "BASE", "currentPrice": amount, "comparisonPrice": None}
        return {"currentPriceType": promo.price_type, "currentPrice": promo.amount,
                "comparisonPrice": promo.comparison, "promoId": promo.promo_id,
                "effectiveDate": int(promo.starts * 1000), "expirationDate": int(promo.ends * 1000)}
