"""Do Walmart (the emulator) and Commerce (the database) agree? The invariants the demo prints and
the fault suite asserts after every round of kills and faults:

- inventory: every pushed SKU's Walmart quantity equals Commerce's salable quantity under its selling rule
  (with ``workers.ship_nodes``, at each node: the salable quantity of the node's own sources);
- price: every pushed SKU's Walmart price equals Commerce's effective price under its selling rule
  (with ``price.promotions``: BASE is the regular price, and every promotion Walmart holds is
  Commerce's final price through its dates, with the BASE price as its was-price; a discount open
  in Commerce now has one);
- orders: every Walmart purchase order is exactly one Commerce order (none when Commerce refused it
  for stock and the lines were cancelled), and Walmart shows it acknowledged;
- order lines: every line's shipped, cancelled and refunded quantities on Walmart are what Commerce
  says; more on Walmart is a duplicate effect, less is a lost one;
- returns: every returned unit the merchant refunded is refunded on Walmart once.

Read-only; the emulator's in-memory state is inspected directly (it is in this process). What
Commerce calls for is worked out by devstack/oracles (Magento's salable quantity and final price,
the refund arithmetic), never by the sidecar's own rules, which are what is being judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from devstack.oracles.msi import expected_walmart_quantity, salable_quantities
from devstack.oracles.prices import final_prices, regular_prices
from devstack.oracles.refunds import (
    CreditedItem,
    expected_cancelled,
    expected_order_refund,
    returns_over_credited,
)
from devstack.oracles.selling import price_under, quantity_under, rules_for
from devstack.walmart_emulator.orders import BEYOND_ACKNOWLEDGED

CENT = 0.005


@dataclass
class Check:
    name: str
    checked: int = 0
    lost: list[str] = field(default_factory=list)        # Walmart behind Commerce
    duplicates: list[str] = field(default_factory=list)  # Walmart beyond Commerce
    note: str = ""                                        # what was compared, when not plain

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicates

    def describe(self) -> str:
        if self.ok:
            return f"{self.checked} checked, all agree" + (f" ({self.note})" if self.note else "")
        parts = []
        if self.lost:
            parts.append(f"{len(self.lost)} behind on Walmart (e.g. {'; '.join(self.lost[:3])})")
        if self.duplicates:
            parts.append(f"{len(self.duplicates)} applied twice (e.g. {'; '.join(self.duplicates[:3])})")
        return f"{self.checked} checked: " + ", ".join(parts)


def pushed_skus(settings: Any, state: Any, commerce: Any) -> list[str]:
    """The SKUs ``workers.push_skus`` says the inventory and price workers push (docs/workers.md):
    the listings the sidecar's state records as matched, every Commerce SKU, or a list."""
    rule = settings.workers.push_skus
    if rule == "matched":
        with state.cursor() as cur:
            cur.execute("SELECT sku FROM walmart_listings WHERE status = 'matched'")
            return sorted({row[0] for row in cur.fetchall()})
    if rule == "all":
        with commerce.cursor() as cur:
            cur.execute("SELECT DISTINCT sku FROM catalog_product_entity WHERE sku IS NOT NULL")
            return sorted({row[0] for row in cur.fetchall()})
    return sorted(set(rule))


