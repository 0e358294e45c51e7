"""An emulator of Walmart's Marketplace seller API, faithful where an integration can tell.

Auth (``POST /v3/token``, 900 s tokens, 401 UNAUTHORIZED), the headers every call needs (400
MISSING_REQUEST_HEADER), per-seller per-API token buckets with the published limits
(devstack/oracles/walmart_limits.py, from Walmart's documentation, not the client's own table;
429 REQUEST_THRESHOLD_VIOLATED with ``x-current-token-count`` / ``x-next-replenishment-time``),
Walmart's error shapes, inventory and price. Fault injection (5xx, timeouts, latency, 429
storms, dropped connections) and an inspection API under ``/_emulator`` let tests drive and
observe it. ``time_scale`` speeds up the buckets' refill (and token expiry) so tests and the
demo need not wait hours for hourly limits.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import re
import secrets
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from wsgiref.handlers import format_date_time

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devstack.oracles.walmart_limits import (
    ITEMS_PAGING_PARAMS,
    WALMART_LIMITS,
    Bucket,
    Limit,
    RateLimit,
    rate_headers,
)
from devstack.walmart_emulator.feeds import (
    FEED_TYPES,
    MAX_FEED_ITEMS,
    Feed,
    feed_items,
    new_feed_id,
    parse_feed_file,
    process,
)
from devstack.walmart_emulator.orders import (
    METHOD_CODES,
    SELLER_FULFILLED,
    SHIP_NODE_TYPES,
    WFS_FULFILLED,
    LineStatus,
    Order,
    OrderError,
    OrderLine,
    now_ms,
)
from devstack.walmart_emulator.promotions import ItemPrices, Promotion, PromotionRefused
from devstack.walmart_emulator.returns import ReturnOrder, create_return

TOKEN_TTL_S = 900
PRICE_TYPES = ("BASE", "REDUCED", "CLEARANCE")


def error_body(code: str, description: str, field: str | None = None, category: str = "DATA",
               severity: str = "ERROR", info: str | None = None) -> dict[str, Any]:
    """Walmart's current error shape (the Orders API wraps the list in ``{"error": [...]}``)."""
    entry: dict[str, Any] = {"code": code, "description": description, "info": info or description,
                             "severity": severity, "category": category, "causes": [],
                             "errorIdentifiers": {}}
    if field is not None:
        entry["field"] = field
    return {"errors": [entry]}


class WalmartApiError(Exception):
    def __init__(self, status: int, code: str, description: str, field: str | None = None,
                 category: str = "DATA", severity: str = "ERROR", headers: dict[str, str] | None = None,
                 wrapped: bool = False):
        self.status, self.headers = status, headers or {}
        self.body = error_body(code, description, field, category, severity)
        if wrapped:  # the Orders API's gateway shape: {"errors": {"error": [...]}}
            self.body = {"errors": {"error": self.body["errors"]}}
        super().__init__(f"{status} {code}: {description}")


@dataclass
class FaultConfig:
    """Per-request probabilities, applied to /v3 calls (never to /v3/token or /_emulator)."""

    error_rate: float = 0.0       # answer 500/502/503/504
    timeout_rate: float = 0.0     # hold the request for ``timeout_s`` before answering
    timeout_s: float = 3.0
    drop_rate: float = 0.0        # close the connection without an answer
    latency_s: float = 0.0        # added to every answer
    answer_delay_s: float = 0.0   # writes: applied at once, answered this much later (a crash window)
    storm_429_until: float = 0.0  # monotonic time until which every call gets 429
    # while set and cleared, a page of feed item details waits for it (up to 10 s): a test holds a
    # worker's read of feed items open to see what else the worker does meanwhile
    feed_items_gate: threading.Event | None = None
    seed: int | None = None


@dataclass
class SellerState:
    client_id: str
    items: dict[str, dict[str, Any]] = field(default_factory=dict)      # sku -> seller item
    inventory: dict[tuple[str, str], int] = field(default_factory=dict)  # (sku, shipNode) -> qty
    prices: dict[str, dict[str, Any]] = field(default_factory=dict)      # sku -> its BASE pricing entry
    promotions: dict[str, ItemPrices] = field(default_factory=dict)      # sku -> its promotions
    lag_times: dict[str, int] = field(default_factory=dict)              # sku -> fulfillmentLagTime (days)
    # lag-time.yml: "Lag time of two days or more requires approval at the item setup category level"
    lag_time_approved: int = 1
    calls: Counter[str] = field(default_factory=Counter)                 # api -> accepted calls
    throttled: Counter[str] = field(default_factory=Counter)             # api -> 429s answered
    faults_injected: Counter[str] = field(default_factory=Counter)
    orders: dict[str, Order] = field(default_factory=dict)
    returns: dict[str, ReturnOrder] = field(default_factory=dict)
    feeds: dict[str, Feed] = field(default_factory=dict)
    # documents served as they are, malformed on purpose: (last modified ms, document)
    raw_orders: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    raw_returns: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # sku -> when the item was set up (emulator clock); items seeded without it are old listings
    set_up_at: dict[str, float] = field(default_factory=dict)
    # every GET /v3/feeds/{id}: (feed id, includeDetails asked, the feed's status when answered)
    feed_reads: list[tuple[str, bool, str]] = field(default_factory=list)
    # the seller's registered ship nodes beside the default one: id -> SellerFulfilled / WFSFulfilled
    ship_nodes: dict[str, str] = field(default_factory=dict)


# Walmart takes a price for an item no sooner than 24 hours after its setup (prices.yml, bulk price
# update: "no sooner than 24 hours after a new item is set up"), scaled by the time scale
PRICE_AFTER_SETUP_S = 24 * 3600.0


DEFAULT_SHIP_NODE = "default"
DEFAULT_LAG_TIME = 1

# reads Walmart publishes no limit for (the notes' table has none): metered generously, so a test
# or the lookup that reads them is never what throttles the sidecar's own calls
UNPUBLISHED_LIMITS: dict[str, RateLimit] = {"promo_get": Limit(300, 60.0, "GET /v3/promo/sku/{sku}"),
                                            "lagtime_get": Limit(300, 60.0, "GET /v3/lagtime")}

# the Marketplace endpoints that change a seller's account (the simulations and the inspection
# endpoints are the sandbox's and the emulator's own): every request to one is counted on arrival,
# accepted or not, so a test can prove a sidecar sent none (shadow mode)
WRITE_ENDPOINTS = frozenset({"inventory_put", "inventories_put", "price_put", "feed_submit", "order_acknowledge",
                             "order_cancel", "order_shipping", "order_refund", "return_refund"})


def client_rate_limits(time_scale: float) -> dict[str, dict[str, float]]:
    """The ``walmart.rate_limits`` that tell the sidecar's client an emulator runs ``time_scale``
    times faster (what an operator writes for a seller with raised limits)."""
    return {api: {"capacity": limit.capacity, "per_minute": limit.capacity * 60.0 / limit.per_seconds * time_scale}
            for api, limit in WALMART_LIMITS.items()}


