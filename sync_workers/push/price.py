"""`walmart-sync work price`: keep Walmart's price equal to Commerce's effective price.

The effective price is Magento's final price for the configured website and customer group
(mappings/price.py: the least of price, an active special price, the tier/group price for
quantity 1 and the catalogue rule price of the day), then the SKU's selling rule (markup, ending,
floor, ceiling: mappings/selling_rules.py), the window and the rule date judged on the
store's clock (its ``general/locale/timezone``), never the host's. When a special-price window
will open or close, or the rule price of the next day differs, the SKU is scheduled for
re-evaluation at that moment (converted to the host's clock the due checks run on), so Walmart
follows with no new event. A full reindex of the rule prices swaps a new table in
(RENAME TABLE, no row events): its event makes every pushed SKU due (``catalogue_event_types``).
Single updates are scarce (100/hour) and used while the budget lasts; beyond it, one price feed.

Walmart takes no price for an item until 24 hours after its setup (prices.yml: "no sooner than
24 hours after a new item is set up"; the demo matched items and priced them at once, and every
update was refused). A listing the sidecar matched itself has its setup time
(``walmart_listings.matched_at``): its price waits until then, costing no call. For items set up
elsewhere, a refusal that names the 24 hours is the same wait: the SKU is checked again after
``PRICE_RETRY_FRACTION`` of the window, and never dead-lettered or marked failed for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from config import Settings
from config.components import consumed_by
from config.settings import PriceSettings
from mappings.price import (
    PriceRecord,
    effective_price,
    next_change,
    price_entry,
    price_feed,
    store_wall_clock,
    wall_clock_instant,
    wire_price,
)
from mappings.promotions import WALMART_LEAD, PriceTarget, parse_wire, price_target, settled
from plumbing.db import DbConnection
from sync_workers.commerce.prices import PriceReader
from sync_workers.push.selling import SellingRules
from sync_workers.push.value_worker import ValueWorker
from sync_workers.walmart.errors import WalmartErrorDetail

# Walmart documents the rule, not its refusal: a refusal whose text names the window is that wait
SETUP_WINDOW_WORDS = ("24 hours", "24 hrs", "24hrs")
# Walmart's promotion refusals (developer.walmart.com, "Promotion price error codes"): one names
# "24 hours of the effective date", which is not the item-setup wait
PROMOTION_CODES = ("ERR_EXT_DATA_010113", "ERR_EXT_DATA_010114", "ERR_INT_SYS_0101139")
PRICE_RETRY_FRACTION = 1 / 24  # an item of unknown setup time is tried again hourly (24 h window)
PROMOTION_FROZEN = "Walmart takes no change to a promotion in the 4 h before it starts"


def price_reader(settings: Settings, commerce: DbConnection) -> PriceReader:
    mapping = settings.mapping
    return PriceReader(commerce, mapping.store_id, mapping.store_timezone, mapping.website_id,
                       mapping.customer_group_id)


def price_targets(reader: PriceReader, rules: SellingRules, skus: Iterable[str], instant: datetime,
                  zone: ZoneInfo | None = None, log: Any = None, settings: PriceSettings | None = None,
                  previous: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, PriceRecord]]:
    """(SKU -> the price Walmart should hold at ``instant``, as the wire value the state store keeps;
    the records read): Magento's final price on the store's clock, then the SKU's selling rule;
    with ``price.promotions = "promotions"`` the regular price and the window's promotion
    (mappings/promotions.py), ``previous`` (SKU -> the value Walmart has or is being sent) keeping a
    promotion's start. No entry for a SKU with nothing pushable (no price, or 0). One computation for
    the worker and the reconciler."""
    details = price_details(reader, rules, skus, instant, zone, log, settings, previous)
    return {sku: target.wire() for sku, target in details[0].items()}, details[1]


def price_details(reader: PriceReader, rules: SellingRules, skus: Iterable[str], instant: datetime,
                  zone: ZoneInfo | None = None, log: Any = None, settings: PriceSettings | None = None,
                  previous: dict[str, str] | None = None) -> tuple[dict[str, PriceTarget], dict[str, PriceRecord]]:
    zone = zone or reader.timezone()
    promotions = settings is not None and settings.promotions == "promotions"
    margin = timedelta(seconds=settings.promotion_margin_s if settings is not None else 3600)
    now = store_wall_clock(instant, zone)
    records = reader.read(set(skus), instant)
    chosen = rules.choices(records)
    targets: dict[str, PriceTarget] = {}
    for sku, record in records.items():
        before = parse_wire(previous[sku]) if previous and previous.get(sku) else None
        target = price_target(record, instant, zone, chosen[sku].rule, promotions, before, margin)
        if target is None:
            continue
        targets[sku] = target
        if log is None:
            continue
        price = effective_price(record, now)
        if price is not None and target.promotion is None and target.base != wire_price(price):
            log.debug("selling rule applied", sku=sku, rule=chosen[sku].name, why=chosen[sku].why,
                      commerce=wire_price(price), walmart=target.base)
        if target.promotion is not None and (before is None or before.wire() != target.wire()):
            log.info("promotion", sku=sku, regular=target.base, promotion=target.promotion.describe(),
                     rule=chosen[sku].name)
    return targets, records


class PriceWorker(ValueWorker):
    name = "price"
    families = consumed_by("price")
    feed_type = "price"
    single_api = "price_put"
    selling_family = "price"
    # cdc_listener/translate.py: the catalogue rule price index was swapped whole, the rows that
    # changed are not in the binlog, so every pushed SKU is read again (and what differs pushed)
    # (and the price scope or the store's timezone changed in core_config_data: the same, for every SKU)
    catalogue_event_types = frozenset({"rule_index_swapped", "price_config"})

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.reader = price_reader(self.settings, self.commerce)
        self._records: dict[str, Any] = {}
        self._zone: ZoneInfo | None = None
        self.details: dict[str, PriceTarget] = {}  # the last targets read, promotions included (the lookup)
        self._frozen: set[str] = set()  # SKUs waiting for their promotion's start (no change before it)
        self._cancel: set[str] = set()  # base_only: SKUs whose promotion (sent in promotions mode) goes

    def utc_now(self) -> datetime:
        """The instant prices are judged at (aware); a test may replace it to stand at a window edge."""
        return datetime.now(UTC)

    def read_targets(self, skus: set[str]) -> dict[str, str]:
        self._zone = self.reader.timezone()
        previous = self._previous(skus)
        self.details, self._records = price_details(self.reader, self.rules, skus, self.utc_now(), self._zone,
                                                    self.log, self.settings.price, previous)
        return {sku: target.wire() for sku, target in self.details.items()}

    def _previous(self, skus: set[str]) -> dict[str, str]:
        """What Walmart holds or is being sent, per SKU: a promotion sent keeps its start; in base_only
        mode, one sent before (promotions mode, switched off) is cancelled with the next update."""
        if not skus:
            return {}
        previous = self.state.confirmed(sorted(skus))
        if self.settings.price.promotions != "promotions":
            self._cancel = {sku for sku, value in previous.items() if parse_wire(value).promotion is not None}
            return {}
        self._cancel = set()
        return previous | {sku: v for sku, v in self._in_flight().items() if sku in skus}

    def settled(self, values: dict[str, str]) -> dict[str, str]:
        """A promotion Walmart has ended by itself is not a difference to push."""
        now = self.utc_now()
        return {sku: settled(value, now) for sku, value in values.items()}

    def next_checks(self, skus: set[str]) -> dict[str, datetime | None]:
        """Window edges on the store's clock, as the host's naive local time the due checks compare;
        and the end of a promotion sent for less than its window (Walmart's 180 days)."""
        zone = self._zone or self.reader.timezone()
        now = store_wall_clock(self.utc_now(), zone)
        checks: dict[str, datetime | None] = {}
        for sku, record in self._records.items():
            if sku in skus:
                edge = next_change(record, now)
                at = None if edge is None else wall_clock_instant(edge, zone)
                promotion = self.details[sku].promotion if sku in self.details else None
                if promotion is not None and promotion.shortened and (at is None or promotion.ends < at):
                    at = promotion.ends
                checks[sku] = None if at is None else at.astimezone().replace(tzinfo=None)
        return checks

    wait_reason = "Walmart takes prices 24 h after the item's setup"

    def not_before(self, skus: set[str]) -> dict[str, datetime]:
        waits: dict[str, datetime] = {}
        window = self.settings.workers.price_after_setup_s
        if skus and window > 0:
            waits = {sku: matched_at + timedelta(seconds=window)
                     for sku, matched_at in self.listings.matched_within(skus, window).items()}
        if skus:  # in base_only mode too: cancelling a promotion sent before waits out the same 4 h
            waits.update(self._promotion_freezes(skus - set(waits)))
        return waits

    def _promotion_freezes(self, skus: set[str]) -> dict[str, datetime]:
        """Walmart takes no change to a promotion, nor its cancellation, in the 4 hours before it
        starts: a SKU whose promotion on Walmart starts that soon waits for the start, then the
        change goes (an active promotion may change), instead of being refused and dead-lettered."""
        now = self.utc_now()
        waits: dict[str, datetime] = {}
        for sku, value in self.state.confirmed(sorted(skus)).items():
            sent = parse_wire(value).promotion
            if sent is not None and now < sent.starts <= now + WALMART_LEAD:
                waits[sku] = (sent.starts + timedelta(minutes=1)).astimezone().replace(tzinfo=None)
        self._frozen = set(waits)
        return waits

    def wait_reason_of(self, sku: str) -> str:
        return PROMOTION_FROZEN if sku in self._frozen else self.wait_reason

    def too_early(self, errors: list[Any]) -> datetime | None:
        for error in errors:
            code = (error.code if isinstance(error, WalmartErrorDetail)
                    else str((error or {}).get("code", "")) if isinstance(error, dict) else "")
            if (code or "").startswith(PROMOTION_CODES):
                continue  # a promotion refused ("... 24 hours of the effective date"): not the item's setup
            text = (error.description if isinstance(error, WalmartErrorDetail)
                    else str((error or {}).get("description", "")) if isinstance(error, dict) else "")
            if any(words in (text or "").lower() for words in SETUP_WINDOW_WORDS):
                wait = self.settings.workers.price_after_setup_s * PRICE_RETRY_FRACTION
                return datetime.now() + timedelta(seconds=max(1.0, wait))
        return None

    def push_single(self, sku: str, value: str) -> None:
        self.client.update_pricing(price_entry(sku, *self._wire(sku, value)))

    def feed_payload(self, values: dict[str, str]) -> dict[str, Any]:
        return price_feed({sku: self._wire(sku, v) for sku, v in values.items()})

    def _wire(self, sku: str, value: str) -> tuple[str, dict[str, Any] | None]:
        """(the BASE price, the promotion entry or None); promotions mode replaces every promotion
        of the SKU on Walmart with the one sent (none: the SKU's promotions are cancelled)."""
        target = parse_wire(value)
        if self.settings.price.promotions != "promotions":
            return target.base, ({} if sku in self._cancel else None)
        p = target.promotion
        return target.base, {} if p is None else {
            "price": p.price, "effectiveDate": p.starts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expirationDate": p.ends.strftime("%Y-%m-%dT%H:%M:%SZ")}
