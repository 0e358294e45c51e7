"""``walmart-sync sku <SKU>``: why one SKU shows what it shows on Walmart, in one look.

Support staff are asked "why is SKU X wrong on Walmart?". The answer needs four places that no
single screen showed: what Commerce says now and why (the MSI source items and reservations behind
the quantity, the price and special price behind the final price), whether the sidecar may push
the SKU at all (its listing), what the sidecar last sent and what Walmart confirmed (the state
store), and what Walmart shows now (one inventory and one item read: a lookup spends two calls of
Walmart's budget, never more). The targets come from the push workers' own ``read_targets``, so
the lookup says what the workers would push, not a second opinion of its own.

The findings at the end are the part a person reads first: each names the difference and what
to do about it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from config import Settings
from mappings.inventory import parse_node_value, walmart_quantity
from mappings.price import special_active
from mappings.promotions import parse_wire
from mappings.selling_rules import SellingRule
from plumbing.db import DbConnection
from sync_workers.commerce.composites import CONFIGURABLE, CompositeReader
from sync_workers.commerce.prices import PriceReader
from sync_workers.commerce.salable import read_positions
from sync_workers.push.inventory import InventoryWorker
from sync_workers.push.price import PriceWorker
from sync_workers.push.pushable import only_pushable
from sync_workers.push.selling import SellingRules
from sync_workers.stores.drift import DriftStore
from sync_workers.stores.listings import ListingStore
from sync_workers.stores.shadow import ShadowLedger
from sync_workers.stores.value_state import ValueState
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError, WalmartNotFound, WalmartServerError
from sync_workers.walmart.items import ItemsApi


class StockWhy(BaseModel):
    """MSI's salable quantity for the channel's stock (mappings/inventory.py has the rule)."""

    stock_id: int
    source_quantity: str
    in_stock: bool
    reservations: str
    min_qty: str
    manage_stock: bool
    sellable: bool  # Magento's stock index has a salable row (enabled, a stock item, a type with sources)
    safety_buffer: int
    walmart_quantity: int  # what the inventory worker pushes (with several ship nodes: their sum)
    node_quantities: dict[str, int] = {}  # workers.ship_nodes: what each node gets


class PriceWhy(BaseModel):
    store_id: int
    price: str | None
    special_price: str | None
    special_from: str | None
    special_to: str | None
    special_active: bool
    final_price: str | None  # what the price worker pushes (the BASE price); None: nothing pushable (no price, or 0)
    promotion: str | None = None  # price.promotions = "promotions": the promotion sent with it, and why so


class Sent(BaseModel):
    """The state store's memory of one kind (walmart_values)."""

    value: str
    via: str
    confirmed_at: datetime
    pending_feed_id: str | None = None
    last_error: str | None = None
    next_check_at: datetime | None = None
    recheck_due_at: datetime | None = None  # a lost batch's doubt: pushed again from then on


class Waiting(BaseModel):
    """A value Walmart will not take yet (walmart_values_waiting: a price within 24 h of setup)."""

    reason: str
    until: datetime


class WalmartNow(BaseModel):
    quantity: int | None = None
    # every node Walmart shows the SKU at (GET /v3/inventories/{sku}), WFS nodes included: their
    # quantity is Walmart's own, read here and never pushed
    nodes: dict[str, int] = {}
    wfs_quantity: int | None = None
    price: str | None = None
    published_status: str | None = None
    lifecycle_status: str | None = None
    unpublished_reasons: list[str] = []
    error: str | None = None  # Walmart could not be asked (down, throttled, credentials)


class RuleWhy(BaseModel):
    """The selling rule that decided the values pushed (mappings/selling_rules.py), and why this one."""

    name: str
    why: str
    changes: dict[str, str]  # the rule's settings that differ from "change nothing"