class WalmartEmulator:
    def __init__(self, credentials: dict[str, str] | None = None, time_scale: float = 1.0,
                 faults: FaultConfig | None = None, limits: dict[str, RateLimit] | None = None,
                 feed_delays_s: tuple[float, float] = (1.0, 2.0),
                 feed_size_limits: dict[str, int] | None = None,
                 price_after_setup_s: float = PRICE_AFTER_SETUP_S):
        self.credentials = dict(credentials or {"local-client": "local-secret"})
        self.time_scale = time_scale
        self.faults = faults or FaultConfig()
        self._rng = random.Random(self.faults.seed)
        self.limits: dict[str, RateLimit] = dict(WALMART_LIMITS) | dict(UNPUBLISHED_LIMITS) | dict(limits or {})
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (client id, expiry, monotonic)
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._sellers: dict[str, SellerState] = {}
        self._lock = threading.RLock()
        self.clock_offset = 0.0
        self.catalog: dict[str, dict[str, Any]] = {}
        self._catalog_gtins: dict[str, str] = {}  # GTIN-14 -> item id: Walmart's catalogue is keyed by GTIN
        self.feed_delays_s = feed_delays_s
        self.price_after_setup_s = price_after_setup_s  # Walmart's seconds, like every delay here
        self.feed_size_limits = {t: size for t, (_b, size) in FEED_TYPES.items()} | dict(feed_size_limits or {})
        self._po_numbers = itertools.count(1_000_000_001 + random.Random(0).randint(0, 10**6) * 1000)
        self._refund_ids = itertools.count(700_000_001)
        self._return_ids = itertools.count(77_000_001)
        self.writes_received: Counter[str] = Counter()  # write endpoint -> requests that reached it
        self.url_map = Map([
            Rule("/v3/token", endpoint="token", methods=["POST"]),
            Rule("/v3/inventory", endpoint="inventory_get", methods=["GET"]),
            Rule("/v3/inventory", endpoint="inventory_put", methods=["PUT"]),
            Rule("/v3/price", endpoint="price_put", methods=["PUT"]),
            Rule("/v3/promo/sku/<sku>", endpoint="promo_get", methods=["GET"]),
            Rule("/v3/lagtime", endpoint="lagtime_get", methods=["GET"]),
            Rule("/v3/feeds", endpoint="feed_submit", methods=["POST"]),
            Rule("/v3/feeds", endpoint="feeds", methods=["GET"]),
            Rule("/v3/feeds/<feed_id>", endpoint="feed", methods=["GET"]),
            Rule("/v3/inventories/<sku>", endpoint="inventories_get", methods=["GET"]),
            Rule("/v3/inventories/<sku>", endpoint="inventories_put", methods=["PUT"]),
            Rule("/v3/items", endpoint="items", methods=["GET"]),
            Rule("/v3/items/walmart/search", endpoint="walmart_search", methods=["GET"]),
            Rule("/v3/items/catalog/search", endpoint="catalog_search", methods=["POST"]),
            Rule("/v3/items/<item_id>", endpoint="item", methods=["GET"]),
            Rule("/v3/orders", endpoint="orders", methods=["GET"]),
            Rule("/v3/orders/released", endpoint="orders_released", methods=["GET"]),
            Rule("/v3/orders/<po>", endpoint="order", methods=["GET"]),
            Rule("/v3/orders/<po>/acknowledge", endpoint="order_acknowledge", methods=["POST"]),
            Rule("/v3/orders/<po>/cancel", endpoint="order_cancel", methods=["POST"]),
            Rule("/v3/orders/<po>/shipping", endpoint="order_shipping", methods=["POST"]),
            Rule("/v3/orders/<po>/refund", endpoint="order_refund", methods=["POST"]),
            Rule("/v3/returns", endpoint="returns", methods=["GET"]),
            Rule("/v3/returns/<return_id>/refund", endpoint="return_refund", methods=["POST"]),
            Rule("/v1/simulations/orders", endpoint="sim_orders", methods=["POST"]),
            Rule("/v1/simulations/returns", endpoint="sim_returns", methods=["POST"]),
            Rule("/v1/simulations/returns/<return_id>/deliver", endpoint="sim_return_deliver",
                 methods=["POST"]),
            Rule("/v1/simulations/<po>/deliver", endpoint="sim_deliver", methods=["POST"]),
            Rule("/_emulator/state", endpoint="inspect_state", methods=["GET"]),
            Rule("/_emulator/items", endpoint="inspect_seed_items", methods=["POST"]),
            Rule("/_emulator/catalog", endpoint="inspect_seed_catalog", methods=["POST"]),
            Rule("/_emulator/faults", endpoint="inspect_faults", methods=["POST"]),
            Rule("/_emulator/clock", endpoint="inspect_clock", methods=["POST"]),
            Rule("/_emulator/orders/<po>/lines/<line>/cancel", endpoint="inspect_line_cancel", methods=["POST"]),
        ])

    # clock and state -----------------------------------------------------------------------------
    def now(self) -> float:
        return time.monotonic() + self.clock_offset

    def wall_now(self) -> float:
        """Walmart's wall clock (epoch seconds), what promotion dates are judged on: this host's
        time, moved on with the emulator's clock (``/_emulator/clock`` advances it by ``advance_s``
        Walmart seconds: ``advance_s`` x ``time_scale``)."""
        return time.time() + self.clock_offset * self.time_scale

    def apply_pricing(self, state: SellerState, sku: str, body: dict[str, Any]) -> None:
        """A ``Price`` entry (single update or feed item) applied whole, or PromotionRefused."""
        pricing = body.get("pricing")
        if not isinstance(pricing, list) or not all(isinstance(e, dict) for e in pricing):
            raise PromotionRefused("INVALID_REQUEST_CONTENT.GMP_PRICE_API", "pricing must be a list")
        replace_all = str(body.get("replaceAll", "false")).lower() == "true"
        with self._lock:
            item = state.promotions.setdefault(sku, ItemPrices())
            base = item.apply(pricing, replace_all, self.wall_now())
            if base is not None:
                state.prices[sku] = base

    def seed_promotion(self, client_id: str, sku: str, amount: float, starts: float, ends: float,
                       comparison: float | None = None, price_type: str = "REDUCED") -> None:
        """A promotion set up elsewhere (Seller Center), whatever its start: the emulator's own hook."""
        state = self.seller(client_id)
        with self._lock:
            item = state.promotions.setdefault(sku, ItemPrices())
            item.promotions = sorted([*item.promotions, Promotion(f"SC{len(item.promotions)}", price_type, amount,
                                                                   starts, ends, comparison)], key=lambda p: p.starts)

    def shown_price(self, client_id: str, sku: str) -> dict[str, Any]:
        state = self.seller(client_id)
        with self._lock:
            return state.promotions.get(sku, ItemPrices()).shown(state.prices.get(sku), self.wall_now())

    def seller(self, client_id: str) -> SellerState:
        with self._lock:
            return self._sellers.setdefault(client_id, SellerState(client_id))

    def seed_items(self, client_id: str, skus: list[str], set_up_now: bool = False, **fields: Any) -> None:
        """List SKUs for a seller (published, active); ``fields`` apply to each (upc, gtin...).
        Seeded items were set up long ago unless ``set_up_now`` (then no price before 24 h)."""
        state = self.seller(client_id)
        with self._lock:
            for sku in skus:
                if set_up_now:
                    state.set_up_at[sku] = self.now()
                item = state.items.setdefault(sku, {
                    "mart": "WALMART_US", "sku": sku, "condition": "New",
                    "wpid": f"{abs(hash(sku)) % 10**12:012d}", "upc": "", "gtin": "",
                    "productName": sku, "productType": "General", "shelf": "[]",
                    "price": {"currency": "USD", "amount": 10.0},
                    "publishedStatus": "PUBLISHED", "lifecycleStatus": "ACTIVE"})
                item.update(fields)

    def add_ship_node(self, client_id: str, node_id: str, node_type: str = SELLER_FULFILLED) -> None:
        """Register a ship node of the seller (Walmart gives each warehouse a numeric id, e.g.
        "1000005050", and a WFS seller one WFSFulfilled node)."""
        if not re.fullmatch(r"\d{4,20}", node_id):
            raise ValueError(f"Walmart ship node ids are numeric (e.g. 1000005050), not {node_id!r}")
        if node_type not in SHIP_NODE_TYPES:
            raise ValueError(f"node type {node_type!r}")
        with self._lock:
            self.seller(client_id).ship_nodes[node_id] = node_type

    def set_wfs_inventory(self, client_id: str, sku: str, node_id: str, quantity: int) -> None:
        """Walmart's own count of a SKU at its WFS node (Walmart keeps it; sellers cannot write it)."""
        state = self.seller(client_id)
        if state.ship_nodes.get(node_id) != WFS_FULFILLED:
            raise ValueError(f"{node_id} is not a WFS node of {client_id}")
        with self._lock:
            state.inventory[(sku, node_id)] = quantity

    def _writable_node(self, state: SellerState, node: str) -> None:
        if state.ship_nodes.get(node) == WFS_FULFILLED:
            raise WalmartApiError(400, "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API",
                                  f"shipNode {node} is a Walmart Fulfillment Services node: its inventory is "
                                  "Walmart's and cannot be updated by the seller", field="shipNode")

    def apply_ship_by_rule(self, client_id: str, now: int | None = None) -> dict[str, list[str]]:
        """Walmart's auto-cancel of seller-fulfilled lines not shipped by the estimated ship date + 4
        days, as of ``now`` (ms; Walmart's clock when None). Returns PO -> cancelled lines."""
        state = self.seller(client_id)
        at = now_ms() if now is None else now
        with self._lock:
            return {po: lines for po, order in state.orders.items() if (lines := order.auto_cancel_late(at))}

    def unpublish(self, client_id: str, sku: str, reasons: list[str]) -> None:
        """Walmart taking an item off the site, as it does for price parity, content or a policy:
        the item shows UNPUBLISHED with ``unpublishedReasons.reason`` (items.yml, GET /v3/items)."""
        state = self.seller(client_id)
        with self._lock:
            state.items[sku].update(publishedStatus="UNPUBLISHED", unpublishedReasons={"reason": list(reasons)})

    def seed_catalog(self, entries: list[dict[str, Any]]) -> None:
        """Walmart's global catalogue: products any seller can match by UPC/GTIN."""
        with self._lock:
            for entry in entries:
                item_id = str(entry.get("itemId") or len(self.catalog) + 100_000_001)
                self.catalog[item_id] = {"itemId": item_id, "isMarketPlaceItem": True,
                                         "condition": "New", "images": [], **entry}
                if entry.get("gtin"):
                    self._catalog_gtins[str(entry["gtin"]).zfill(14)] = item_id

    def age_items(self, client_id: str, skus: list[str], walmart_seconds: float) -> None:
        """As if ``walmart_seconds`` of Walmart's time had passed since these items were set up."""
        state = self.seller(client_id)
        with self._lock:
            for sku in skus:
                if sku in state.set_up_at:
                    state.set_up_at[sku] -= walmart_seconds / self.time_scale

    def price_refusal(self, state: SellerState, sku: str) -> str | None:
        """Why Walmart refuses a price for ``sku`` now: its setup is less than 24 h old."""
        set_up = state.set_up_at.get(sku)
        if set_up is None:
            return None
        age = (self.now() - set_up) * self.time_scale
        if age >= self.price_after_setup_s:
            return None
        return (f"Price updates are accepted no sooner than 24 hours after an item is set up; item {sku} was set up "
                f"{age / 3600:.1f} hours ago")

    def catalogue_item(self, gtin14: str) -> dict[str, Any] | None:
        with self._lock:
            item_id = self._catalog_gtins.get(gtin14)
            return self.catalog.get(item_id) if item_id else None

    def set_faults(self, **changes: Any) -> None:
        for key, value in changes.items():
            if not hasattr(self.faults, key):
                raise ValueError(f"unknown fault setting {key}")
            setattr(self.faults, key, value)

    def bucket(self, client_id: str, api: str) -> Bucket:
        with self._lock:
            key = (client_id, api)
            if key not in self._buckets:
                self._buckets[key] = Bucket(self.limits[api], clock=self.now, time_scale=self.time_scale)
            return self._buckets[key]

    # WSGI ----------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except WalmartApiError as exc:
            response = Response(json.dumps(exc.body), exc.status, exc.headers,
                                content_type="application/json")
        except NotFound:
            response = _json(error_body("URI_NOT_FOUND", f"no such resource {request.path}"), 404)
        except HTTPException as exc:
            response = _json(error_body("METHOD_NOT_ALLOWED", exc.description or ""), exc.code or 500)
        except _Dropped:
            _drop_connection(environ)
            # wsgiref ignores the broken pipe of writing this to the closed socket; returning
            # without start_response would make it print a traceback instead
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return [b""]
        # Walmart's own time on every answer, as its gateway sends it: clients judge their clock by it
        response.headers["Date"] = format_date_time(now_ms() / 1000)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        endpoint, args = adapter.match()
        if endpoint in WRITE_ENDPOINTS:
            with self._lock:
                self.writes_received[endpoint] += 1
        if endpoint.startswith("inspect_"):
            return getattr(self, endpoint)(request)
        self._require_headers(request, token_call=endpoint == "token")
        if endpoint == "token":
            return self.token(request)
        client_id = self._authenticate(request)
        if endpoint.startswith("sim_"):  # the dynamic sandbox's simulations are not metered
            return getattr(self, endpoint)(request, self.seller(client_id), **args)
        self._inject_faults(client_id)
        self._complete_due_feeds(self.seller(client_id))
        headers = self._meter(client_id, self._bucket_for(endpoint, request))
        response = getattr(self, endpoint)(request, self.seller(client_id), **args)
        response.headers.update(headers)
        self.seller(client_id).calls[endpoint] += 1
        if self.faults.answer_delay_s and request.method in ("POST", "PUT"):
            time.sleep(self.faults.answer_delay_s)
        return response

    def _bucket_for(self, endpoint: str, request: Request) -> str:
        if endpoint == "feed_submit":
            feed_type = request.args.get("feedType", "")
            if feed_type not in FEED_TYPES:
                raise WalmartApiError(400, "INVALID_REQUEST_PARAM.GMP_FEED_API",
                                      f"feedType must be one of {sorted(FEED_TYPES)}", field="feedType")
            return FEED_TYPES[feed_type][0]
        if endpoint in ("feeds", "feed"):
            return "feeds_status"
        if endpoint == "items" and set(request.args) - ITEMS_PAGING_PARAMS:
            return "items_with_filters"  # Walmart: 60/min with query filters
        if endpoint == "item" and request.args:
            return "item_with_query"  # Walmart: item GET 60/min with query params
        return endpoint

    def _require_headers(self, request: Request, token_call: bool) -> None:
        required = ["WM_QOS.CORRELATION_ID", "WM_SVC.NAME"] + ([] if token_call else ["WM_SEC.ACCESS_TOKEN"])
        for name in required:
            if not request.headers.get(name):
                raise WalmartApiError(400, "MISSING_REQUEST_HEADER.GMP_GATEWAY_API",
                                      f"Missing required header {name}", field=name)

    def _authenticate(self, request: Request) -> str:
        token = request.headers["WM_SEC.ACCESS_TOKEN"]
        with self._lock:
            found = self._tokens.get(token)
        if found is None or found[1] <= self.now():
            raise WalmartApiError(401, "UNAUTHORIZED.GMP_GATEWAY_API",
                                  "Unauthorized token or token expired", field="WM_SEC.ACCESS_TOKEN")
        return found[0]

    def _meter(self, client_id: str, api: str) -> dict[str, str]:
        bucket = self.bucket(client_id, api)
        storm = self.faults.storm_429_until > time.monotonic()
        allowed = not storm and bucket.take()
        headers = rate_headers(bucket)
        if not allowed:
            self.seller(client_id).throttled[api] += 1
            if storm:
                headers["x-next-replenishment-time"] = str(
                    int((time.time() + self.faults.storm_429_until - time.monotonic()) * 1000))
            raise WalmartApiError(429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API",
                                  "Too many requests: the API's token bucket is empty",
                                  category="REQUEST", headers=headers)
        return headers

    def _inject_faults(self, client_id: str) -> None:
        faults, state = self.faults, self.seller(client_id)
        if faults.latency_s:
            time.sleep(faults.latency_s)
        roll = self._rng.random()
        if roll < faults.drop_rate:
            state.faults_injected["drop"] += 1
            raise _Dropped()
        roll -= faults.drop_rate
        if roll < faults.timeout_rate:
            state.faults_injected["timeout"] += 1
            time.sleep(faults.timeout_s)
            raise WalmartApiError(504, "DOWNSTREAM_SYSTEM_TIME_OUT", "downstream timed out",
                                  category="SYSTEM")
        roll -= faults.timeout_rate
        if roll < faults.error_rate:
            state.faults_injected["error"] += 1
            status = self._rng.choice([500, 502, 503])
            raise WalmartApiError(status, "SYSTEM_ERROR.GMP_GATEWAY_API", "injected server error",
                                  category="SYSTEM")

    # auth ---------------------------------------------------------------------------------------
    def token(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        client_id = secret = None
        if auth.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                client_id = None
        if not client_id or self.credentials.get(client_id) != secret:
            raise WalmartApiError(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Invalid client credentials",
                                  field="Authorization")
        if request.form.get("grant_type") != "client_credentials":
            raise WalmartApiError(400, "INVALID_REQUEST_PARAM.GMP_GATEWAY_API",
                                  "grant_type must be client_credentials", field="grant_type")
        headers = self._meter(client_id, "token")
        token = "eyJ" + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[token] = (client_id, self.now() + TOKEN_TTL_S / self.time_scale)
        # the life it really has: a token that dies time_scale times sooner than it says made every
        # client take a 401 instead of refreshing on time
        response = _json({"access_token": token, "token_type": "Bearer",
                          "expires_in": max(1, int(TOKEN_TTL_S / self.time_scale))})
        response.headers.update(headers)
        return response

    # inventory and price --------------------------------------------------------------------------
    def _known_sku(self, state: SellerState, sku: str | None, api: str) -> str:
        if not sku:
            raise WalmartApiError(400, f"MISSING_REQUEST_PARAM.{api}", "sku is required", field="sku")
        if sku not in state.items:
            # Walmart reports an item the seller does not have as content not found.
            raise WalmartApiError(404, f"CONTENT_NOT_FOUND.{api}", f"Item not found for sku {sku}",
                                  field="sku", category="APPLICATION", severity="INFO")
        return sku

    def inventory_get(self, request: Request, state: SellerState) -> Response:
        sku = self._known_sku(state, request.args.get("sku"), "GMP_INVENTORY_API")
        node = request.args.get("shipNode") or DEFAULT_SHIP_NODE
        amount = state.inventory.get((sku, node), 0)
        return _json({"sku": sku, "quantity": {"unit": "EACH", "amount": amount}})

    def inventory_put(self, request: Request, state: SellerState) -> Response:
        sku = self._known_sku(state, request.args.get("sku"), "GMP_INVENTORY_API")
        body = _body(request)
        quantity = body.get("quantity") if isinstance(body, dict) else None
        if not isinstance(body, dict) or body.get("sku") != sku or not isinstance(quantity, dict):
            raise WalmartApiError(400, "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API",
                                  "body must be {sku, quantity{unit, amount}} for the sku in the query",
                                  field="sku")
        amount = quantity.get("amount")
        if quantity.get("unit") != "EACH" or not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise WalmartApiError(400, "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API",
                                  "quantity must be {unit: EACH, amount: integer >= 0}",
                                  field="quantity.amount")
        node = request.args.get("shipNode") or DEFAULT_SHIP_NODE
        self._writable_node(state, node)
        with self._lock:
            state.inventory[(sku, node)] = amount
        return _json({"sku": sku, "quantity": {"unit": "EACH", "amount": amount}})

    def price_put(self, request: Request, state: SellerState) -> Response:
        body = _body(request)
        if not isinstance(body, dict):
            raise WalmartApiError(400, "MALFORMED_REQUEST_CONTENT.GMP_PRICE_API", "body is not JSON")
        sku = self._known_sku(state, body.get("sku"), "GMP_PRICE_API")
        pricing = body.get("pricing")
        if not isinstance(pricing, list) or (not pricing and str(body.get("replaceAll")).lower() != "true"):
            raise WalmartApiError(400, "INVALID_REQUEST_CONTENT.GMP_PRICE_API",
                                  "pricing must be a non-empty list", field="pricing")
        for entry in pricing:
            price = entry.get("currentPrice") if isinstance(entry, dict) else None
            amount = price.get("amount") if isinstance(price, dict) else None
            if (entry.get("currentPriceType", "BASE") not in PRICE_TYPES
                    or not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount <= 0
                    or price.get("currency") != "USD"):
                raise WalmartApiError(400, "INVALID_REQUEST_CONTENT.GMP_PRICE_API",
                                      "each pricing needs currentPriceType BASE|REDUCED|CLEARANCE and "
                                      "currentPrice{currency: USD, amount > 0}", field="pricing")
        with self._lock:
            refusal = self.price_refusal(state, sku)
            if refusal:
                raise WalmartApiError(400, "INVALID_REQUEST_CONTENT.GMP_PRICE_API", refusal, field="sku")
            try:
                self.apply_pricing(state, sku, body)
            except PromotionRefused as exc:
                raise WalmartApiError(400, exc.code, exc.description, field=exc.field) from None
        return _json({"ItemPriceResponse": {
            "mart": "WALMART_US", "sku": sku,
            "message": "Thank you. Your price has been updated. Please allow up to five minutes for "
                       "this change to be reflected on the site."}})

    def lagtime_get(self, request: Request, state: SellerState) -> Response:
        """GET /v3/lagtime?sku=: the item's lag time (an item whose lag time was never set has
        Walmart's default, taken here as 1 day)."""
        sku = self._known_sku(state, request.args.get("sku"), "GMP_ITEM_API")
        with self._lock:
            return _json({"sku": sku, "fulfillmentLagTime": state.lag_times.get(sku, DEFAULT_LAG_TIME)})

    def approve_lag_time(self, client_id: str, days: int) -> None:
        """Walmart approving a seller's Lag Time Exception (the emulator's own hook)."""
        with self._lock:
            self.seller(client_id).lag_time_approved = days

    def promo_get(self, request: Request, state: SellerState, sku: str) -> Response:
        """GET /v3/promo/sku/{sku}: the SKU's promotions not ended yet, on Walmart's clock."""
        self._known_sku(state, sku, "GMP_PRICE_API")
        with self._lock:
            live = state.promotions.get(sku, ItemPrices()).live(self.wall_now())
            return _json({"status": "OK", "header": {"headerAttributes": {}}, "payload": {
                "itemIdentifier": {"sku": sku}, "pricingList": {"pricing": [p.to_json() for p in live]}}})

    # feeds ------------------------------------------------------------------------------------------
    def feed_submit(self, request: Request, state: SellerState) -> Response:
        feed_type = request.args["feedType"]
        upload = request.files.get("file")
        raw = upload.read() if upload is not None else request.get_data()
        if len(raw) > self.feed_size_limits[feed_type]:
            raise WalmartApiError(413, "REQUEST_ENTITY_TOO_LARGE.GMP_FEED_API",
                                  f"{feed_type} feed files are limited to {self.feed_size_limits[feed_type]} bytes",
                                  field="file")
        payload = parse_feed_file(raw)
        items = feed_items(feed_type, payload)
        if items is not None and len(items) > MAX_FEED_ITEMS:
            raise WalmartApiError(400, "INVALID_REQUEST_CONTENT.GMP_FEED_API",
                                  f"a feed holds at most {MAX_FEED_ITEMS} items", field="file")
        feed = Feed(new_feed_id(), feed_type, self.now(), now_ms(), payload,
                    request.args.get("shipNode"), items_received=len(items or []))
        with self._lock:
            state.feeds[feed.feed_id] = feed
        return _json({"feedId": feed.feed_id})

    def _complete_due_feeds(self, state: SellerState) -> None:
        first, second = (d / self.time_scale for d in self.feed_delays_s)
        now = self.now()
        with self._lock:
            for feed in state.feeds.values():
                elapsed = now - feed.submitted_at
                if feed.status == "RECEIVED" and elapsed >= first:
                    feed.status = "INPROGRESS"
                if feed.status == "INPROGRESS" and elapsed >= second:
                    process(feed, state.items, self.catalogue_item,
                            set_inventory=lambda sku, node, qty: state.inventory.__setitem__((sku, node), qty),
                            set_price=lambda sku, item: self.apply_pricing(state, sku, item),
                            add_item=lambda sku, fields: self.seed_items(state.client_id, [sku], set_up_now=True,
                                                                         **fields),
                            price_refusal=lambda sku: self.price_refusal(state, sku),
                            node_refusal=lambda node: "a Walmart Fulfillment Services node's inventory is Walmart's"
                            if state.ship_nodes.get(node) == WFS_FULFILLED else None,
                            set_lag_time=lambda sku, days: state.lag_times.__setitem__(sku, days),
                            lag_time_approved=state.lag_time_approved)

    def feeds(self, request: Request, state: SellerState) -> Response:
        offset = int(request.args.get("offset", "0") or 0)
        limit = min(50, max(1, int(request.args.get("limit", "50") or 50)))
        with self._lock:
            selected = [f.summary() for f in sorted(state.feeds.values(), key=lambda f: f.submitted_at, reverse=True)
                        if not request.args.get("feedId") or f.feed_id == request.args["feedId"]]
        return _json({"totalResults": len(selected), "offset": offset, "limit": limit,
                      "results": {"feed": selected[offset:offset + limit]}})

    def feed(self, request: Request, state: SellerState, feed_id: str) -> Response:
        with self._lock:
            found = state.feeds.get(feed_id)
            if found is None:
                raise WalmartApiError(404, "CONTENT_NOT_FOUND.GMP_FEED_API", f"Feed {feed_id} not found",
                                      field="feedId", category="APPLICATION", severity="INFO")
            summary = found.summary()
            offset = int(request.args.get("offset", "0") or 0)
            limit = min(50, max(1, int(request.args.get("limit", "50") or 50)))
            body: dict[str, Any] = {k: summary[k] for k in ("feedId", "feedStatus", "itemsReceived",
                                                             "itemsSucceeded", "itemsFailed", "itemsProcessing")}
            body.update(offset=offset, limit=limit, ingestionErrors={"ingestionError": []})
            if found.file_error:
                body["ingestionErrors"]["ingestionError"].append(
                    {"type": "DATA_ERROR", "code": found.file_error.split(":")[0], "description": found.file_error})
            details = request.args.get("includeDetails", "false").lower() == "true"
            state.feed_reads.append((feed_id, details, found.status))
            if details:
                body["itemDetails"] = {"itemIngestionStatus": [
                    r.to_json() for r in found.results[offset:offset + limit]]}
        gate = self.faults.feed_items_gate
        if details and gate is not None:
            gate.wait(10.0)  # outside the lock: the rest of the emulator answers meanwhile
        return _json(body)

    # multi-node inventory ----------------------------------------------------------------------------
    def inventories_get(self, request: Request, state: SellerState, sku: str) -> Response:
        self._known_sku(state, sku, "GMP_INVENTORY_API")
        wanted = request.args.get("shipNode")
        with self._lock:
            nodes = sorted({node for (s_, node) in state.inventory if s_ == sku} | {DEFAULT_SHIP_NODE})
            body = [{"shipNode": node,
                     "inputQty": {"unit": "EACH", "amount": state.inventory.get((sku, node), 0)},
                     "availToSellQty": {"unit": "EACH", "amount": state.inventory.get((sku, node), 0)},
                     "reservedQty": {"unit": "EACH", "amount": 0}}
                    for node in nodes if wanted in (None, node)]
        return _json({"sku": sku, "nodes": body})

    def inventories_put(self, request: Request, state: SellerState, sku: str) -> Response:
        self._known_sku(state, sku, "GMP_INVENTORY_API")
        body = _body(request)
        try:
            nodes = body["inventories"]["nodes"]
            assert isinstance(nodes, list) and nodes
        except (KeyError, TypeError, AssertionError):
            raise WalmartApiError(400, "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API",
                                  "body must be {inventories: {nodes: [{shipNode, inputQty}]}}",
                                  field="inventories") from None
        results = []
        with self._lock:
            for node in nodes:
                qty = node.get("inputQty") or {}
                amount = qty.get("amount")
                if not node.get("shipNode") or qty.get("unit") != "EACH" or not isinstance(amount, int) or amount < 0:
                    results.append({"shipNode": str(node.get("shipNode")), "status": "Failed", "errors": [
                        {"code": "INVALID_REQUEST_CONTENT", "field": "inputQty",
                         "description": "inputQty must be {unit: EACH, amount: integer >= 0}"}]})
                    continue
                if state.ship_nodes.get(node["shipNode"]) == WFS_FULFILLED:
                    results.append({"shipNode": node["shipNode"], "status": "Failed", "errors": [
                        {"code": "INVALID_REQUEST_CONTENT", "field": "shipNode",
                         "description": "a Walmart Fulfillment Services node's inventory is Walmart's"}]})
                    continue
                state.inventory[(sku, node["shipNode"])] = amount
                results.append({"shipNode": node["shipNode"], "status": "Success"})
        return _json({"sku": sku, "nodes": results})

    # items ---------------------------------------------------------------------------------------------
    def items(self, request: Request, state: SellerState) -> Response:
        args = request.args
        limit = min(200, max(1, int(args.get("limit", "20") or 20)))
        cursor = args.get("nextCursor", "*")
        offset = 0 if cursor in ("", "*") else _decode_cursor(cursor)
        with self._lock:
            selected = [item for sku, item in sorted(state.items.items())
                        if (not args.get("sku") or sku == args["sku"])
                        and (not args.get("publishedStatus") or item["publishedStatus"] == args["publishedStatus"])
                        and (not args.get("lifecycleStatus") or item["lifecycleStatus"] == args["lifecycleStatus"])]
        page = [_item_view(state, item) for item in selected[offset:offset + limit]]
        body: dict[str, Any] = {"ItemResponse": page, "totalItems": len(selected)}
        if offset + limit < len(selected):
            body["nextCursor"] = _encode_cursor(offset + limit)
        return _json(body)

    def item(self, request: Request, state: SellerState, item_id: str) -> Response:
        id_type = request.args.get("productIdType", "SKU").upper()
        field_for = {"SKU": "sku", "GTIN": "gtin", "UPC": "upc", "EAN": "ean", "ISBN": "isbn",
                     "ITEM_ID": "itemId", "WPID": "wpid"}
        if id_type not in field_for:
            raise WalmartApiError(400, "INVALID_REQUEST_PARAM.GMP_ITEM_QUERY_API",
                                  f"productIdType must be one of {sorted(field_for)}", field="productIdType")
        key = field_for[id_type]
        with self._lock:
            found = [i for i in state.items.values() if str(i.get(key, "")) == item_id]
        if not found:
            raise WalmartApiError(404, "CONTENT_NOT_FOUND.GMP_ITEM_QUERY_API",
                                  f"Item not found for {id_type} {item_id}", field="id",
                                  category="APPLICATION", severity="INFO")
        return _json({"ItemResponse": [_item_view(state, item) for item in found[:1]], "totalItems": 1})

    def walmart_search(self, request: Request, state: SellerState) -> Response:
        args = request.args
        query, upc, gtin = args.get("query"), args.get("upc"), args.get("gtin")
        if not (query or upc or gtin):
            raise WalmartApiError(400, "MISSING_REQUEST_PARAM.GMP_ITEM_QUERY_API",
                                  "one of query, upc or gtin is required", field="query")
        if upc and not (upc.isdigit() and len(upc) == 12):
            raise WalmartApiError(400, "INVALID_REQUEST_PARAM.GMP_ITEM_QUERY_API", "upc must be 12 digits",
                                  field="upc")
        if gtin and not (gtin.isdigit() and len(gtin) == 14):
            raise WalmartApiError(400, "INVALID_REQUEST_PARAM.GMP_ITEM_QUERY_API", "gtin must be 14 digits",
                                  field="gtin")
        wanted_gtin = (gtin or (upc.zfill(14) if upc else None))
        with self._lock:
            if wanted_gtin:
                hit = self.catalogue_item(wanted_gtin)
                found = [_search_result(hit)] if hit else []
            else:
                found = [_search_result(entry) for entry in self.catalog.values()
                         if query and query.lower() in str(entry.get("title", "")).lower()]
        return _json({"items": found[:20]})

    def catalog_search(self, request: Request, state: SellerState) -> Response:
        body = _body(request) or {}
        query = body.get("query") or {}
        filters = [f for f in body.get("filters") or [] if f.get("op") == "equals"
                   and f.get("field") in ("lifecycleStatus", "publishedStatus")]
        limit = min(200, max(1, int(request.args.get("limit", "100") or 100)))
        with self._lock:
            selected = [item for sku, item in sorted(state.items.items())
                        if (not query or str(item.get(query.get("field", ""), "")) == str(query.get("value")))
                        and all(str(item.get(f["field"])) in [str(v) for v in f.get("values", [])] for f in filters)]
        offset = _decode_cursor(request.args["nextCursor"]) if request.args.get("nextCursor") else 0
        page = selected[offset:offset + limit]
        payload = [{"sku": i["sku"], "wpid": i["wpid"], "upc": i.get("upc", ""), "gtin": i.get("gtin", ""),
                    "itemId": i.get("itemId", ""), "productName": i["productName"], "mart": i["mart"],
                    "price": {"amount": i["price"]["amount"], "unit": "USD"},
                    "publishedStatus": {"status": i["publishedStatus"],
                                        "reasons": (i.get("unpublishedReasons") or {}).get("reason", [])},
                    "lifecycleStatus": i["lifecycleStatus"], "condition": i.get("condition", "New")}
                   for i in (_item_view(state, item) for item in page)]
        result: dict[str, Any] = {"status": "OK", "payload": payload, "totalItems": len(selected), "limit": limit}
        if offset + limit < len(selected):
            result["nextCursor"] = _encode_cursor(offset + limit)
        return _json(result)

    # orders ---------------------------------------------------------------------------------------
    def _order(self, state: SellerState, po: str) -> Order:
        order = state.orders.get(po)
        if order is None:
            raise WalmartApiError(404, "CONTENT_NOT_FOUND.GMP_ORDER_API",
                                  f"Failed when called getAnOrder. Order not found for PO {po}",
                                  field="purchaseOrderId", category="APPLICATION", severity="INFO",
                                  wrapped=True)
        return order

    def _list_orders(self, request: Request, state: SellerState, released: bool) -> Response:
        args = request.args
        try:
            limit = int(args.get("limit", "100"))
        except ValueError:
            limit = -1
        if not 1 <= limit <= 200:
            raise WalmartApiError(400, "INVALID_REQUEST_PARAM.GMP_ORDER_API",
                                  "limit must be between 1 and 200", field="limit", wrapped=True)
        bounds = {name: _parse_order_date(args.get(name), name) for name in
                  ("createdStartDate", "createdEndDate", "lastModifiedStartDate", "lastModifiedEndDate")}
        # the Orders spec: createdStartDate "Default is current date - 7 days", whatever else is given;
        # and GET /v3/orders reaches back 180 days at most (the notes)
        if bounds["createdStartDate"] is None:
            bounds["createdStartDate"] = now_ms() - 7 * 86_400_000
        bounds["createdStartDate"] = max(bounds["createdStartDate"], now_ms() - 180 * 86_400_000)
        status = None if released else args.get("status")
        # GET /v3/orders lists seller-fulfilled orders unless shipNodeType says otherwise: WFS orders
        # are invisible to a poller that does not ask for them (the orders spec, shipNodeType)
        node_type = args.get("shipNodeType") or SELLER_FULFILLED
        if node_type not in SHIP_NODE_TYPES:
            raise WalmartApiError(400, "INVALID_REQUEST_PARAM.GMP_ORDER_API",
                                  f"shipNodeType must be one of {', '.join(SHIP_NODE_TYPES)}", field="shipNodeType",
                                  wrapped=True)
        selected = []
        with self._lock:
            for order in sorted(state.orders.values(), key=lambda o: (o.order_date, o.purchase_order_id)):
                if order.fulfilled_by != node_type:
                    continue
                if released and not order.has_status("Created"):
                    continue
                if status and not order.has_status(status):
                    continue
                if args.get("purchaseOrderId") and order.purchase_order_id != args["purchaseOrderId"]:
                    continue
                if args.get("customerOrderId") and order.customer_order_id != args["customerOrderId"]:
                    continue
                if args.get("sku") and all(line.sku != args["sku"] for line in order.lines):
                    continue
                if not _within(order.order_date, bounds["createdStartDate"], bounds["createdEndDate"]):
                    continue
                if not _within(order.last_modified, bounds["lastModifiedStartDate"],
                               bounds["lastModifiedEndDate"]):
                    continue
                selected.append(order.to_json())
            if not released and not status and node_type == SELLER_FULFILLED:
                selected += [doc for modified, doc in state.raw_orders
                             if _within(modified, bounds["lastModifiedStartDate"], bounds["lastModifiedEndDate"])]
        if not selected:
            raise WalmartApiError(404, "CONTENT_NOT_FOUND.GMP_ORDER_API",
                                  "Failed when called getAllOrders. Orders not found for given search "
                                  "parameters", field="data", category="APPLICATION", severity="INFO",
                                  wrapped=True)
        offset = int(args.get("soIndex", "0") or 0)
        page = selected[offset:offset + limit]
        meta: dict[str, Any] = {"totalCount": len(selected), "limit": limit}
        if offset + limit < len(selected):
            cursor = {k: v for k, v in args.items() if k not in ("soIndex", "poIndex", "hasMoreElements")}
            cursor.update(hasMoreElements="true", soIndex=str(offset + limit), poIndex=str(offset + limit),
                          partnerId="100009", sellerId="8")
            meta["nextCursor"] = "?" + urlencode(cursor)
        return _json({"list": {"meta": meta, "elements": {"order": page}}})

    def orders(self, request: Request, state: SellerState) -> Response:
        return self._list_orders(request, state, released=False)

    def orders_released(self, request: Request, state: SellerState) -> Response:
        return self._list_orders(request, state, released=True)

    def order(self, request: Request, state: SellerState, po: str) -> Response:
        with self._lock:
            return _json({"order": self._order(state, po).to_json()})

    def _order_action(self, state: SellerState, po: str, action: Any) -> Response:
        with self._lock:
            order = self._order(state, po)
            try:
                action(order)
            except OrderError as exc:
                raise WalmartApiError(exc.status, exc.code, exc.description, field=exc.field,
                                      wrapped=True) from None
            return _json({"order": order.to_json()})

    def order_acknowledge(self, request: Request, state: SellerState, po: str) -> Response:
        return self._order_action(state, po, lambda order: order.acknowledge())

    def order_cancel(self, request: Request, state: SellerState, po: str) -> Response:
        lines = _order_lines(_body(request), "orderCancellation")
        return self._order_action(state, po, lambda order: order.cancel(lines))

    def order_shipping(self, request: Request, state: SellerState, po: str) -> Response:
        lines = _order_lines(_body(request), "orderShipment")
        return self._order_action(state, po, lambda order: order.ship(lines))

    def order_refund(self, request: Request, state: SellerState, po: str) -> Response:
        lines = _order_lines(_body(request), "orderRefund")
        return self._order_action(state, po, lambda order: order.refund(lines, self._refund_ids))

    # simulations (Walmart's dynamic sandbox) --------------------------------------------------------
    def create_order(self, client_id: str, lines: list[dict[str, Any]], method_code: str = "Standard",
                     intent_to_cancel: tuple[str, ...] = (), ship_node: str | None = None,
                     fulfilled_by: str = SELLER_FULFILLED) -> Order:
        """A new Walmart order in Created, as a shopper's checkout makes one. ``ship_node``: the node
        Walmart assigned it to (a registered one; the seller's default otherwise); a line may carry
        its own ``methodCode``. A WFS order's node is the seller's WFS node."""
        state = self.seller(client_id)
        if method_code not in METHOD_CODES or any(l.get("methodCode", method_code) not in METHOD_CODES for l in lines):
            raise WalmartApiError(400, "INVALID_REQUEST_CONTENT", f"unknown ship method in {method_code}/{lines}",
                                  field="methodCode")
        if fulfilled_by not in SHIP_NODE_TYPES:
            raise WalmartApiError(400, "INVALID_REQUEST_CONTENT", f"unknown shipNode type {fulfilled_by}",
                                  field="shipNode.type")
        node = ship_node or next((n for n, t in state.ship_nodes.items() if t == fulfilled_by and
                                  fulfilled_by == WFS_FULFILLED), DEFAULT_SHIP_NODE)
        if node != DEFAULT_SHIP_NODE and state.ship_nodes.get(node) not in (None, fulfilled_by):
            raise WalmartApiError(400, "INVALID_REQUEST_CONTENT", f"ship node {node} is a "
                                  f"{state.ship_nodes.get(node)} node, not {fulfilled_by}", field="shipNode")
        with self._lock:
            number = next(self._po_numbers)
            created = now_ms()
            order_lines = []
            for index, line in enumerate(lines, start=1):
                if line["sku"] not in state.items:
                    raise WalmartApiError(400, "INVALID_REQUEST_CONTENT", f"unknown sku {line['sku']}",
                                          field="sku")
                quantity = int(line.get("quantity", 1))
                price = float(line.get("unitPrice", 10.0))
                order_lines.append(OrderLine(
                    number=str(index), sku=line["sku"], product_name=line.get("productName", line["sku"]),
                    quantity=quantity, unit_price=price, tax=round(price * quantity * 0.08, 2),
                    statuses=[LineStatus("Created", quantity)], status_date=created,
                    intent_to_cancel=str(index) in intent_to_cancel,
                    shipping=round(float(line.get("shippingPrice", 0.0)), 2),
                    method_code=line.get("methodCode")))
            order = Order(purchase_order_id=str(number), customer_order_id=str(number + 1_000_000_000),
                          order_date=created, last_modified=created, lines=order_lines,
                          method_code=method_code, ship_node=node, fulfilled_by=fulfilled_by)
            state.orders[order.purchase_order_id] = order
        return order

    def sim_orders(self, request: Request, state: SellerState) -> Response:
        body = _body(request) or {}
        order = self.create_order(state.client_id, body.get("orderLines", []), body.get("methodCode", "Standard"),
                                  tuple(str(n) for n in body.get("intentToCancelLines", [])),
                                  body.get("shipNode"), body.get("shipNodeType", SELLER_FULFILLED))
        return _json({"purchaseOrderId": order.purchase_order_id,
                      "customerOrderId": order.customer_order_id}, 201)

    def sim_deliver(self, request: Request, state: SellerState, po: str) -> Response:
        with self._lock:
            order = self._order(state, po)
            order.deliver()
            return _json({"order": order.to_json()})

    # returns ------------------------------------------------------------------------------------------
    def returns(self, request: Request, state: SellerState) -> Response:
        args = request.args
        try:
            limit = int(args.get("limit", "10"))
        except ValueError:
            limit = -1
        if not 1 <= limit <= 200:
            raise WalmartApiError(400, "INVALID_REQUEST_PARAM.GMP_RETURNS_API",
                                  "limit must be between 1 and 200", field="limit")
        bounds = {name: args.get(name) for name in ("returnCreationStartDate", "returnCreationEndDate",
                                                     "returnLastModifiedStartDate",
                                                     "returnLastModifiedEndDate")}
        with self._lock:
            selected = [r.to_json() for r in sorted(state.returns.values(), key=lambda r: (r.created, r.return_order_id))
                        if (not args.get("returnOrderId") or r.return_order_id == args["returnOrderId"])
                        and (not args.get("customerOrderId") or r.customer_order_id == args["customerOrderId"])
                        and (not args.get("status") or r.status == args["status"])
                        and (not args.get("returnType") or args["returnType"] == "REFUND")
                        and _iso_within(r.created, bounds["returnCreationStartDate"], bounds["returnCreationEndDate"])
                        and _iso_within(r.last_modified, bounds["returnLastModifiedStartDate"],
                                        bounds["returnLastModifiedEndDate"])]
            selected += [doc for modified, doc in state.raw_returns
                         if _iso_within(modified, bounds["returnLastModifiedStartDate"],
                                        bounds["returnLastModifiedEndDate"])]
        offset = int(args.get("offset", "0") or 0)
        page = selected[offset:offset + limit]
        cursor = ""
        if offset + limit < len(selected):
            params = {k: v for k, v in args.items() if k != "offset"}
            params.update(sellerId="151", limit=str(limit), offset=str(offset + limit))
            cursor = "?" + urlencode(params)
        return _json({"meta": {"totalCount": len(selected), "limit": limit, "nextCursor": cursor},
                      "returnOrders": page})

    def return_refund(self, request: Request, state: SellerState, return_id: str) -> Response:
        body = _body(request)
        if not isinstance(body, dict) or not isinstance(body.get("refundLines"), list) or not body["refundLines"]:
            raise WalmartApiError(400, "INVALID_REQUEST_CONTENT.GMP_RETURNS_API",
                                  "body must be {customerOrderId, refundLines: [...]}", field="refundLines")
        with self._lock:
            found = state.returns.get(return_id)
            if found is None:
                raise WalmartApiError(404, "CONTENT_NOT_FOUND.GMP_RETURNS_API",
                                      f"Return order {return_id} not found", field="returnOrderId",
                                      category="APPLICATION", severity="INFO")
            try:
                found.refund(str(body.get("customerOrderId")), body["refundLines"])
            except OrderError as exc:
                raise WalmartApiError(exc.status, "INVALID_REQUEST_CONTENT.GMP_RETURNS_API",
                                      exc.description, field=exc.field) from None
        return _json({"returnOrderId": return_id, "customerOrderId": found.customer_order_id,
                      "refundLines": body["refundLines"]})

    def create_return(self, client_id: str, purchase_order_id: str, lines: list[dict[str, Any]]) -> ReturnOrder:
        state = self.seller(client_id)
        with self._lock:
            order = self._order(state, purchase_order_id)
            try:
                created = create_return(str(next(self._return_ids)), order, lines)
            except OrderError as exc:
                raise WalmartApiError(400, "INVALID_REQUEST_CONTENT", exc.description, field=exc.field) from None
            state.returns[created.return_order_id] = created
        return created

    def sim_returns(self, request: Request, state: SellerState) -> Response:
        body = _body(request) or {}
        created = self.create_return(state.client_id, str(body.get("purchaseOrderId")), body.get("lines", []))
        return _json({"returnOrderId": created.return_order_id,
                      "customerOrderId": created.customer_order_id}, 201)

    def sim_return_deliver(self, request: Request, state: SellerState, return_id: str) -> Response:
        with self._lock:
            found = state.returns.get(return_id)
            if found is None:
                raise WalmartApiError(404, "CONTENT_NOT_FOUND.GMP_RETURNS_API", f"Return order {return_id} not found")
            found.deliver()
            return _json(found.to_json())

    # inspection (tests and the demo only) ---------------------------------------------------------
    def inspect_state(self, request: Request) -> Response:
        client_id = request.args.get("client_id") or next(iter(self.credentials))
        state = self.seller(client_id)
        self._complete_due_feeds(state)
        with self._lock:
            return _json({
                "items": sorted(state.items),
                "inventory": {f"{sku}@{node}": amount for (sku, node), amount in state.inventory.items()},
                "prices": state.prices, "calls": dict(state.calls), "writes_received": dict(self.writes_received),
                "promotions": {sku: [p.to_json() for p in item.live(self.wall_now())]
                               for sku, item in state.promotions.items() if item.live(self.wall_now())},
                "shown_prices": {sku: self.shown_price(client_id, sku) for sku in state.prices},
                "lag_times": dict(state.lag_times),
                "throttled": dict(state.throttled), "faults_injected": dict(state.faults_injected),
                "orders": {po: {line.number: {status: line.quantity_in(status)
                                              for status in dict.fromkeys(st.status for st in line.statuses)}
                                for line in order.lines} for po, order in state.orders.items()},
                "returns": {rid: r.status for rid, r in state.returns.items()},
                "feeds": {fid: f.status for fid, f in state.feeds.items()},
            })

    def inspect_seed_items(self, request: Request) -> Response:
        body = _body(request) or {}
        self.seed_items(body.get("client_id") or next(iter(self.credentials)), list(body.get("skus", [])))
        return _json({"ok": True})

    def inspect_seed_catalog(self, request: Request) -> Response:
        self.seed_catalog(list((_body(request) or {}).get("items", [])))
        return _json({"ok": True, "catalog": len(self.catalog)})

    def inspect_faults(self, request: Request) -> Response:
        body = dict(_body(request) or {})
        if "storm_429_s" in body:
            body["storm_429_until"] = time.monotonic() + float(body.pop("storm_429_s"))
        try:
            self.set_faults(**body)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"ok": True})

    def serve_raw(self, client_id: str, orders: list[dict[str, Any]] = (), returns: list[dict[str, Any]] = ()
                  ) -> None:
        """Serve documents in the orders and returns listings exactly as given (the emulator's hook
        for the bad-input suite: Walmart's own data is never malformed on purpose)."""
        from devstack.walmart_emulator.returns import iso_now

        state = self.seller(client_id)
        with self._lock:
            state.raw_orders += [(now_ms(), dict(doc)) for doc in orders]
            state.raw_returns += [(iso_now(), dict(doc)) for doc in returns]

    def customer_cancel(self, client_id: str, po: str, line: str) -> str:
        """A shopper cancelling a line on walmart.com (the emulator's own hook, not a Walmart API):
        cancelled at once before acknowledgement, an intent to cancel after."""
        return self._line_change(client_id, po, lambda order: order.customer_cancel(line))

    def walmart_cancel(self, client_id: str, po: str, line: str, reason: str = "AUTO_CANCEL") -> None:
        """Walmart cancelling a line on its own (the emulator's own hook, not a Walmart API)."""
        self._line_change(client_id, po, lambda order: order.walmart_cancel(line, reason))

    def _line_change(self, client_id: str, po: str, change: Any) -> Any:
        with self._lock:
            order = self._order(self.seller(client_id), po)
            try:
                return change(order)
            except OrderError as exc:
                raise WalmartApiError(exc.status, exc.code, exc.description, field=exc.field) from None

    def inspect_line_cancel(self, request: Request, po: str, line: str) -> Response:
        """POST /_emulator/orders/{po}/lines/{n}/cancel?by=customer|walmart"""
        client_id = request.args.get("client_id") or next(iter(self.credentials))
        if request.args.get("by", "customer") == "walmart":
            self.walmart_cancel(client_id, po, line, request.args.get("reason", "AUTO_CANCEL"))
            return _json({"outcome": "cancelled"})
        return _json({"outcome": self.customer_cancel(client_id, po, line)})

    def inspect_clock(self, request: Request) -> Response:
        body = _body(request) or {}
        self.clock_offset += float(body.get("advance_s", 0))
        return _json({"offset_s": self.clock_offset})


