"""An emulator of the Adobe Commerce / Magento REST endpoints walmart-sync calls, and of the
merchant actions tests and the demo drive, writing the rows Magento writes into the local
Commerce database so the CDC listener sees real changes and the loop closes.

What it does as Magento does:
- integration-token auth (``Authorization: Bearer``); Magento's error shape
  ``{"message": ..., "parameters": ...}`` with its status codes;
- the admin cart flow: ``POST /V1/carts`` (a quote), ``POST /V1/carts/{id}/items`` with a stock
  check against the MSI salable quantity of the store's stock ("The requested qty is not
  available"; Magento's rule from devstack/oracles/msi.py, not the sidecar's reader),
  ``POST /V1/carts/{id}/shipping-information``, ``PUT /V1/carts/{id}/order`` with an
  offline payment method; placing writes sales_order (+ items, addresses, payment), takes the
  increment id from ``sequence_order_<store>``, and one ``order_placed`` reservation per SKU with
  Magento's metadata JSON;
- ``GET /V1/orders`` with searchCriteria filters, ``GET /V1/orders/{id}``, ``POST /V1/orders``
  (the repository save, used to set ``ext_order_id``);
- merchant actions: ship (shipment, items, tracks, source deduction from the stock's sources by
  priority, legacy stock item of the default source, a ``shipment_created`` reservation that
  compensates the order's), cancel (``order_canceled`` reservation), invoice, refund (credit
  memo; ``creditmemo_created`` compensation for quantity never shipped, or return to stock).

Where Magento needs an extension, said here and in docs/commerce-emulator.md: a cart item's
``price`` is applied as the item's custom price, and ``addressInformation.extension_attributes
.shipping_amount`` sets the shipping charge, as channel integrations' modules do for marketplace
orders (stock Magento would use catalog prices and the carrier's rate).
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymysql
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.oracles.catalog import is_staged
from devstack.oracles.catalog import products as live_products
from devstack.oracles.msi import can_sell, salable_quantities

# The companion module's declaration (commerce-module/contract.json): the routes, fields and
# extension attributes it adds. Stock mode refuses what it declares; module mode accepts it.
CONTRACT_PATH = Path(__file__).resolve().parents[2] / "commerce-module" / "contract.json"
MAGENTO_VERSIONS = ("2.4.6", "2.4.7", "2.4.8")


def load_contract(path: Path = CONTRACT_PATH) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def _upper_camel(key: str) -> str:
    """ServiceInputProcessor names a field by its getter's stem: tax_amount -> TaxAmount."""
    return "".join(part[:1].upper() + part[1:] for part in key.split("_"))


class MagentoError(Exception):
    def __init__(self, status: int, message: str, parameters: Any = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.parameters = parameters


@dataclass
class CommerceFaults:
    place_order_delay_s: float = 0.0  # the order is written at once, the answer comes this much later
    # a loaded store: the placement commits only this much later (the answer comes after it), so a
    # client that timed out and looks finds no order yet
    place_order_commit_delay_s: float = 0.0
    error_rate: float = 0.0           # answer 503 before doing anything


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status, content_type="application/json")


def _money(value: Any) -> float:
    return float(Decimal(str(value or 0)).quantize(Decimal("0.01")))