class SkuLookup(BaseModel):
    sku: str
    in_commerce: bool
    pushable: bool
    push_rule: str
    listing_status: str | None = None
    listing_reason: str | None = None
    stock: StockWhy | None = None
    price: PriceWhy | None = None
    selling_rule: RuleWhy | None = None
    lag_time: str | None = None  # [lag_time] set: the days the inventory worker sends, and why
    composite: str | None = None  # a bundle (what its quantity is made of) or a configurable parent (no offer)
    sent: dict[str, Sent] = {}
    waiting: dict[str, Waiting] = {}
    walmart: WalmartNow | None = None
    drift: list[str] = []  # what the reconciler last found Walmart showing unlike Commerce, and what it did
    shadow_mode: bool = False
    withheld: dict[str, str] = {}  # shadow mode: kind -> what it held back (docs/shadow.md)
    findings: list[str] = []


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _amount(value: Any) -> Decimal | None:
    """A quantity or price; of a price sent with a promotion, its BASE price."""
    try:
        return None if value in (None, "") else Decimal(parse_wire(str(value)).base)
    except ArithmeticError:
        return None


def _sent(state: DbConnection, sku: str) -> dict[str, Sent]:
    sent: dict[str, Sent] = {}
    with state.cursor() as cur:
        # a TIMESTAMP comes back in the session's time zone: read it as epoch seconds to show UTC
        cur.execute("SELECT kind, value, via, UNIX_TIMESTAMP(confirmed_at), pending_feed_id, last_error, "
                    "next_check_at FROM walmart_values WHERE sku = %s", (sku,))
        for kind, value, via, confirmed_at, feed, error, next_check in cur.fetchall():
            sent[kind] = Sent(value=value, via=via, confirmed_at=datetime.fromtimestamp(float(confirmed_at), UTC),
                              pending_feed_id=feed, last_error=error, next_check_at=next_check)
        cur.execute("SELECT kind, due_at FROM walmart_value_recheck WHERE sku = %s", (sku,))
        for kind, due_at in cur.fetchall():
            if kind in sent:
                sent[kind].recheck_due_at = due_at
    return sent


def _waiting(state: DbConnection, sku: str) -> dict[str, Waiting]:
    with state.cursor() as cur:
        cur.execute("SELECT kind, reason, until_at FROM walmart_values_waiting WHERE sku = %s", (sku,))
        return {kind: Waiting(reason=reason, until=until) for kind, reason, until in cur.fetchall()}


def _walmart_now(client: WalmartClient, sku: str, ship_node: str | None, pushed_nodes: list[str] | None = None,
                 wfs_nodes: list[str] | None = None) -> WalmartNow:
    now = WalmartNow()
    try:
        if pushed_nodes or wfs_nodes:
            now.nodes = client.get_inventories(sku)
            now.quantity = (sum(now.nodes.get(n, 0) for n in pushed_nodes) if pushed_nodes
                            else client.get_inventory(sku, ship_node).quantity.amount)
            if wfs_nodes:
                now.wfs_quantity = sum(now.nodes.get(n, 0) for n in wfs_nodes)
        else:
            now.quantity = client.get_inventory(sku, ship_node).quantity.amount
    except WalmartNotFound:
        now.quantity = None
    except (WalmartClientError, WalmartServerError) as exc:
        now.error = f"inventory: {exc}"
    try:
        item = ItemsApi(client).get_item(sku)
    except (WalmartClientError, WalmartServerError) as exc:
        now.error = "; ".join(filter(None, [now.error, f"item: {exc}"]))
        return now
    if item is not None:
        now.price = _text((item.price or {}).get("amount"))
        now.published_status = item.publishedStatus
        now.lifecycle_status = item.lifecycleStatus
        now.unpublished_reasons = item.unpublished_reasons
    return now