class _Dropped(Exception):
    pass


def _drop_connection(environ: dict[str, Any]) -> None:
    sock = environ.get("emulator.socket")
    if isinstance(sock, socket.socket):
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _parse_order_date(value: str | None, name: str) -> int | None:
    """yyyy-MM-dd or yyyy-MM-ddTHH:mm:ssZ; Walmart refuses milliseconds."""
    if not value:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt).replace(tzinfo=UTC)
            return int(parsed.timestamp() * 1000)
        except ValueError:
            continue
    raise WalmartApiError(400, "INVALID_REQUEST.GMP_ORDER_API", f"Invalid Date format value for {name}",
                          field=name, wrapped=True)


def _iso_instant(value: str, name: str, end: bool = False) -> datetime:
    """The returns API's date filters: 2013-08-16, 2013-08-16T10:30:15Z or 2020-04-17T10:42:41.000+0000."""
    text = value.strip().replace(" ", "+")  # an unencoded '+' arrives as a space
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ",
                "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        if fmt == "%Y-%m-%d" and end:  # a date-only end bound covers the whole day
            parsed = parsed.replace(hour=23, minute=59, second=59, microsecond=999999)
        return parsed
    raise WalmartApiError(400, "INVALID_REQUEST_PARAM.GMP_RETURNS_API", f"Invalid date format for {name}",
                          field=name)