class CommerceEmulator:
    def __init__(self, connect: Any, token: str, rma_enabled: bool = True, *, module: bool = True,
                 magento_version: str = "2.4.7", classify_refusals: bool = True,
                 only_x_of_y: bool = False):
        """``connect``: a callable returning a new pymysql connection to the Commerce database.

        ``module``: the companion module (commerce-module/) is installed, as its README has it
        (composer require + bin/magento setup:upgrade): its routes answer, its extension
        attributes are accepted. Without it the emulator is a stock Magento ``magento_version``.
        ``classify_refusals`` False: a module whose classifier knows no code for Magento's words
        (it answers COMMERCE_REFUSED with them), so the caller's own matching is exercised.
        ``only_x_of_y``: 2.4.8's ``cataloginventory/options/not_available_message`` = 1."""
        if magento_version not in MAGENTO_VERSIONS:
            raise ValueError(f"magento_version must be one of {MAGENTO_VERSIONS}")
        self._connect = connect
        self.token = token
        self.rma_enabled = rma_enabled
        self.contract = load_contract()
        self.module_version: str | None = str(self.contract["version"]) if module else None
        self.magento_version = magento_version
        self.classify_refusals = classify_refusals
        self.only_x_of_y = only_x_of_y
        self.stale_claim_s = 600.0
        self._module_installed = False
        self.faults = CommerceFaults()
        self.calls: dict[str, int] = {}
        self._lock = threading.RLock()
        self._conn: Any = None
        self._rng = random.Random(5)
        prefix = "/rest/<store_code>/V1"
        self.url_map = Map([
            Rule(f"{prefix}/carts/", endpoint="cart_create", methods=["POST"]),
            Rule(f"{prefix}/carts/<int:cart_id>/items", endpoint="cart_add_item", methods=["POST"]),
            Rule(f"{prefix}/carts/<int:cart_id>/shipping-information", endpoint="cart_shipping", methods=["POST"]),
            Rule(f"{prefix}/carts/<int:cart_id>/order", endpoint="cart_place_order", methods=["PUT"]),
            Rule(f"{prefix}/orders", endpoint="orders_search", methods=["GET"]),
            Rule(f"{prefix}/orders", endpoint="order_save", methods=["POST"]),
            Rule(f"{prefix}/orders/<int:order_id>", endpoint="order_get", methods=["GET"]),
            Rule(f"{prefix}/orders/<int:order_id>/cancel", endpoint="order_cancel", methods=["POST"]),
            Rule(f"{prefix}/orders/<int:order_id>/comments", endpoint="order_comment", methods=["POST"]),
            Rule(f"{prefix}/order/<int:order_id>/ship", endpoint="order_ship", methods=["POST"]),
            Rule(f"{prefix}/order/<int:order_id>/invoice", endpoint="order_invoice", methods=["POST"]),
            Rule(f"{prefix}/order/<int:order_id>/refund", endpoint="order_refund", methods=["POST"]),
            Rule(f"{prefix}/returns", endpoint="rma_create", methods=["POST"]),
            Rule(f"{prefix}/returns", endpoint="rma_search", methods=["GET"]),
            Rule(f"{prefix}/returns/<int:rma_id>", endpoint="rma_get", methods=["GET"]),
            Rule(f"{prefix}/returns/<int:rma_id>", endpoint="rma_update", methods=["PUT"]),
            Rule(f"{prefix}/returns/<int:rma_id>/comments", endpoint="rma_comments", methods=["GET"]),
            Rule(f"{prefix}/walmart-sync/orders", endpoint="module_place", methods=["POST"]),
            Rule(f"{prefix}/walmart-sync/orders/<purchase_order_id>", endpoint="module_order_get", methods=["GET"]),
            Rule(f"{prefix}/walmart-sync/module", endpoint="module_info", methods=["GET"]),
        ], strict_slashes=False)

    # plumbing -------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except MagentoError as exc:
            response = _json({"message": exc.message, **({"parameters": exc.parameters} if exc.parameters else {})},
                             exc.status)
        except NotFound:
            response = _json({"message": "Request does not match any route."}, 404)
        except HTTPException as exc:
            response = _json({"message": exc.description or "error"}, exc.code or 500)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        endpoint, args = adapter.match()
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise MagentoError(401, "The consumer isn't authorized to access %resources.",
                               {"resources": "Magento_Sales::sales"})
        if self.faults.error_rate and self._rng.random() < self.faults.error_rate:
            raise MagentoError(503, "Service Unavailable")
        if endpoint.startswith("module_") and not self.module_version:
            raise NotFound()  # stock Magento: no such route
        store_id = self._store_id(args.pop("store_code"))
        body = request.get_json(silent=True) if request.data else None
        if endpoint == "module_place":
            return self._module_place(store_id, body or {})
        if endpoint == "cart_place_order" and self.faults.place_order_commit_delay_s:
            return self._slow_placement(store_id, body or {}, request, **args)
        with self._lock:
            self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
            conn = self._connection()
            try:
                result = getattr(self, endpoint)(conn, store_id, body or {}, request, **args)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        if endpoint == "cart_place_order" and self.faults.place_order_delay_s:
            time.sleep(self.faults.place_order_delay_s)
        return _json(result)

    def _slow_placement(self, store_id: int, body: dict, request: Request, **args: Any) -> Response:
        """The placement on a connection of its own, committed after the delay: meanwhile other calls
        (a search by quote_id) do not see the order, as on a store whose checkout is slow."""
        conn = self._connect()
        conn.autocommit(False)
        try:
            with self._lock:
                self.calls["cart_place_order"] = self.calls.get("cart_place_order", 0) + 1
                result = self.cart_place_order(conn, store_id, body, request, **args)
            time.sleep(self.faults.place_order_commit_delay_s)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            conn.close()
        return _json(result)

    def _connection(self) -> Any:
        if self._conn is None or not self._conn.open:
            self._conn = self._connect()
            self._conn.autocommit(False)
        else:
            self._conn.ping()
        return self._conn

    def _store_id(self, code: str) -> int:
        with self._lock:
            conn = self._connection()
            with conn.cursor() as cur:
                cur.execute("SELECT store_id FROM store WHERE code = %s", ("admin" if code == "all" else code,))
                row = cur.fetchone()
            conn.commit()
        if row is None:
            raise MagentoError(400, "The store that was requested wasn't found. Verify the store and try again.")
        return int(row[0])

    @staticmethod
    def _stock_id(cur: Any, store_id: int) -> int:
        cur.execute("SELECT c.stock_id FROM store s JOIN store_website w ON w.website_id = s.website_id "
                    "JOIN inventory_stock_sales_channel c ON c.type = 'website' AND c.code = w.code "
                    "WHERE s.store_id = %s", (store_id,))
        row = cur.fetchone()
        return int(row[0]) if row else 1

    @staticmethod
    def _can_sell(conn: Any, sku: str, stock_id: int, qty: float, adding_to_cart: bool) -> bool:
        """Magento's IsProductSalableForRequestedQty for the stock (devstack/oracles/msi.py)."""
        salable = salable_quantities(conn, [sku], stock_id)[sku]
        return can_sell(salable, Decimal(str(qty)), adding_to_cart)

    # what Magento's REST layer accepts ------------------------------------------------------------
    def _declared_extension(self, interface: str) -> set[str]:
        """Extension attributes the interface has: the module's (contract.json) when installed."""
        if not self.module_version:
            return set()
        return set((self.contract.get("extension_attributes") or {}).get(interface) or {})

    def _refuse_undeclared(self, interface: str, extension: Any) -> None:
        """ServiceInputProcessor::_createFromArray() on an extension attributes object: a key with
        no getter is a LogicException from Reflection\\NameFinder in 2.4.6 (masked to a 500 by
        ErrorProcessor::maskException()), an InputException "is not supported" (400) from 2.4.7."""
        if not isinstance(extension, dict):
            return
        for key in extension:
            if key in self._declared_extension(interface):
                continue
            if self.magento_version == "2.4.6":
                raise MagentoError(500, "Internal Error. Details are available in Magento log file. "
                                        f"Report ID: webapi-{self._rng.randrange(16 ** 12):012x}")
            raise MagentoError(400, '"%fieldName" is not supported. Correct the field name and try again.',
                               {"fieldName": _upper_camel(key)})

    def _not_enough_message(self, conn: Any, sku: str, stock_id: int, qty: float) -> str:
        """The words of IsSalableWithReservationsCondition for a shortfall: MSI 1.2.6/1.2.7
        (2.4.6, 2.4.7) "The requested qty is not available"; after LYNX-530 (2.4.8) "Not enough
        items for sale", or "Only X of Y available" with not_available_message = 1."""
        if self.magento_version != "2.4.8":
            return "The requested qty is not available"
        if self.only_x_of_y:
            left = salable_quantities(conn, [sku], stock_id)[sku].quantity or 0
            return f"Only {float(left):g} of {qty:g} available"
        return "Not enough items for sale"

    # cart flow ------------------------------------------------------------------------------------
    def cart_create(self, conn: Any, store_id: int, body: dict, request: Request) -> int:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO quote (store_id, is_active, customer_is_guest, base_currency_code, "
                        "store_currency_code, quote_currency_code, global_currency_code, checkout_method) "
                        "VALUES (%s, 1, 1, 'USD', 'USD', 'USD', 'USD', 'guest')", (store_id,))
            return int(cur.lastrowid)

    def _quote(self, cur: Any, cart_id: int) -> tuple:
        cur.execute("SELECT entity_id, store_id, is_active, reserved_order_id FROM quote WHERE entity_id = %s",
                    (cart_id,))
        row = cur.fetchone()
        if row is None:
            raise MagentoError(404, 'No such entity with %fieldName = %fieldValue',
                               {"fieldName": "cartId", "fieldValue": cart_id})
        if not row[2]:
            raise MagentoError(404, "The cart isn't active.")
        return row

    def cart_add_item(self, conn: Any, store_id: int, body: dict, request: Request, cart_id: int) -> dict:
        item = body.get("cartItem") or {}
        sku, qty = item.get("sku"), item.get("qty")
        if not isinstance(sku, str) or not isinstance(qty, (int, float)) or qty <= 0:
            raise MagentoError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "sku, qty"})
        self._refuse_undeclared("Magento\\Quote\\Api\\Data\\CartItemInterface", item.get("extension_attributes"))
        with conn.cursor() as cur:
            self._quote(cur, cart_id)
            cur.execute("SELECT entity_id, type_id FROM catalog_product_entity WHERE sku = %s", (sku,))
            product = cur.fetchone()
            if product is None:
                raise MagentoError(404, "The product that was requested doesn't exist. Verify the product and try again.")
            cur.execute("SELECT COALESCE(SUM(qty), 0) FROM quote_item WHERE quote_id = %s AND sku = %s", (cart_id, sku))
            in_cart = float(cur.fetchone()[0])
            stock_id = self._stock_id(cur, store_id)
            if not self._can_sell(conn, sku, stock_id, in_cart + qty, adding_to_cart=True):
                raise MagentoError(400, self._not_enough_message(conn, sku, stock_id, in_cart + qty))
            # stock Magento: CartItemInterface::setPrice() exists, so the price is accepted, but
            # CartItemPersister adds by SKU and the totals price it from the catalogue
            price = _money(item.get("price")) if item.get("price") is not None and self.module_version \
                else self._catalog_price(conn, cur, sku)
            tax = _money((item.get("extension_attributes") or {}).get("tax_amount"))
            cur.execute("INSERT INTO quote_item (quote_id, product_id, store_id, sku, name, qty, price, base_price, "
                        "custom_price, original_custom_price, row_total, base_row_total, product_type, tax_amount, "
                        "base_tax_amount) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (cart_id, product[0], store_id, sku, item.get("name") or sku, qty, price, price, price, price,
                         _money(price * qty), _money(price * qty), product[1] or "simple", tax, tax))
            return {"item_id": cur.lastrowid, "sku": sku, "qty": qty, "name": item.get("name") or sku,
                    "price": price, "product_type": product[1] or "simple", "quote_id": str(cart_id)}

    def _staged(self, conn: Any) -> bool:
        if not hasattr(self, "_staged_catalog"):
            self._staged_catalog = is_staged(conn)
        return self._staged_catalog

    def _catalog_price(self, conn: Any, cur: Any, sku: str) -> float:
        link = live_products(conn, [sku], int(time.time()))[sku].link_id
        key = "row_id" if self._staged(conn) else "entity_id"
        cur.execute("SELECT d.value FROM catalog_product_entity_decimal d JOIN eav_attribute a "
                    "ON a.attribute_id = d.attribute_id AND a.attribute_code = 'price' "
                    f"WHERE d.{key} = %s AND d.store_id = 0", (link,))
        row = cur.fetchone()
        return _money(row[0]) if row else 0.0

    def cart_shipping(self, conn: Any, store_id: int, body: dict, request: Request, cart_id: int) -> dict:
        info = body.get("addressInformation") or {}
        shipping, billing = info.get("shipping_address"), info.get("billing_address") or info.get("shipping_address")
        if not isinstance(shipping, dict) or not info.get("shipping_carrier_code") or not info.get("shipping_method_code"):
            raise MagentoError(400, "The shipping method is missing. Select the shipping method and try again.")
        for field in ("firstname", "lastname", "street", "city", "postcode", "country_id", "telephone"):
            if not shipping.get(field):
                raise MagentoError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": field})
        extension = info.get("extension_attributes") or {}
        self._refuse_undeclared("Magento\\Checkout\\Api\\Data\\ShippingInformationInterface", extension)
        with conn.cursor() as cur:
            self._quote(cur, cart_id)
            cur.execute("DELETE FROM quote_address WHERE quote_id = %s", (cart_id,))
            for kind, address in (("shipping", shipping), ("billing", billing)):
                cur.execute("INSERT INTO quote_address (quote_id, address_type, email, firstname, lastname, street, "
                            "city, region, postcode, country_id, telephone, shipping_method, shipping_amount, "
                            "shipping_tax_amount) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                            (cart_id, kind, address.get("email"), address.get("firstname"), address.get("lastname"),
                             "\n".join(address.get("street") or []), address.get("city"), address.get("region"),
                             address.get("postcode"), address.get("country_id"), address.get("telephone"),
                             f"{info['shipping_carrier_code']}_{info['shipping_method_code']}" if kind == "shipping" else None,
                             _money(extension.get("shipping_amount")) if kind == "shipping" else 0,
                             _money(extension.get("shipping_tax_amount")) if kind == "shipping" else 0))
            cur.execute("UPDATE quote SET customer_email = %s, customer_firstname = %s, customer_lastname = %s "
                        "WHERE entity_id = %s", (shipping.get("email"), shipping.get("firstname"),
                                                 shipping.get("lastname"), cart_id))
        return {"payment_methods": [{"code": "checkmo", "title": "Check / Money order"},
                                    {"code": "purchaseorder", "title": "Purchase Order"}],
                "totals": {"shipping_amount": _money(extension.get("shipping_amount"))}}

    def cart_place_order(self, conn: Any, store_id: int, body: dict, request: Request, cart_id: int) -> int:
        method = (body.get("paymentMethod") or {}).get("method")
        allowed = ("checkmo", "purchaseorder", "free", "cashondelivery", "banktransfer") + \
            ((str(self.contract["payment_method"]),) if self.module_version else ())
        if method not in allowed:
            raise MagentoError(400, "The requested Payment Method is not available.")
        with conn.cursor() as cur:
            self._quote(cur, cart_id)
            return self._submit_quote(conn, cur, store_id, cart_id, str(method))

    def _submit_quote(self, conn: Any, cur: Any, store_id: int, cart_id: int, method: str,
                      ext_order_id: str | None = None, reserve: bool = True) -> int:
        """QuoteManagement::submit(): the quote becomes sales_order + items + addresses + payment,
        one ``order_placed`` reservation per SKU, the quote deactivated. ``reserve`` False: an order
        Walmart fulfils from its own stock (WFS), which the module places without MSI's quantity
        check or reservation (as marketplace connectors do with a plugin on
        ``PlaceReservationsForSalesEventInterface``)."""
        cur.execute("SELECT item_id, product_id, sku, name, qty, price, product_type, tax_amount FROM quote_item "
                    "WHERE quote_id = %s ORDER BY item_id", (cart_id,))
        items = cur.fetchall()
        if not items:
            raise MagentoError(400, "A server error stopped your order from being placed. "
                                    "Please try to place your order again.")
        cur.execute("SELECT address_type, email, firstname, lastname, street, city, region, postcode, country_id, "
                    "telephone, shipping_method, shipping_amount, shipping_tax_amount FROM quote_address WHERE quote_id = %s",
                    (cart_id,))
        addresses = {row[0]: row for row in cur.fetchall()}
        if "shipping" not in addresses:
            raise MagentoError(400, "The shipping address is missing. Set the address and try again.")
        stock_id = self._stock_id(cur, store_id)
        by_sku: dict[str, float] = {}
        for item in items:
            by_sku[item[2]] = by_sku.get(item[2], 0.0) + float(item[4])
        for sku, qty in by_sku.items():  # checked again at placement, as Magento does
            if reserve and not self._can_sell(conn, sku, stock_id, qty, adding_to_cart=False):
                raise MagentoError(400, self._not_enough_message(conn, sku, stock_id, qty))
        increment_id = self._next_increment(cur, "order", store_id)
        ship = addresses["shipping"]
        subtotal = sum(_money(float(i[5]) * float(i[4])) for i in items)
        shipping_amount = _money(ship[11])
        shipping_tax = _money(ship[12])
        tax = _money(sum(float(i[7] or 0) for i in items) + shipping_tax)
        grand = _money(subtotal + shipping_amount + tax)
        qty_total = sum(float(i[4]) for i in items)
        cur.execute(
            "INSERT INTO sales_order (state, status, increment_id, store_id, quote_id, customer_email, "
            "customer_firstname, customer_lastname, customer_is_guest, customer_group_id, subtotal, base_subtotal, "
            "shipping_amount, base_shipping_amount, grand_total, base_grand_total, total_qty_ordered, "
            "base_total_qty_ordered, order_currency_code, base_currency_code, global_currency_code, "
            "store_currency_code, shipping_method, shipping_description, total_item_count, tax_amount, "
            "base_tax_amount, shipping_tax_amount, base_shipping_tax_amount, ext_order_id) VALUES ('new', 'pending', %s, %s, "
            "%s, %s, %s, %s, 1, 0, %s, %s, %s, %s, %s, %s, %s, %s, 'USD', 'USD', 'USD', 'USD', %s, %s, %s, %s, "
            "%s, %s, %s, %s)",
            (increment_id, store_id, cart_id, ship[1], ship[2], ship[3], subtotal, subtotal, shipping_amount,
             shipping_amount, grand, grand, qty_total, qty_total, ship[10], ship[10], len(items), tax, tax,
             shipping_tax, shipping_tax, ext_order_id))
        order_id = cur.lastrowid
        for item in items:
            row_total = _money(float(item[5]) * float(item[4]))
            item_tax = _money(item[7])
            cur.execute("INSERT INTO sales_order_item (order_id, store_id, quote_item_id, product_id, sku, name, "
                        "product_type, qty_ordered, price, base_price, original_price, row_total, base_row_total, "
                        "tax_amount, base_tax_amount) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                        "%s, %s)",
                        (order_id, store_id, item[0], item[1], item[2], item[3], item[6], item[4], item[5],
                         item[5], item[5], row_total, row_total, item_tax, item_tax))
        address_ids = {}
        for kind, address in addresses.items():
            cur.execute("INSERT INTO sales_order_address (parent_id, address_type, email, firstname, lastname, "
                        "street, city, region, postcode, country_id, telephone) VALUES "
                        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", (order_id, kind, *address[1:10]))
            address_ids[kind] = cur.lastrowid
        cur.execute("UPDATE sales_order SET shipping_address_id = %s, billing_address_id = %s WHERE entity_id = %s",
                    (address_ids.get("shipping"), address_ids.get("billing"), order_id))
        cur.execute("INSERT INTO sales_order_payment (parent_id, method, amount_ordered, base_amount_ordered, "
                    "shipping_amount, base_shipping_amount) VALUES (%s, %s, %s, %s, %s, %s)",
                    (order_id, method, grand, grand, shipping_amount, shipping_amount))
        if reserve:
            self._reserve(cur, stock_id, {sku: -qty for sku, qty in by_sku.items()}, "order_placed",
                          order_id, increment_id)
        cur.execute("UPDATE quote SET is_active = 0, reserved_order_id = %s WHERE entity_id = %s",
                    (increment_id, cart_id))
        return int(order_id)

    @staticmethod
    def _next_increment(cur: Any, entity: str, store_id: int) -> str:
        """Magento's SalesSequence: a row in ``sequence_<entity>_<store>``, prefixed by the store."""
        cur.execute(f"INSERT INTO sequence_{entity}_{int(store_id)} () VALUES ()")
        return f"{store_id}{cur.lastrowid:09d}"

    def _reserve(self, cur: Any, stock_id: int, quantities: dict[str, float], event: str, order_id: int,
                 increment_id: str) -> None:
        """One reservation per SKU, metadata as Magento's ReservationBuilder writes it. None for an
        order Walmart fulfils (WFS): the module's plugin on PlaceReservationsForSalesEventInterface
        skips every sales event of such an order, since placing it reserved nothing to compensate."""
        if self._module_installed:
            cur.execute("SELECT 1 FROM walmart_sync_marketplace_order WHERE order_id = %s AND fulfillment = "
                        "'WFSFulfilled'", (order_id,))
            if cur.fetchone() is not None:
                return
        metadata = json.dumps({"event_type": event, "object_type": "order", "object_id": str(order_id),
                               "object_increment_id": increment_id}, separators=(",", ":"))
        cur.executemany("INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) VALUES (%s, %s, %s, %s)",
                        [(stock_id, sku, qty, metadata) for sku, qty in quantities.items() if qty])

    # orders -----------------------------------------------------------------------------------------
    ORDER_FIELDS = ("entity_id", "increment_id", "state", "status", "store_id", "quote_id", "ext_order_id",
                    "customer_email", "customer_firstname", "customer_lastname", "customer_is_guest", "subtotal",
                    "shipping_amount", "tax_amount", "grand_total", "total_qty_ordered", "shipping_method",
                    "order_currency_code", "created_at")
    ITEM_FIELDS = ("item_id", "sku", "name", "product_type", "qty_ordered", "qty_shipped", "qty_canceled",
                   "qty_invoiced", "qty_refunded", "price", "row_total", "tax_amount")

    def _order_json(self, cur: Any, order_id: int) -> dict:
        cur.execute(f"SELECT {', '.join(self.ORDER_FIELDS)} FROM sales_order WHERE entity_id = %s", (order_id,))
        row = cur.fetchone()
        if row is None:
            raise MagentoError(404, "The entity that was requested doesn't exist. Verify the entity and try again.")
        order: dict[str, Any] = dict(zip(self.ORDER_FIELDS, row))
        for key in ("subtotal", "shipping_amount", "tax_amount", "grand_total", "total_qty_ordered"):
            order[key] = float(order[key] or 0)
        cur.execute(f"SELECT {', '.join(self.ITEM_FIELDS)} FROM sales_order_item WHERE order_id = %s ORDER BY item_id",
                    (order_id,))
        order["items"] = [{k: (float(v) if k.startswith(("qty", "price", "row", "tax")) and v is not None else v)
                           for k, v in zip(self.ITEM_FIELDS, r)} for r in cur.fetchall()]
        cur.execute("SELECT address_type, firstname, lastname, street, city, region, postcode, country_id, telephone, "
                    "email FROM sales_order_address WHERE parent_id = %s", (order_id,))
        addresses = {r[0]: dict(zip(("address_type", "firstname", "lastname", "street", "city", "region", "postcode",
                                     "country_id", "telephone", "email"), r)) for r in cur.fetchall()}
        for address in addresses.values():
            address["street"] = (address["street"] or "").split("\n")
        order["billing_address"] = addresses.get("billing")
        order["extension_attributes"] = {"shipping_assignments": [
            {"shipping": {"address": addresses.get("shipping"), "method": order["shipping_method"]}}]}
        cur.execute("SELECT method FROM sales_order_payment WHERE parent_id = %s", (order_id,))
        payment = cur.fetchone()
        order["payment"] = {"method": payment[0]} if payment else None
        return order

    def order_get(self, conn: Any, store_id: int, body: dict, request: Request, order_id: int) -> dict:
        with conn.cursor() as cur:
            return self._order_json(cur, order_id)

    SEARCHABLE = {"entity_id", "increment_id", "ext_order_id", "quote_id", "state", "status", "store_id"}

    @staticmethod
    def _search_filters(request: Request, searchable: set[str]) -> tuple[str, list[Any]]:
        """searchCriteria filter groups (AND between groups) with eq / in conditions, as SQL."""
        clauses, values = [], []
        group = 0
        while f"searchCriteria[filter_groups][{group}][filters][0][field]" in request.args:
            prefix = f"searchCriteria[filter_groups][{group}][filters][0]"
            field = request.args[f"{prefix}[field]"]
            value = request.args.get(f"{prefix}[value]")
            condition = request.args.get(f"{prefix}[condition_type]", "eq")
            if field not in searchable or condition not in ("eq", "in"):
                raise MagentoError(400, '"%fieldName" is not a valid search field.', {"fieldName": field})
            if condition == "in":
                parts = (value or "").split(",")
                clauses.append(f"{field} IN ({', '.join(['%s'] * len(parts))})")
                values += parts
            else:
                clauses.append(f"{field} = %s")
                values.append(value)
            group += 1
        return " AND ".join(clauses) or "1 = 1", values

    def orders_search(self, conn: Any, store_id: int, body: dict, request: Request) -> dict:
        where, values = self._search_filters(request, self.SEARCHABLE)
        size = int(request.args.get("searchCriteria[pageSize]", "20"))
        with conn.cursor() as cur:
            cur.execute(f"SELECT entity_id FROM sales_order WHERE {where} ORDER BY entity_id LIMIT %s",
                        [*values, size])
            ids = [r[0] for r in cur.fetchall()]
            items = [self._order_json(cur, order_id) for order_id in ids]
        return {"items": items, "search_criteria": {"filter_groups": []}, "total_count": len(items)}

    def order_save(self, conn: Any, store_id: int, body: dict, request: Request) -> dict:
        entity = body.get("entity") or {}
        if not isinstance(entity.get("entity_id"), int):
            raise MagentoError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "entity_id"})
        with conn.cursor() as cur:
            self._order_json(cur, entity["entity_id"])
            if "ext_order_id" in entity:
                cur.execute("UPDATE sales_order SET ext_order_id = %s WHERE entity_id = %s",
                            (entity["ext_order_id"], entity["entity_id"]))
            return self._order_json(cur, entity["entity_id"])

    # merchant actions -------------------------------------------------------------------------------
    def _order_row(self, cur: Any, order_id: int) -> tuple:
        cur.execute("SELECT entity_id, increment_id, state, store_id FROM sales_order WHERE entity_id = %s FOR UPDATE",
                    (order_id,))
        row = cur.fetchone()
        if row is None:
            raise MagentoError(404, "The entity that was requested doesn't exist. Verify the entity and try again.")
        return row

    def _items(self, cur: Any, order_id: int) -> dict[int, dict[str, Any]]:
        cur.execute("SELECT item_id, sku, qty_ordered, qty_shipped, qty_canceled, qty_refunded, qty_invoiced, price, "
                    "tax_amount FROM sales_order_item WHERE order_id = %s", (order_id,))
        return {r[0]: {"sku": r[1], "ordered": float(r[2] or 0), "shipped": float(r[3] or 0),
                       "canceled": float(r[4] or 0), "refunded": float(r[5] or 0), "invoiced": float(r[6] or 0),
                       "price": float(r[7] or 0), "tax": float(r[8] or 0)} for r in cur.fetchall()}

    def order_ship(self, conn: Any, store_id: int, body: dict, request: Request, order_id: int) -> int:
        with conn.cursor() as cur:
            order = self._order_row(cur, order_id)
            if order[2] in ("canceled", "closed", "complete"):
                raise MagentoError(400, "A shipment document can not be created. The order does not allow a shipment.")
            items = self._items(cur, order_id)
            wanted = {int(i["order_item_id"]): float(i["qty"]) for i in body.get("items") or []} or \
                {item_id: i["ordered"] - i["shipped"] - i["canceled"] - i["refunded"] for item_id, i in items.items()}
            for item_id, qty in wanted.items():
                item = items.get(item_id)
                if item is None or qty <= 0 or qty > item["ordered"] - item["shipped"] - item["canceled"] - item["refunded"]:
                    raise MagentoError(400, "Shipment Document Validation Error(s):\nYou can't create a shipment "
                                            "without products.")
            cur.execute("INSERT INTO sales_shipment (order_id, store_id, total_qty, increment_id) VALUES (%s, %s, %s, %s)",
                        (order_id, order[3], sum(wanted.values()), self._next_increment(cur, "shipment", order[3])))
            shipment_id = cur.lastrowid
            stock_id = self._stock_id(cur, order[3])
            # MSI's InventoryShipping declares arguments.extension_attributes.source_code on
            # ShipmentCreationArgumentsInterface: the source the merchant picked; without it the
            # default source selection (the stock's sources by priority)
            source = ((body.get("arguments") or {}).get("extension_attributes") or {}).get("source_code")
            if source:
                cur.execute("SELECT 1 FROM inventory_source_stock_link WHERE stock_id = %s AND source_code = %s",
                            (stock_id, source))
                if cur.fetchone() is None:
                    raise MagentoError(400, 'Source "%1" is not assigned to the stock of the order.', [source])
            for item_id, qty in wanted.items():
                cur.execute("INSERT INTO sales_shipment_item (parent_id, order_item_id, sku, qty, price) "
                            "VALUES (%s, %s, %s, %s, %s)", (shipment_id, item_id, items[item_id]["sku"], qty,
                                                            items[item_id]["price"]))
                cur.execute("UPDATE sales_order_item SET qty_shipped = qty_shipped + %s WHERE item_id = %s", (qty, item_id))
                self._deduct(cur, stock_id, items[item_id]["sku"], qty, source)
            for track in body.get("tracks") or []:
                cur.execute("INSERT INTO sales_shipment_track (parent_id, order_id, track_number, title, carrier_code) "
                            "VALUES (%s, %s, %s, %s, %s)", (shipment_id, order_id, track.get("track_number"),
                                                            track.get("title"), track.get("carrier_code")))
            by_sku: dict[str, float] = {}
            for item_id, qty in wanted.items():
                by_sku[items[item_id]["sku"]] = by_sku.get(items[item_id]["sku"], 0.0) + qty
            self._reserve(cur, stock_id, by_sku, "shipment_created", order_id, order[1])
            self._settle_state(cur, order_id)
            return int(shipment_id)

    @staticmethod
    def _deduct(cur: Any, stock_id: int, sku: str, qty: float, source: str | None = None) -> None:
        """Source deduction: the stock's sources by priority, like MSI's default selection, or the
        one source the shipment names."""
        cur.execute("SELECT isi.source_item_id, isi.source_code, isi.quantity FROM inventory_source_item isi "
                    "JOIN inventory_source_stock_link l ON l.source_code = isi.source_code AND l.stock_id = %s "
                    "WHERE isi.sku = %s AND isi.status = 1 AND (%s IS NULL OR isi.source_code = %s) "
                    "ORDER BY l.priority", (stock_id, sku, source, source))
        remaining = qty
        for source_item_id, source_code, quantity in cur.fetchall():
            take = min(remaining, float(quantity))
            if take <= 0:
                continue
            cur.execute("UPDATE inventory_source_item SET quantity = quantity - %s WHERE source_item_id = %s",
                        (take, source_item_id))
            if source_code == "default":
                cur.execute("UPDATE cataloginventory_stock_item si JOIN catalog_product_entity p "
                            "ON p.entity_id = si.product_id SET si.qty = si.qty - %s WHERE p.sku = %s", (take, sku))
            remaining -= take
            if remaining <= 0:
                break

    def _settle_state(self, cur: Any, order_id: int) -> None:
        items = self._items(cur, order_id)
        open_qty = sum(i["ordered"] - i["shipped"] - i["canceled"] - i["refunded"] for i in items.values())
        if all(i["canceled"] >= i["ordered"] for i in items.values()):
            state = "canceled"
        elif open_qty <= 0:
            state = "closed" if all(i["refunded"] + i["canceled"] >= i["ordered"] for i in items.values()) else "complete"
        else:
            state = "processing"
        cur.execute("UPDATE sales_order SET state = %s, status = %s WHERE entity_id = %s", (state, state, order_id))

    def order_cancel(self, conn: Any, store_id: int, body: dict, request: Request, order_id: int) -> bool:
        with conn.cursor() as cur:
            order = self._order_row(cur, order_id)
            if order[2] in ("canceled", "closed", "complete"):
                return False
            items = self._items(cur, order_id)
            by_sku: dict[str, float] = {}
            for item_id, item in items.items():
                remaining = item["ordered"] - item["shipped"] - item["canceled"] - item["refunded"] - item["invoiced"]
                if remaining > 0:
                    cur.execute("UPDATE sales_order_item SET qty_canceled = qty_canceled + %s WHERE item_id = %s",
                                (remaining, item_id))
                    by_sku[item["sku"]] = by_sku.get(item["sku"], 0.0) + remaining
            self._reserve(cur, self._stock_id(cur, order[3]), by_sku, "order_canceled", order_id, order[1])
            cur.execute("UPDATE sales_order SET state = 'canceled', status = 'canceled' WHERE entity_id = %s",
                        (order_id,))
            return True

    def order_invoice(self, conn: Any, store_id: int, body: dict, request: Request, order_id: int) -> int:
        with conn.cursor() as cur:
            order = self._order_row(cur, order_id)
            items = self._items(cur, order_id)
            cur.execute("INSERT INTO sales_invoice (order_id, store_id, state, increment_id) VALUES (%s, %s, 2, %s)",
                        (order_id, order[3], self._next_increment(cur, "invoice", order[3])))
            invoice_id = cur.lastrowid
            for item_id, item in items.items():
                qty = item["ordered"] - item["invoiced"] - item["canceled"]
                if qty > 0:
                    cur.execute("INSERT INTO sales_invoice_item (parent_id, order_item_id, sku, qty, price, row_total) "
                                "VALUES (%s, %s, %s, %s, %s, %s)", (invoice_id, item_id, item["sku"], qty,
                                                                    item["price"], _money(item["price"] * qty)))
                    cur.execute("UPDATE sales_order_item SET qty_invoiced = qty_invoiced + %s WHERE item_id = %s",
                                (qty, item_id))
            if order[2] == "new":
                cur.execute("UPDATE sales_order SET state = 'processing', status = 'processing' WHERE entity_id = %s",
                            (order_id,))
            return int(invoice_id)

    def order_refund(self, conn: Any, store_id: int, body: dict, request: Request, order_id: int) -> int:
        arguments = body.get("arguments") or {}
        # Magento: arguments.extension_attributes.return_to_stock_items
        listed = (arguments.get("extension_attributes") or {}).get("return_to_stock_items") \
            or arguments.get("return_to_stock_items") or []
        return_to_stock = {int(i) for i in listed}
        with conn.cursor() as cur:
            order = self._order_row(cur, order_id)
            items = self._items(cur, order_id)
            wanted = {int(i["order_item_id"]): float(i["qty"]) for i in body.get("items") or []}
            for item_id, qty in wanted.items():
                item = items.get(item_id)
                if item is None or qty <= 0 or qty > item["ordered"] - item["refunded"] - item["canceled"]:
                    raise MagentoError(400, "The most money available to refund is %1.", ["0"])
            shipping = _money(arguments.get("shipping_amount"))
            subtotal = sum(_money(items[i]["price"] * q) for i, q in wanted.items())
            # an item's tax is refunded in proportion to the quantity, as Magento's totals collectors do
            taxes = {i: _money(items[i]["tax"] * q / items[i]["ordered"]) if items[i]["ordered"] else 0.0
                     for i, q in wanted.items()}
            tax = _money(sum(taxes.values()))
            grand = _money(subtotal + shipping + tax)
            cur.execute("INSERT INTO sales_creditmemo (order_id, store_id, state, increment_id, subtotal, "
                        "shipping_amount, base_shipping_amount, tax_amount, base_tax_amount, grand_total, "
                        "base_grand_total) VALUES (%s, %s, 2, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (order_id, order[3], self._next_increment(cur, "creditmemo", order[3]), subtotal, shipping,
                         shipping, tax, tax, grand, grand))
            memo_id = cur.lastrowid
            stock_id = self._stock_id(cur, order[3])
            compensate: dict[str, float] = {}
            for item_id, qty in wanted.items():
                item = items[item_id]
                row_total = _money(item["price"] * qty)
                cur.execute("INSERT INTO sales_creditmemo_item (parent_id, order_item_id, sku, qty, price, row_total, "
                            "tax_amount) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                            (memo_id, item_id, item["sku"], qty, item["price"], row_total, taxes[item_id]))
                cur.execute("UPDATE sales_order_item SET qty_refunded = qty_refunded + %s WHERE item_id = %s",
                            (qty, item_id))
                never_shipped = max(0.0, min(qty, item["ordered"] - item["shipped"] - item["refunded"] - item["canceled"]))
                if never_shipped:
                    compensate[item["sku"]] = compensate.get(item["sku"], 0.0) + never_shipped
                shipped_back = qty - never_shipped
                if shipped_back and item_id in return_to_stock:
                    cur.execute("UPDATE inventory_source_item isi JOIN inventory_source_stock_link l "
                                "ON l.source_code = isi.source_code AND l.stock_id = %s SET isi.quantity = "
                                "isi.quantity + %s WHERE isi.sku = %s ORDER BY l.priority LIMIT 1",
                                (stock_id, shipped_back, item["sku"]))
            self._reserve(cur, stock_id, compensate, "creditmemo_created", order_id, order[1])
            self._settle_state(cur, order_id)
            return int(memo_id)

    def order_comment(self, conn: Any, store_id: int, body: dict, request: Request, order_id: int) -> bool:
        history = body.get("statusHistory") or {}
        if not history.get("comment"):
            raise MagentoError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "comment"})
        with conn.cursor() as cur:
            order = self._order_row(cur, order_id)
            cur.execute("INSERT INTO sales_order_status_history (parent_id, is_customer_notified, is_visible_on_front, "
                        "comment, status, entity_name) VALUES (%s, %s, %s, %s, %s, 'order')",
                        (order_id, int(bool(history.get("is_customer_notified"))),
                         int(bool(history.get("is_visible_on_front"))), history["comment"],
                         history.get("status") or order[2]))
        return True

    # the companion module (commerce-module/, contract.json) -----------------------------------------
    CLAIM_DDL = (
        "CREATE TABLE IF NOT EXISTS walmart_sync_marketplace_order ("
        " entity_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " purchase_order_id VARCHAR(64) NOT NULL, customer_order_id VARCHAR(64) NULL,"
        " state VARCHAR(16) NOT NULL DEFAULT 'placing', claim_token VARCHAR(32) NOT NULL,"
        " version INT UNSIGNED NOT NULL DEFAULT 1, attempts SMALLINT UNSIGNED NOT NULL DEFAULT 1,"
        " request_hash VARCHAR(64) NULL, store_id INT UNSIGNED NULL, quote_id INT UNSIGNED NULL,"
        " order_id INT UNSIGNED NULL, increment_id VARCHAR(50) NULL, line_map TEXT NULL,"
        " refusal_code VARCHAR(64) NULL, refusal_message TEXT NULL,"
        " ship_method VARCHAR(64) NULL, estimated_ship_date DATETIME NULL, estimated_delivery_date DATETIME NULL,"
        " fulfillment VARCHAR(32) NULL, ship_node VARCHAR(64) NULL, source_code VARCHAR(255) NULL,"
        " created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,"
        " updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,"
        " UNIQUE KEY WALMART_SYNC_MARKETPLACE_ORDER_PURCHASE_ORDER_ID (purchase_order_id),"
        " KEY WALMART_SYNC_MARKETPLACE_ORDER_ORDER_ID (order_id),"
        " KEY WALMART_SYNC_MARKETPLACE_ORDER_STATE_UPDATED_AT (state, updated_at)"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4")
    CLAIM_FIELDS = ("purchase_order_id", "state", "claim_token", "version", "attempts", "request_hash", "order_id",
                    "increment_id", "line_map", "refusal_code", "refusal_message", "quote_id")

    def _install_module(self, conn: Any) -> None:
        """bin/magento setup:upgrade: the module's db_schema.xml table (the quote columns it adds
        are not needed here: the emulator keeps the amounts in the columns the cart flow uses)."""
        if self._module_installed:
            return
        with conn.cursor() as cur:
            cur.execute(self.CLAIM_DDL)
        conn.commit()
        self._module_installed = True

    def _refusal(self, po: str, code: str, reason: str, phase: str, **extra: Any) -> MagentoError:
        """The module's refusal: Magento's error shape, template + named parameters (all strings)."""
        spec = self.contract["refusal_codes"][code]
        parameters = {"purchase_order_id": po, "code": code, "reason": reason, "phase": phase,
                      "retriable": "true" if spec["retriable"] else "false",
                      "walmart_cancellable": "true" if spec["walmart_cancellable"] else "false",
                      **{k: str(v) for k, v in extra.items() if v is not None}}
        return MagentoError(int(spec["http_status"]), str(self.contract["error_body"]["message"]), parameters)

    def _magento_refusal(self, po: str, code: str, message: str, phase: str, **extra: Any) -> MagentoError:
        """A refusal carrying Magento's own words; a module that cannot classify them says
        COMMERCE_REFUSED and leaves the words to the caller."""
        code = code if self.classify_refusals else "COMMERCE_REFUSED"
        return self._refusal(po, code, message, phase, magento_message=message, **extra)

    def _check_fields(self, spec: dict[str, Any], value: Any, path: str, errors: list[str]) -> None:
        """ServiceInputProcessor on the module's data interfaces: a key with no getter is refused
        before the service runs; a missing required value is the service's INVALID_REQUEST."""
        if not isinstance(value, dict):
            errors.append(f"{path or 'order'} must be an object")
            return
        for key in value:
            if key not in spec:
                if self.magento_version == "2.4.6":
                    raise MagentoError(500, "Internal Error. Details are available in Magento log file. "
                                            f"Report ID: webapi-{self._rng.randrange(16 ** 12):012x}")
                raise MagentoError(400, '"%fieldName" is not supported. Correct the field name and try again.',
                                   {"fieldName": _upper_camel(key)})
        for key, field in spec.items():
            got = value.get(key)
            where = f"{path}{key}"
            if got is None or got == "" or got == []:
                if field.get("required"):
                    errors.append(f'"{where}" is required.')
                continue
            kind = str(field["type"]).split("|")[0]
            if kind == "object":
                self._check_fields(field["fields"], got, where + ".", errors)
            elif kind == "object[]":
                if not isinstance(got, list):
                    errors.append(f'"{where}" must be a list.')
                    continue
                for n, entry in enumerate(got):
                    self._check_fields(field["items"], entry, f"{where}[{n}].", errors)
            elif kind == "string[]":
                if not isinstance(got, list) or not all(isinstance(x, str) for x in got):
                    errors.append(f'"{where}" must be a list of strings.')
            elif kind == "string" and not isinstance(got, (str, int)):
                errors.append(f'"{where}" must be a string.')
            elif kind == "int" and (not isinstance(got, int) or isinstance(got, bool) or got <= 0):
                errors.append(f'"{where}" must be a positive whole number.')
            elif kind == "float" and (not isinstance(got, (int, float)) or isinstance(got, bool) or got < 0):
                errors.append(f'"{where}" must be a number of at least 0.')

    def _claim(self, cur: Any, po: str) -> dict[str, Any] | None:
        cur.execute(f"SELECT {', '.join(self.CLAIM_FIELDS)}, TIMESTAMPDIFF(SECOND, updated_at, NOW()) "
                    "FROM walmart_sync_marketplace_order WHERE purchase_order_id = %s", (po,))
        row = cur.fetchone()
        return None if row is None else {**dict(zip(self.CLAIM_FIELDS, row)), "age_s": float(row[-1] or 0)}

    def _placed_json(self, cur: Any, claim: dict[str, Any], created: bool, request_hash: str | None) -> dict:
        cur.execute("SELECT entity_id, increment_id, subtotal, shipping_amount, tax_amount, grand_total "
                    "FROM sales_order WHERE entity_id = %s", (claim["order_id"],))
        order = cur.fetchone()
        if order is None:
            raise self._refusal(claim["purchase_order_id"], "ORDER_DELETED",
                                f"Commerce order {claim['increment_id']} placed for it was deleted", "claim")
        result: dict[str, Any] = {
            "purchase_order_id": claim["purchase_order_id"], "state": "placed", "created": created,
            "same_request": request_hash is None or request_hash == claim["request_hash"],
            "attempts": int(claim["attempts"]), "order_id": int(order[0]), "increment_id": order[1],
            "subtotal": float(order[2] or 0), "shipping_amount": float(order[3] or 0),
            "tax_amount": float(order[4] or 0), "grand_total": float(order[5] or 0),
            "lines": json.loads(claim["line_map"] or "[]")}
        return result

    def _module_place(self, store_id: int, body: dict) -> Response:
        """POST /V1/walmart-sync/orders: the claim (one row per PO) committed before anything is
        placed, then the placement, then the claim marked placed (or failed, with the refusal)."""
        slow = self.faults.place_order_commit_delay_s
        with self._lock:
            self.calls["module_place"] = self.calls.get("module_place", 0) + 1
            conn = self._connection()
            self._install_module(conn)
            try:
                outcome = self._module_claim(conn, body)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        if isinstance(outcome, dict):
            return _json(outcome)
        order, token, request_hash = outcome
        placing = self._connect() if slow else conn
        try:
            with self._lock:
                if slow:
                    placing.autocommit(False)
                try:
                    result = self._module_submit(placing, order, token, request_hash)
                except MagentoError as refusal:
                    placing.rollback()
                    self._module_failed(placing, order["purchase_order_id"], token, refusal)
                    placing.commit()
                    raise
                except BaseException:
                    placing.rollback()
                    raise
                if not slow:
                    placing.commit()
            if slow:
                time.sleep(slow)
                placing.commit()
        finally:
            if slow:
                placing.close()
        if self.faults.place_order_delay_s:
            time.sleep(self.faults.place_order_delay_s)
        return _json(result)

    def _module_claim(self, conn: Any, body: dict) -> dict | tuple[dict, str, str]:
        """ClaimStateMachine: the existing order, a 409 while another call places it, or the claim."""
        order = body.get("order")  # other top-level keys are no parameter of place(): ignored
        errors: list[str] = []
        self._check_fields(self.contract["routes"]["place"]["request"]["order"], order, "", errors)
        po = str((order or {}).get("purchase_order_id") or "") if isinstance(order, dict) else ""
        if errors:
            raise self._refusal(po, "INVALID_REQUEST", "the request is not a placeable order", "validation",
                                errors="\n".join(errors))
        assert isinstance(order, dict)
        request_hash = hashlib.sha256(json.dumps(order, sort_keys=True).encode()).hexdigest()
        token = f"{self._rng.randrange(16 ** 32):032x}"
        with conn.cursor() as cur:
            claim = self._claim(cur, po)
            if claim is None:
                cur.execute("INSERT IGNORE INTO walmart_sync_marketplace_order (purchase_order_id, customer_order_id, "
                            "state, claim_token, request_hash) VALUES (%s, %s, 'placing', %s, %s)",
                            (po, order.get("customer_order_id"), token, request_hash))
                if cur.rowcount == 1:
                    return order, token, request_hash
                claim = self._claim(cur, po)
                assert claim is not None
            if claim["state"] == "placed":
                return self._placed_json(cur, claim, False, request_hash)
            if claim["state"] == "placing" and claim["age_s"] < self.stale_claim_s:
                raise self._refusal(po, "PLACEMENT_IN_PROGRESS", "another call is placing this purchase order",
                                    "claim", retry_after=int(self.stale_claim_s - claim["age_s"]) + 1)
            if claim["state"] == "placing":  # stale: a call that died after Magento placed it?
                cur.execute("SELECT entity_id FROM sales_order WHERE ext_order_id = %s", (po,))
                found = cur.fetchone()
                if found is not None:
                    cur.execute("UPDATE walmart_sync_marketplace_order SET state = 'placed', order_id = %s, "
                                "version = version + 1 WHERE purchase_order_id = %s AND version = %s",
                                (found[0], po, claim["version"]))
                    return self._placed_json(cur, {**claim, "order_id": found[0]}, False, request_hash)
            cur.execute("UPDATE walmart_sync_marketplace_order SET state = 'placing', claim_token = %s, "
                        "attempts = attempts + 1, request_hash = %s, refusal_code = NULL, refusal_message = NULL, "
                        "version = version + 1 WHERE purchase_order_id = %s AND version = %s",
                        (token, request_hash, po, claim["version"]))
            if cur.rowcount != 1:
                raise self._refusal(po, "PLACEMENT_IN_PROGRESS", "another call is placing this purchase order",
                                    "claim", retry_after=1)
        return order, token, request_hash

    def _module_failed(self, conn: Any, po: str, token: str, refusal: MagentoError) -> None:
        parameters = refusal.parameters if isinstance(refusal.parameters, dict) else {}
        with conn.cursor() as cur:
            cur.execute("UPDATE walmart_sync_marketplace_order SET state = 'failed', refusal_code = %s, "
                        "refusal_message = %s, version = version + 1 WHERE purchase_order_id = %s AND claim_token = %s",
                        (parameters.get("code", "COMMERCE_ERROR"),
                         parameters.get("magento_message") or parameters.get("reason") or refusal.message, po, token))

    def _module_submit(self, conn: Any, order: dict, token: str, request_hash: str) -> dict:
        """MarketplaceOrderService::place(): a marketplace quote (every Walmart line its own item,
        Walmart's prices, tax and shipping), placed with the module's payment method and carrier."""
        po = str(order["purchase_order_id"])
        with conn.cursor() as cur:
            cur.execute("SELECT s.store_id, s.website_id FROM store s WHERE s.code = %s", (order["store_code"],))
            store = cur.fetchone()
            if store is None:
                raise self._magento_refusal(po, "STORE_NOT_FOUND", "The store that was requested wasn't found. "
                                            "Verify the store and try again.", "validation")
            store_id, website_id = int(store[0]), int(store[1])
            if order.get("currency_code") not in (None, "USD"):
                raise self._refusal(po, "CURRENCY_MISMATCH", f"{order['currency_code']} is not the store's base "
                                    "currency USD", "validation")
            stock_id = self._stock_id(cur, store_id)
            wanted: dict[str, float] = {}
            products: dict[str, tuple[int, str]] = {}
            for line in order["lines"]:
                sku = str(line["sku"])
                wanted[sku] = wanted.get(sku, 0.0) + float(line["qty"])
                if sku in products:
                    continue
                cur.execute("SELECT entity_id, type_id FROM catalog_product_entity WHERE sku = %s", (sku,))
                product = cur.fetchone()
                at = {"line_number": line["line_number"], "sku": sku}
                if product is None:
                    raise self._magento_refusal(po, "UNKNOWN_SKU", "The product that was requested doesn't exist. "
                                                "Verify the product and try again.", "product", **at)
                if (product[1] or "simple") not in ("simple", "virtual"):
                    raise self._magento_refusal(po, "PRODUCT_OPTIONS_REQUIRED", "You need to choose options for "
                                                "your item.", "add_item", **at)
                # the EAV key: entity_id, or on Adobe Commerce the live version's row_id
                link = live_products(conn, [sku], int(time.time()))[sku].link_id
                key = "row_id" if self._staged(conn) else "entity_id"
                cur.execute("SELECT i.value FROM catalog_product_entity_int i JOIN eav_attribute a ON "
                            f"a.attribute_id = i.attribute_id AND a.attribute_code = 'status' WHERE i.{key} = %s "
                            "AND i.store_id IN (0, %s) ORDER BY i.store_id DESC LIMIT 1", (link, store_id))
                status = cur.fetchone()
                if status is not None and int(status[0]) == 2:
                    raise self._refusal(po, "PRODUCT_DISABLED", "Product that you are trying to add is not available.",
                                        "product", magento_message="Product that you are trying to add is not "
                                        "available.", **at)
                cur.execute("SELECT 1 FROM catalog_product_website WHERE product_id = %s AND website_id = %s",
                            (product[0], website_id))
                if cur.fetchone() is None:
                    raise self._refusal(po, "PRODUCT_NOT_IN_WEBSITE", "Product that you are trying to add is not "
                                        "available.", "product", magento_message="Product that you are trying to "
                                        "add is not available.", **at)
                products[sku] = (int(product[0]), product[1] or "simple")
            walmart_fulfilled = order.get("fulfillment") == "WFSFulfilled"
            for line in order["lines"]:  # stock per SKU over all its lines (checkQuoteItemQty)
                sku = str(line["sku"])
                if walmart_fulfilled:
                    break  # Walmart ships it from its own stock: Commerce's stock is not asked
                if not self._can_sell(conn, sku, stock_id, wanted[sku], adding_to_cart=True):
                    message = self._not_enough_message(conn, sku, stock_id, wanted[sku])
                    raise self._magento_refusal(po, "OUT_OF_STOCK", message, "add_item",
                                                line_number=line["line_number"], sku=sku)
            cur.execute("INSERT INTO quote (store_id, is_active, customer_is_guest, base_currency_code, "
                        "store_currency_code, quote_currency_code, global_currency_code, checkout_method, "
                        "customer_email, customer_firstname, customer_lastname) VALUES (%s, 1, 1, 'USD', 'USD', "
                        "'USD', 'USD', 'guest', %s, %s, %s)",
                        (store_id, order["customer_email"], order["customer_firstname"], order["customer_lastname"]))
            quote_id = int(cur.lastrowid)
            quote_items: list[int] = []
            for line in order["lines"]:
                sku, qty, price = str(line["sku"]), int(line["qty"]), _money(line["unit_price"])
                tax = _money(line.get("tax_amount"))
                cur.execute("INSERT INTO quote_item (quote_id, product_id, store_id, sku, name, qty, price, base_price, "
                            "custom_price, original_custom_price, row_total, base_row_total, product_type, tax_amount, "
                            "base_tax_amount) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                            (quote_id, products[sku][0], store_id, sku, sku, qty, price, price, price, price,
                             _money(price * qty), _money(price * qty), products[sku][1], tax, tax))
                quote_items.append(int(cur.lastrowid))
            address = order["shipping_address"]
            carrier = self.contract["carrier"]
            # the sidecar's mapped method code first (ValidatedOrder::shippingMethodCode), else the
            # module's own name for Walmart's method
            method = (order.get("shipping_method_code")
                      or carrier["method_of_ship_method"].get(order.get("ship_method") or "", carrier["default_method"]))
            shipping = _money(sum(float(line.get("shipping_amount") or 0) for line in order["lines"]))
            shipping_tax = _money(sum(float(line.get("shipping_tax_amount") or 0) for line in order["lines"]))
            for kind in ("shipping", "billing"):
                cur.execute("INSERT INTO quote_address (quote_id, address_type, email, firstname, lastname, street, "
                            "city, region, postcode, country_id, telephone, shipping_method, shipping_amount, "
                            "shipping_tax_amount) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                            (quote_id, kind, order["customer_email"], address["firstname"], address["lastname"],
                             "\n".join(address["street"]), address["city"], address.get("region"),
                             address["postcode"], address["country_id"], address["telephone"],
                             f"{carrier['code']}_{method}" if kind == "shipping" else None,
                             shipping if kind == "shipping" else 0, shipping_tax if kind == "shipping" else 0))
            try:
                order_id = self._submit_quote(conn, cur, store_id, quote_id, str(self.contract["payment_method"]), po,
                                              reserve=not walmart_fulfilled)
            except MagentoError as refused:  # Magento's words at placement (CheckItemsQuantity)
                raise self._magento_refusal(po, "OUT_OF_STOCK" if "avail" in refused.message or "Not enough"
                                            in refused.message else "COMMERCE_REFUSED", refused.message,
                                            "place") from None
            cur.execute("SELECT item_id, quote_item_id FROM sales_order_item WHERE order_id = %s", (order_id,))
            order_item_of = {int(quote_item): int(item) for item, quote_item in cur.fetchall()}
            lines = [{"line_number": str(line["line_number"]), "sku": str(line["sku"]), "qty": int(line["qty"]),
                      "quote_item_id": quote_item, "order_item_id": order_item_of.get(quote_item)}
                     for line, quote_item in zip(order["lines"], quote_items, strict=True)]
            comment = self._module_comment(order)
            cur.execute("INSERT INTO sales_order_status_history (parent_id, is_customer_notified, is_visible_on_front, "
                        "comment, status, entity_name) VALUES (%s, 0, 0, %s, 'pending', 'order')", (order_id, comment))
            cur.execute("UPDATE walmart_sync_marketplace_order SET state = 'placed', store_id = %s, quote_id = %s, "
                        "order_id = %s, increment_id = (SELECT increment_id FROM sales_order WHERE entity_id = %s), "
                        "line_map = %s, ship_method = %s, estimated_ship_date = %s, estimated_delivery_date = %s, "
                        "fulfillment = %s, ship_node = %s, source_code = %s, "
                        "version = version + 1 WHERE purchase_order_id = %s AND claim_token = %s",
                        (store_id, quote_id, order_id, order_id, json.dumps(lines), order.get("ship_method") or None,
                         _utc_datetime(order.get("estimated_ship_date")),
                         _utc_datetime(order.get("estimated_delivery_date")),
                         order.get("fulfillment") or "SellerFulfilled", order.get("ship_node") or None,
                         order.get("source_code") or None, po, token))
            if cur.rowcount != 1:  # another call took the claim over meanwhile: its placement counts
                raise self._refusal(po, "PLACEMENT_IN_PROGRESS", "another call took this placement over", "claim",
                                    retry_after=1)
            claim = self._claim(cur, po)
            assert claim is not None
            return self._placed_json(cur, claim, True, request_hash)

    @staticmethod
    def _module_comment(order: dict[str, Any]) -> str:
        """The placed order's status-history comment, in the words commerce-module/Logic/OrderComment
        uses (written here from the contract's fields, not by running the module's PHP)."""
        parts = [f"Walmart purchase order {order['purchase_order_id']}"]
        if order.get("customer_order_id"):
            parts.append(f"customer order {order['customer_order_id']}")
        if order.get("ship_method"):
            parts.append(f"ship method {order['ship_method']}")
        for key, words in (("estimated_ship_date", "ship by"), ("estimated_delivery_date", "deliver by")):
            if order.get(key):
                parts.append(f"{words} {_utc_datetime(order[key])} UTC")
        if order.get("fulfillment") == "WFSFulfilled":
            parts.append("fulfilled by Walmart (WFS): Walmart ships it from its own stock, do not ship it here")
        if order.get("ship_node"):
            parts.append(f"ship node {order['ship_node']}"
                         + (f" (source {order['source_code']})" if order.get("source_code") else ""))
        lines = "; ".join(f"line {line['line_number']}: {int(line['qty'])} x {line['sku']}" for line in order["lines"])
        return (", ".join(parts) + ". " + lines + ". Placed by walmart-sync; tax is Walmart's (marketplace "
                "facilitator).")

    def module_order_get(self, conn: Any, store_id: int, body: dict, request: Request, purchase_order_id: str) -> dict:
        """GET /V1/walmart-sync/orders/:purchaseOrderId: places nothing."""
        self._install_module(conn)
        with conn.cursor() as cur:
            claim = self._claim(cur, purchase_order_id)
            if claim is None:
                raise MagentoError(404, "No placement was requested for Walmart purchase order %1.",
                                   [purchase_order_id])
            if claim["state"] == "placed":
                return self._placed_json(cur, claim, False, None)
            result: dict[str, Any] = {"purchase_order_id": purchase_order_id, "state": claim["state"],
                                      "created": False, "same_request": True, "attempts": int(claim["attempts"]),
                                      "lines": []}
            if claim["state"] == "failed":
                result.update(refusal_code=claim["refusal_code"], refusal_message=claim["refusal_message"])
            return result

    def module_info(self, conn: Any, store_id: int, body: dict, request: Request) -> dict:
        return {"module": self.contract["module"], "version": self.module_version,
                "capabilities": self.contract["capabilities"], "payment_method": self.contract["payment_method"],
                "carrier_code": self.contract["carrier"]["code"], "magento_version": self.magento_version,
                "magento_edition": "Commerce" if self.rma_enabled else "Community", "cart_amounts_enabled": True}

    # RMA (Adobe Commerce's Magento_Rma) ------------------------------------------------------------
    RMA_STATUSES = ("pending", "authorized", "partially_authorized", "received", "received_on_item", "approved",
                    "approved_on_item", "rejected", "rejected_on_item", "denied", "closed", "processed_closed")
    RMA_ITEM_STATUSES = ("pending", "authorized", "received", "approved", "rejected", "denied")

    def _rma_enabled(self) -> None:
        if not self.rma_enabled:
            raise NotFound()  # Open Source: no such route

    def rma_create(self, conn: Any, store_id: int, body: dict, request: Request) -> dict:
        """POST /V1/returns (rmaRmaManagementV1): RMAs only for shipped quantity, as Magento checks."""
        self._rma_enabled()
        entity = body.get("rmaDataObject") or {}
        order_id = entity.get("order_id")
        items = entity.get("items") or []
        status = entity.get("status") or "pending"
        if not isinstance(order_id, int) or not items:
            raise MagentoError(400, '"%fieldName" is required. Enter and try again.', {"fieldName": "order_id, items"})
        if status not in self.RMA_STATUSES:
            raise MagentoError(400, "The RMA status %1 is not valid.", [status])
        with conn.cursor() as cur:
            order = self._order_row(cur, order_id)
            known = self._items(cur, order_id)
            increment_id = self._next_increment(cur, "rma_item", order[3])
            cur.execute("INSERT INTO magento_rma (status, is_active, increment_id, order_id, order_increment_id, "
                        "store_id, customer_custom_email) VALUES (%s, 1, %s, %s, %s, %s, %s)",
                        (status, increment_id, order_id, order[1], order[3], entity.get("customer_custom_email")))
            rma_id = cur.lastrowid
            for item in items:
                item_id = int(item.get("order_item_id", 0))
                qty = float(item.get("qty_requested") or 0)
                if item_id not in known:
                    raise MagentoError(400, "The order item %1 does not belong to the order.", [item_id])
                if qty <= 0 or qty > known[item_id]["shipped"]:
                    raise MagentoError(400, "A quantity of %1 of item %2 cannot be returned: only shipped "
                                            "quantity can.", [qty, item_id])
                item_status = item.get("status") or "pending"
                if item_status not in self.RMA_ITEM_STATUSES:
                    raise MagentoError(400, "The RMA item status %1 is not valid.", [item_status])
                cur.execute("INSERT INTO magento_rma_item_entity (rma_entity_id, order_item_id, qty_requested, "
                            "qty_authorized, status, product_sku, product_name) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                            (rma_id, item_id, qty, item.get("qty_authorized"), item_status, known[item_id]["sku"],
                             known[item_id]["sku"]))
            for comment in entity.get("comments") or []:
                cur.execute("INSERT INTO magento_rma_status_history (rma_entity_id, comment, status, is_admin, "
                            "is_visible_on_front) VALUES (%s, %s, %s, 1, %s)",
                            (rma_id, comment.get("comment"), status, int(bool(comment.get("is_visible_on_front")))))
            cur.execute("INSERT INTO magento_rma_grid (entity_id, status, increment_id, order_id, order_increment_id, "
                        "store_id, customer_name) SELECT %s, %s, %s, o.entity_id, o.increment_id, o.store_id, "
                        "CONCAT_WS(' ', o.customer_firstname, o.customer_lastname) FROM sales_order o "
                        "WHERE o.entity_id = %s", (rma_id, status, increment_id, order_id))
            return self._rma_json(cur, rma_id)

    def rma_update(self, conn: Any, store_id: int, body: dict, request: Request, rma_id: int) -> dict:
        """PUT /V1/returns/{id}: the RMA's status and its items' status and quantities."""
        self._rma_enabled()
        entity = body.get("rmaDataObject") or {}
        with conn.cursor() as cur:
            self._rma_json(cur, rma_id)
            if entity.get("status"):
                if entity["status"] not in self.RMA_STATUSES:
                    raise MagentoError(400, "The RMA status %1 is not valid.", [entity["status"]])
                cur.execute("UPDATE magento_rma SET status = %s WHERE entity_id = %s", (entity["status"], rma_id))
                cur.execute("UPDATE magento_rma_grid SET status = %s WHERE entity_id = %s", (entity["status"], rma_id))
            for item in entity.get("items") or []:
                fields = {k: item[k] for k in ("status", "qty_authorized", "qty_approved", "qty_returned")
                          if item.get(k) is not None}
                if "status" in fields and fields["status"] not in self.RMA_ITEM_STATUSES:
                    raise MagentoError(400, "The RMA item status %1 is not valid.", [fields["status"]])
                if fields:
                    cur.execute(f"UPDATE magento_rma_item_entity SET {', '.join(f'{k} = %s' for k in fields)} "
                                "WHERE entity_id = %s AND rma_entity_id = %s",
                                [*fields.values(), int(item.get("entity_id", 0)), rma_id])
            for comment in entity.get("comments") or []:
                cur.execute("INSERT INTO magento_rma_status_history (rma_entity_id, comment, status, is_admin) "
                            "VALUES (%s, %s, %s, 1)", (rma_id, comment.get("comment"), entity.get("status")))
            return self._rma_json(cur, rma_id)

    def _rma_json(self, cur: Any, rma_id: int) -> dict:
        cur.execute("SELECT entity_id, increment_id, order_id, order_increment_id, status, store_id, "
                    "customer_custom_email FROM magento_rma WHERE entity_id = %s", (rma_id,))
        row = cur.fetchone()
        if row is None:
            raise MagentoError(404, "The entity that was requested doesn't exist. Verify the entity and try again.")
        cur.execute("SELECT entity_id, order_item_id, qty_requested, qty_authorized, qty_returned, status, "
                    "product_sku FROM magento_rma_item_entity WHERE rma_entity_id = %s ORDER BY entity_id", (rma_id,))
        items = [{"entity_id": r[0], "rma_entity_id": rma_id, "order_item_id": r[1], "qty_requested": float(r[2] or 0),
                  "qty_authorized": None if r[3] is None else float(r[3]),
                  "qty_returned": None if r[4] is None else float(r[4]), "status": r[5], "product_sku": r[6]}
                 for r in cur.fetchall()]
        return {"entity_id": row[0], "increment_id": row[1], "order_id": row[2], "order_increment_id": row[3],
                "status": row[4], "store_id": row[5], "customer_custom_email": row[6], "items": items}

    def rma_get(self, conn: Any, store_id: int, body: dict, request: Request, rma_id: int) -> dict:
        self._rma_enabled()
        with conn.cursor() as cur:
            return self._rma_json(cur, rma_id)

    def rma_search(self, conn: Any, store_id: int, body: dict, request: Request) -> dict:
        """GET /V1/returns?searchCriteria... (rmaRmaRepositoryV1 getList), filtered by order or status."""
        self._rma_enabled()
        clauses, values = self._search_filters(request, {"order_id", "status", "increment_id", "entity_id"})
        with conn.cursor() as cur:
            cur.execute(f"SELECT entity_id FROM magento_rma WHERE {clauses} ORDER BY entity_id", values)
            items = [self._rma_json(cur, r[0]) for r in cur.fetchall()]
        return {"items": items, "search_criteria": {"filter_groups": []}, "total_count": len(items)}

    def rma_comments(self, conn: Any, store_id: int, body: dict, request: Request, rma_id: int) -> dict:
        self._rma_enabled()
        with conn.cursor() as cur:
            self._rma_json(cur, rma_id)
            cur.execute("SELECT entity_id, comment, status, created_at, is_admin FROM magento_rma_status_history "
                        "WHERE rma_entity_id = %s ORDER BY entity_id", (rma_id,))
            items = [{"entity_id": r[0], "rma_entity_id": rma_id, "comment": r[1], "status": r[2],
                      "created_at": str(r[3]), "admin": bool(r[4])} for r in cur.fetchall()]
        return {"items": items, "total_count": len(items)}


def _utc_datetime(value: Any) -> str | None:
    """An ISO-8601 date as the module stores and shows it: UTC, ``Y-m-d H:i:s``."""
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def connect_commerce(host: str, port: int, user: str, password: str, database: str) -> Any:
    return lambda: pymysql.connect(host=host, port=port, user=user, password=password, database=database,
                                   autocommit=False)