def _findings(found: SkuLookup) -> list[str]:
    """Plain words, most urgent first: what differs, why, and what to do."""
    words: list[str] = []
    if found.shadow_mode:
        held = ", ".join(f"{kind} {value}" for kind, value in found.withheld.items()) or "nothing yet"
        words.append(f"shadow mode (walmart.mode = shadow): nothing is sent to Walmart; held back: {held}")
    if not found.in_commerce:
        words.append(f"{found.sku} is not a Commerce product (catalog_product_entity): nothing is pushed for it")
    if found.composite and found.composite.startswith("configurable"):
        words.append(f"not an offer on Walmart: {found.composite}")
    elif not found.pushable:
        why = (f"its listing is {found.listing_status}" + (f" ({found.listing_reason})" if found.listing_reason else "")
               if found.listing_status else "it has no listing (walmart-sync listings add)")
        words.append(f"not pushed to Walmart: workers.push_skus is {found.push_rule!r} and {why}")
    walmart = found.walmart
    if walmart is not None and walmart.error:
        words.append(f"Walmart could not be asked: {walmart.error}")
    if walmart is not None and walmart.published_status and walmart.published_status != "PUBLISHED":
        reasons = "; ".join(walmart.unpublished_reasons) or "Walmart gave no reason"
        words.append(f"Walmart shows the item {walmart.published_status}: {reasons}. Pushes change its quantity "
                     "and price but shoppers do not see it until the reason is fixed in Seller Center")
    targets = {"inventory": str(found.stock.walmart_quantity) if found.stock else None,
               "price": found.price.final_price if found.price else None}
    on_walmart = {"inventory": _text(walmart.quantity) if walmart else None,
                  "price": walmart.price if walmart else None}
    for kind, target in targets.items():
        if target is None or not found.pushable:
            continue
        sent = found.sent.get(kind)
        shown = on_walmart[kind]
        if kind == "price" and found.price is not None and found.price.promotion:
            words.append(f"price: promotion {found.price.promotion}")
        if kind in found.waiting:
            wait = found.waiting[kind]
            words.append(f"{kind}: waiting until {wait.until:%Y-%m-%d %H:%M:%S} to send {target}: {wait.reason}")
            continue
        same = shown is not None and _amount(shown) == _amount(target)
        if sent is not None and sent.last_error:
            words.append(f"{kind}: the last push failed: {sent.last_error}")
        if sent is not None and sent.pending_feed_id:
            words.append(f"{kind}: {sent.value} is in feed {sent.pending_feed_id}, not processed by Walmart yet")
        if sent is None:
            words.append(f"{kind}: never pushed; Commerce says {target} (the next change or `walmart-sync resync "
                         f"{kind}` pushes it)")
        elif _amount(sent.value) != _amount(target):
            words.append(f"{kind}: Commerce says {target}, the sidecar last sent {sent.value} "
                         f"({sent.confirmed_at:%Y-%m-%d %H:%M:%S} UTC): a push is due; `walmart-sync lag` shows "
                         f"whether the {kind} worker is behind")
        elif walmart is not None and not walmart.error and not same:
            words.append(f"{kind}: Walmart shows {shown}, but the sidecar sent {sent.value} and Walmart confirmed it "
                         f"({sent.confirmed_at:%Y-%m-%d %H:%M:%S} UTC): changed on Walmart since, or not applied yet; "
                         f"`walmart-sync resync {kind}` pushes every differing SKU again")
        if sent is not None and sent.recheck_due_at is not None:
            words.append(f"{kind}: to be pushed again from Commerce at {sent.recheck_due_at:%H:%M:%S} (what Walmart "
                         "confirmed is doubted: the reconciler read back another value, or a batch was applied "
                         "during a rebalance)")
    words += [f"the reconciler read back {line}" for line in found.drift]
    if not words:
        words.append("Walmart shows what Commerce says: nothing to do")
    return words


def _composite(settings: Settings, commerce: DbConnection, sku: str) -> str | None:
    """A bundle's options, or a configurable's children (docs/workers.md, Bundles and Configurable products)."""
    reader = CompositeReader(commerce, settings.mapping.store_id)
    kind = reader.types([sku]).get(sku)
    if kind == CONFIGURABLE:
        children = reader.children([sku]).get(sku, [])
        return (f"configurable product: Walmart lists its children ({', '.join(children) or 'none'}), "
                "each an offer of its own in the catalogue item's variant group; the parent is never pushed")
    bundle = reader.bundles([sku]).get(sku)
    if bundle is None:
        return None
    options = "; ".join(
        f"{'required' if o.required else 'optional'}: " + (", ".join(f"{s.sku} x{s.requested.normalize()}"
                                                                 + ("" if s.enabled else " (disabled)")
                                                                 for s in o.selections) or "no selection")
        for o in bundle.options)
    return (f"bundle: its quantity is what its components make (least over required options of the best "
            f"selection's salable / qty){'' if bundle.in_stock else '; its stock item is out of stock: 0'}: {options}")