def check_inventory_and_price(settings: Any, app: Any, client_id: str, commerce: Any, skus: list[str],
                              at: datetime | None = None) -> tuple[Check, Check]:
    """``at``: the instant Commerce's prices are judged at (now by default; a test that moved Walmart's
    clock judges at Walmart's)."""
    seller = app.seller(client_id)
    app._complete_due_feeds(seller)  # Walmart applies a feed when its processing ends
    mapping = settings.mapping
    inventory, price = Check("inventory"), Check("price")
    # one node (workers.ship_node, the seller's default when unset) with the stock's every source, or
    # each of workers.ship_nodes with its own sources (docs/orders.md)
    nodes: dict[str, list[str] | None] = (
        {node: list(sources) for node, sources in settings.workers.ship_nodes.items()}
        or {settings.workers.ship_node or "default": None})
    salable_at = {node: salable_quantities(commerce, skus, mapping.stock_id, mapping.msi_enabled,
                                           store_id=mapping.store_id, website_id=mapping.website_id, sources=sources)
                  for node, sources in nodes.items()}
    if settings.workers.ship_nodes:
        inventory.note = f"SKU x node, {len(nodes)} nodes"
    prices = final_prices(commerce, skus, mapping.store_id, at=at, zone=mapping.store_timezone,
                          website_id=mapping.website_id, customer_group_id=mapping.customer_group_id)
    # price.promotions = "promotions": Walmart's BASE price is the regular price, and a promotion it
    # shows now is Magento's final price now (one sent for a window opening sooner than Walmart
    # allows is not shown yet: Walmart shows the regular price meanwhile, as it should)
    promotions = getattr(getattr(settings, "price", None), "promotions", "base_only") == "promotions"
    regular = regular_prices(commerce, skus, mapping.store_id, zone=mapping.store_timezone,
                             website_id=mapping.website_id,
                             customer_group_id=mapping.customer_group_id) if promotions else {}
    selling = settings.selling.model_dump()
    rules = rules_for(commerce, selling, skus)
    held = 0
    for sku in skus:
        for node, salable in salable_at.items():
            inventory.checked += 1
            want = quantity_under(rules[sku], expected_walmart_quantity(
                salable[sku], mapping.inventory_safety_buffer, mapping.unlimited_stock_quantity))
            have = seller.inventory.get((sku, node))
            if have != want:
                where = f" at node {node}" if settings.workers.ship_nodes else ""
                inventory.lost.append(f"{sku}{where}: Walmart {have}, Commerce {want}")
        final = prices.get(sku)
        target = regular.get(sku) if promotions else final
        if final is None or final <= 0 or target is None or target <= 0:
            continue
        target = price_under(rules[sku], target)
        price.checked += 1
        shown = (seller.prices.get(sku) or {}).get("currentPrice", {}).get("amount")
        if shown is None or abs(float(shown) - float(target)) > CENT:
            price.lost.append(f"{sku}: Walmart {shown}, Commerce {float(target):.2f}")
        on_sale = app.shown_price(client_id, sku) if promotions else {}
        if on_sale.get("currentPriceType") not in (None, "BASE"):
            want = price_under(rules[sku], final)
            if abs(float(on_sale["currentPrice"]) - float(want)) > CENT or on_sale.get("comparisonPrice") != shown:
                price.lost.append(f"{sku}: Walmart's promotion {on_sale['currentPrice']} was "
                                  f"{on_sale.get('comparisonPrice')}, Commerce {float(want):.2f} was {shown}")
        if promotions:
            held += _check_promotions(price, commerce, settings, rules[sku], sku, seller, final, target, shown)
    if held:
        price.note = f"{held} of them Walmart promotions"
    return inventory, price


def _check_promotions(check: Check, commerce: Any, settings: Any, rule: dict[str, Any], sku: str, seller: Any,
                      final_now: Decimal, regular: Decimal, base_shown: Any) -> int:
    """Each promotion Walmart holds for the SKU, shown yet or still to start (Walmart starts one no
    sooner than 4 h after it is sent): Commerce's final price, by the oracle, at its first and last
    second, under the SKU's rule, below the BASE price it names as its was-price. And a discount open
    in Commerce now is on Walmart as a promotion."""
    mapping = settings.mapping
    held = list(getattr(seller.promotions.get(sku), "promotions", []))
    if not held and price_under(rule, final_now) < regular:
        check.lost.append(f"{sku}: Commerce sells at {float(price_under(rule, final_now)):.2f} (regular "
                          f"{float(regular):.2f}), Walmart holds no promotion")
    for promo in held:
        check.checked += 1
        for moment in (promo.starts + 1, promo.ends - 1):
            at = datetime.fromtimestamp(moment, UTC)
            final = final_prices(commerce, [sku], mapping.store_id, at=at, zone=mapping.store_timezone,
                                 website_id=mapping.website_id, customer_group_id=mapping.customer_group_id).get(sku)
            want = price_under(rule, final) if final is not None else None
            if want is None or abs(float(promo.amount) - float(want)) > CENT or promo.comparison != base_shown:
                check.lost.append(f"{sku}: Walmart's promotion {promo.amount} was {promo.comparison} at "
                                  f"{at:%Y-%m-%d %H:%M} UTC, Commerce {'-' if want is None else f'{float(want):.2f}'} "
                                  f"was {base_shown}")
                break
    return len(held)