def _iso_within(value: str, start: str | None, end: str | None, name: str = "date") -> bool:
    """Returns filter on ISO-8601 dates."""
    instant = _iso_instant(value, name)
    return ((start is None or instant >= _iso_instant(start, name))
            and (end is None or instant <= _iso_instant(end, name, end=True)))


def _within(value: int, start: int | None, end: int | None) -> bool:
    return (start is None or value >= start) and (end is None or value <= end)


def _order_lines(body: Any, root: str) -> list[dict[str, Any]]:
    try:
        lines = body[root]["orderLines"]["orderLine"]
    except (KeyError, TypeError):
        raise WalmartApiError(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                              f"body must be {{{root}: {{orderLines: {{orderLine: [...]}}}}}}",
                              field=root, wrapped=True) from None
    if not isinstance(lines, list) or not lines:
        raise WalmartApiError(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", "orderLine must be a "
                              "non-empty list", field="orderLine", wrapped=True)
    return lines


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("offset:"))
    except (ValueError, UnicodeDecodeError):
        raise WalmartApiError(400, "INVALID_REQUEST_PARAM", "nextCursor is not valid",
                              field="nextCursor") from None


def _item_view(state: SellerState, item: dict[str, Any]) -> dict[str, Any]:
    """An item as the Items API shows it: with the price the last price update set (the Price API
    changes what GET /v3/items reports, as on Walmart once the update is applied)."""
    pricing = state.prices.get(item["sku"])
    price = pricing.get("currentPrice") if isinstance(pricing, dict) else None
    if isinstance(price, dict) and "amount" in price:
        return {**item, "price": {"currency": price.get("currency", "USD"), "amount": price["amount"]}}
    return dict(item)


def _search_result(entry: dict[str, Any]) -> dict[str, Any]:
    """A global catalogue entry as GET /v3/items/walmart/search shows it (price amount a string)."""
    out = {k: v for k, v in entry.items() if k in ("itemId", "title", "brand", "condition",
                                                   "isMarketPlaceItem", "images", "productType")}
    out["properties"] = {"upc": entry.get("upc", ""), "gtin": entry.get("gtin", "")}
    if "price" in entry:
        out["price"] = {"amount": str(entry["price"]), "currency": "USD"}
    return out


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


def _body(request: Request) -> Any:
    try:
        return json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise WalmartApiError(400, "MALFORMED_REQUEST_CONTENT", "request body is not valid JSON") from None