def look_up_sku(settings: Settings, sku: str, commerce: DbConnection, state: DbConnection,
                walmart: WalmartClient | None) -> SkuLookup:
    """Everything known about one SKU. ``walmart`` None: Walmart is not asked (no budget spent)."""
    mapping = settings.mapping
    with commerce.cursor() as cur:
        cur.execute("SELECT 1 FROM catalog_product_entity WHERE sku = %s LIMIT 1", (sku,))
        in_commerce = cur.fetchone() is not None
    listings = ListingStore(state)
    listing = listings.get([sku]).get(sku)
    found = SkuLookup(sku=sku, in_commerce=in_commerce, pushable=bool(only_pushable(settings, listings, {sku}, commerce)),
                      push_rule=str(settings.workers.push_skus) if not isinstance(settings.workers.push_skus, list)
                      else "a list of SKUs",
                      listing_status=listing.status if listing else None,
                      listing_reason=listing.reason if listing else None)
    if in_commerce:
        found.composite = _composite(settings, commerce, sku)
        choice = SellingRules(settings, commerce).choices([sku])[sku]
        defaults = SellingRule().model_dump()
        found.selling_rule = RuleWhy(name=choice.name, why=choice.why, changes={
            k: str(v) for k, v in choice.rule.model_dump().items() if v != defaults[k]})
        position = read_positions(commerce, [sku], mapping.stock_id, mapping.msi_enabled, mapping.store_id,
                                  mapping.website_id).get(sku)
        inventory = InventoryWorker(settings, walmart or _no_walmart(), commerce, ValueState(state, "inventory"))
        target = inventory.read_targets({sku}).get(sku)
        nodes = parse_node_value(target) if target is not None and settings.workers.ship_nodes else {}
        if nodes:
            target = str(sum(nodes.values()))
        if settings.lag_time.active():
            lag = inventory.lag_times.targets({sku}).get(sku)
            found.lag_time = f"{lag[0]} day(s): {lag[1]}" if lag else "none (no attribute value, no default)"
        if position is not None:
            found.stock = StockWhy(node_quantities=nodes, stock_id=mapping.stock_id,
                                   source_quantity=str(position.source_quantity),
                                   in_stock=position.in_stock, reservations=str(position.reservations),
                                   min_qty=str(position.min_qty), manage_stock=position.manage_stock,
                                   sellable=position.sellable,
                                   safety_buffer=mapping.inventory_safety_buffer,
                                   walmart_quantity=int(target) if target is not None else
                                   walmart_quantity(position, mapping.inventory_safety_buffer,
                                                    mapping.unlimited_stock_quantity))
        prices = PriceWorker(settings, walmart or _no_walmart(), commerce, ValueState(state, "price"))
        reader: PriceReader = prices.reader
        record = reader.read([sku]).get(sku)
        if record is not None:
            now = reader.wall_clock()  # the store's clock, as the price worker judges the window
            prices.read_targets({sku})
            priced = prices.details.get(sku)
            found.price = PriceWhy(store_id=mapping.store_id, price=_text(record.price),
                                   special_price=_text(record.special_price),
                                   special_from=_text(record.special_from), special_to=_text(record.special_to),
                                   special_active=special_active(record, now),
                                   final_price=priced.base if priced else None,
                                   promotion=priced.promotion.describe() if priced and priced.promotion else None)
    found.sent = _sent(state, sku)
    found.waiting = _waiting(state, sku)
    found.shadow_mode = settings.walmart.mode == "shadow"
    found.withheld = {e.kind: f"{e.value or '-'} (would have gone at "
                              f"{datetime.fromtimestamp(e.would_send_epoch):%Y-%m-%d %H:%M:%S}"
                              + (f", {e.latency_ms / 1000:.1f} s after the change" if e.latency_ms is not None else "")
                              + ("; sent since, live" if not e.pending else "") + ")"
                      for e in ShadowLedger(state).of_key(sku)}
    found.drift = [f"{d.kind}: {d.reason} ({d.action}; found {d.first_seen_at:%Y-%m-%d %H:%M:%S}, seen "
                   f"{d.times_seen} time(s))" for d in DriftStore(state).open(sku)]
    if walmart is not None:
        found.walmart = _walmart_now(walmart, sku, settings.workers.ship_node, list(settings.workers.ship_nodes),
                                     settings.workers.wfs_ship_nodes)
    found.findings = _findings(found)
    return found