def check_orders(app: Any, client_id: str, commerce: Any, state: Any) -> tuple[Check, Check]:
    """(orders, order lines)."""
    seller = app.seller(client_id)
    orders, lines = Check("orders"), Check("order lines")
    with state.cursor() as cur:
        cur.execute("SELECT purchase_order_id, status FROM walmart_order_state")
        statuses = dict(cur.fetchall())
        cur.execute("SELECT m.purchase_order_id, m.commerce_order_id, l.line_number, l.commerce_item_id FROM "
                    "walmart_order_map m JOIN walmart_order_line_map l ON l.purchase_order_id = m.purchase_order_id")
        mapped: dict[str, tuple[int, dict[str, int]]] = {}
        for po, order_id, number, item_id in cur.fetchall():
            if item_id is not None:
                mapped.setdefault(po, (int(order_id), {}))[1][str(number)] = int(item_id)
    through_returns = _refunded_through_returns(seller)
    for po, order in list(seller.orders.items()):
        orders.checked += 1
        with commerce.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM sales_order WHERE ext_order_id = %s", (po,))
            count = int(cur.fetchone()[0])
        refused = statuses.get(po) in ("cancelled_out_of_stock", "failed_unknown_sku", "failed_malformed")
        if count > 1:
            orders.duplicates.append(f"PO {po}: {count} Commerce orders")
        elif count == 0 and not refused:
            orders.lost.append(f"PO {po}: no Commerce order (status {statuses.get(po)})")
        # Walmart takes an acknowledge only while no unit of the PO is past Acknowledged
        acknowledgeable = not any(line.quantity_in(*BEYOND_ACKNOWLEDGED) for line in order.lines)
        if count and acknowledgeable and any(line.quantity_in("Created") for line in order.lines):
            orders.lost.append(f"PO {po}: not acknowledged on Walmart")
        if po in mapped:
            _compare_lines(lines, po, order, *mapped[po], commerce, through_returns)
    return orders, lines


def _refunded_through_returns(seller: Any) -> dict[tuple[str, str], int]:
    """(PO, PO line) -> units Walmart shows refunded through its returns."""
    refunded: dict[tuple[str, str], int] = {}
    for found in list(seller.returns.values()):
        for line in found.lines:
            key = (line.purchase_order_id, str(line.order_line))
            refunded[key] = refunded.get(key, 0) + line.refunded
    return refunded


def _credited_items(commerce: Any, order_id: int) -> dict[int, CreditedItem]:
    with commerce.cursor() as cur:
        cur.execute("SELECT item_id, qty_shipped, qty_canceled FROM sales_order_item WHERE order_id = %s", (order_id,))
        items = {int(i): (int(s or 0), int(c or 0)) for i, s, c in cur.fetchall()}
        cur.execute("SELECT ci.order_item_id, SUM(ci.qty), SUM(COALESCE(ci.row_total, 0) - "
                    "COALESCE(ci.discount_amount, 0)) FROM sales_creditmemo_item ci "
                    "JOIN sales_creditmemo c ON c.entity_id = ci.parent_id WHERE c.order_id = %s "
                    "GROUP BY ci.order_item_id", (order_id,))
        memos = {int(i): (int(q or 0), Decimal(str(a or 0))) for i, q, a in cur.fetchall()}
    return {item_id: CreditedItem(shipped, canceled, *memos.get(item_id, (0, Decimal(0))))
            for item_id, (shipped, canceled) in items.items()}