def _no_walmart() -> Any:
    """The workers are built only for their reads: a client that is never called."""
    return None


def render(found: SkuLookup) -> str:
    """One screen: findings first, then the evidence."""
    lines = [f"SKU {found.sku}", ""]
    lines += [f"  * {line}" for line in found.findings]
    lines.append("")
    listing = found.listing_status or "none"
    if found.composite:
        lines.append(f"  composite      {found.composite}")
    lines.append(f"  channel        push rule {found.push_rule}; listing {listing}"
                 + (f" ({found.listing_reason})" if found.listing_reason else "")
                 + ("; pushed" if found.pushable else "; NOT pushed"))
    if found.stock:
        s = found.stock
        lines.append(f"  quantity       Commerce {s.walmart_quantity}  = source items {s.source_quantity} "
                     f"(in stock: {'yes' if s.in_stock else 'no'}) + reservations {s.reservations} - "
                     f"out-of-stock threshold {s.min_qty} - safety buffer {s.safety_buffer}, stock {s.stock_id}"
                     + ("" if s.manage_stock else "; stock not managed: 0")
                     + ("" if s.sellable or (found.composite or "").startswith("bundle") else
                        "; not sellable in Magento (disabled, no stock item, or a type without source items): 0")
                     + (", then the selling rule" if found.selling_rule and any(
                         k.startswith("quantity") for k in found.selling_rule.changes) else ""))
        if s.node_quantities:
            lines.append("  per node       " + ", ".join(f"{n} {q}" for n, q in sorted(s.node_quantities.items()))
                         + " (each node's own sources; every node holds back the stock's reservations)")
    if found.price:
        p = found.price
        special = (f"special {p.special_price} from {p.special_from or '-'} to {p.special_to or '-'} "
                   f"({'active' if p.special_active else 'not active'})" if p.special_price else "no special price")
        lines.append(f"  price          Commerce {p.final_price or '-'}  = price {p.price or '-'}, {special}, "
                     f"store {p.store_id}" + (", then the selling rule" if found.selling_rule and any(
                         k.startswith("price") for k in found.selling_rule.changes) else ""))
        if p.promotion:
            lines.append(f"  promotion      {p.promotion}; was-price {p.final_price}")
    if found.selling_rule:
        r = found.selling_rule
        changes = ", ".join(f"{k} {v}" for k, v in r.changes.items()) or "changes nothing"
        lines.append(f"  selling rule   {r.name} ({r.why}): {changes}")
    if found.lag_time:
        lines.append(f"  lag time       {found.lag_time}")
    for kind in ("inventory", "price", "lagtime"):
        sent = found.sent.get(kind)
        if kind == "lagtime" and not sent:
            continue  # lag time is sent only with [lag_time] set
        if sent:
            when = f"{sent.confirmed_at:%Y-%m-%d %H:%M:%S} UTC"
            lines.append(f"  last sent      {kind} {sent.value} via {sent.via}, confirmed {when}"
                         + (f", in feed {sent.pending_feed_id}" if sent.pending_feed_id else "")
                         + (f", error: {sent.last_error}" if sent.last_error else ""))
        else:
            lines.append(f"  last sent      {kind} never")
    for kind, value in found.withheld.items():
        lines.append(f"  shadow         {kind} {value}")
    if found.walmart:
        w = found.walmart
        if w.error:
            lines.append(f"  Walmart now    not available: {w.error}")
        else:
            lines.append(f"  Walmart now    quantity {w.quantity if w.quantity is not None else '-'}, price "
                         f"{w.price or '-'}, {w.published_status or 'no item'}"
                         + (f" ({w.lifecycle_status})" if w.lifecycle_status else ""))
            if w.nodes:
                lines.append("  Walmart nodes  " + ", ".join(f"{n} {q}" for n, q in sorted(w.nodes.items()))
                             + (f"; WFS (Walmart's, never pushed) {w.wfs_quantity}" if w.wfs_quantity is not None
                                else ""))
    return "\n".join(lines)