def _compare_lines(check: Check, po: str, order: Any, order_id: int, items: dict[str, int], commerce: Any,
                   through_returns: dict[tuple[str, str], int]) -> None:
    """Walmart's line quantities and refunds against what Commerce's rows call for
    (devstack/oracles/refunds.py): shipped as shipped, refunds of shipped units paid once through
    the order or a return, cancellations of the rest."""
    credited = _credited_items(commerce, order_id)
    for line in order.lines:
        item = credited.get(items.get(line.number, -1))
        if item is None:
            continue
        check.checked += 1
        label = f"PO {po} line {line.number}"
        for what, walmart, commerce_qty in (
                ("shipped", line.quantity_in("Shipped", "Delivered"), item.shipped),
                ("cancelled", line.quantity_in("Cancelled"), expected_cancelled(item))):
            if walmart > commerce_qty:
                check.duplicates.append(f"{label}: {what} {walmart} on Walmart, {commerce_qty} in Commerce")
            elif walmart < commerce_qty:
                check.lost.append(f"{label}: {what} {walmart} on Walmart, {commerce_qty} in Commerce")
        returned = through_returns.get((po, line.number), 0)
        if returns_over_credited(item, returned):
            check.duplicates.append(f"{label}: {returned} unit(s) refunded through returns on Walmart, "
                                    f"{min(item.refunded_qty, item.shipped)} shipped unit(s) credited")
        refunded_product = round(sum(-float(c["charge"]["chargeAmount"]["amount"]) for r in line.refunds
                                     for c in r["refundCharges"]["refundCharge"]
                                     if c["charge"].get("chargeType") == "PRODUCT"), 2)
        want = float(expected_order_refund(item, returned))
        if refunded_product > want + CENT:
            check.duplicates.append(f"{label}: refunded {refunded_product} on Walmart, {want} credited")
        elif refunded_product < want - CENT:
            check.lost.append(f"{label}: refunded {refunded_product} on Walmart, {want} credited")


def check_returns(app: Any, client_id: str, state: Any) -> Check:
    """Walmart's return refunds against the sidecar's own records of them: what it wrote it had
    refunded per return line, and the credit memo units it decided were a return's. These are its
    promises, compared with Walmart's state; whether the money is right is the order lines' check."""
    check = Check("returns")
    seller = app.seller(client_id)
    with state.cursor() as cur:
        cur.execute("SELECT return_order_id, line_number, refunded_qty FROM walmart_return_line_map")
        recorded = {(rid, int(n)): int(q) for rid, n, q in cur.fetchall()}
        cur.execute("SELECT COALESCE(SUM(return_qty), 0) FROM walmart_creditmemo_route")
        routed = int(cur.fetchone()[0] or 0)
    walmart_refunded = 0
    for rid, found in list(seller.returns.items()):
        for line in found.lines:
            check.checked += 1
            walmart_refunded += line.refunded
            mine = recorded.get((rid, line.number))
            if mine is not None and line.refunded < mine:
                check.lost.append(f"return {rid} line {line.number}: {line.refunded} refunded on Walmart, {mine} "
                                  "recorded")
    if walmart_refunded > routed:
        check.duplicates.append(f"{walmart_refunded} returned unit(s) refunded on Walmart, {routed} credited")
    elif walmart_refunded < routed:
        check.lost.append(f"{walmart_refunded} returned unit(s) refunded on Walmart, {routed} credited")
    return check


def check_all(settings: Any, app: Any, client_id: str, commerce: Any, state: Any) -> list[Check]:
    skus = pushed_skus(settings, state, commerce)
    inventory, price = check_inventory_and_price(settings, app, client_id, commerce, skus)
    orders, lines = check_orders(app, client_id, commerce, state)
    return [inventory, price, orders, lines, check_returns(app, client_id, state)]
