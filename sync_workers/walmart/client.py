"""A typed Walmart Marketplace client that is gentle with rate limits and honest about failures.

One ``requests.Session`` (pooled), one cached OAuth token (refreshed a minute before its 900 s
expiry, and once on a 401), a fresh ``WM_QOS.CORRELATION_ID`` per request (logged with the
outcome, so support can quote it to Walmart). Each API has a token bucket: a request waits for
a token instead of being sent into a known-empty bucket; a 429 pauses that API until Walmart's
replenish time (plus jitter) and is retried without counting as a failure. 5xx, timeouts and
dropped connections are retried with exponential backoff and jitter when the call is safe to
repeat; everything else surfaces as a typed error. The base URL comes from settings, so the same
code talks to production, the sandbox or the emulator.
"""

from __future__ import annotations

import base64
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote

import requests
from pydantic import BaseModel

from config.settings import WalmartSettings
from domain.shadow import WouldSend
from plumbing.logs import get_logger
from plumbing.metrics import METRICS
from plumbing.retry import backoff_delay
from sync_workers.walmart.errors import (
    WalmartAuthError,
    WalmartClientError,
    WalmartError,
    WalmartNotFound,
    WalmartServerError,
    WalmartWritesOff,
    parse_error_body,
)
from sync_workers.walmart.feeds import FeedsApi
from sync_workers.walmart.items import ItemsApi
from sync_workers.walmart.limits import PUBLISHED_LIMITS, Limit, TokenBucket
from sync_workers.walmart.orders import OrdersApi
from sync_workers.walmart.returns import ReturnsApi
from sync_workers.walmart.shadow import ChangeTimes, describe_write, is_write

TOKEN_REFRESH_MARGIN_S = 60.0
MAX_THROTTLED_RETRIES = 100
SKEW_TOLERANCE_S = 2.0  # Walmart's Date header has whole seconds: a smaller skew is not told from none


class Money(BaseModel):
    currency: Literal["USD"] = "USD"
    amount: float


class Quantity(BaseModel):
    unit: Literal["EACH"] = "EACH"
    amount: int


class Inventory(BaseModel):
    sku: str
    quantity: Quantity


class Pricing(BaseModel):
    currentPriceType: Literal["BASE", "REDUCED", "CLEARANCE"] = "BASE"
    currentPrice: Money


class PriceUpdate(BaseModel):
    sku: str
    pricing: list[Pricing]


class PriceResponse(BaseModel):
    mart: str | None = None
    sku: str | None = None
    message: str | None = None


def seconds_until(header: str | None, now_epoch_s: float) -> float | None:
    """``x-next-replenishment-time``: epoch-ms (documented), epoch-s or ISO-8601 (seen)."""
    if not header:
        return None
    value = header.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            return max(0.0, datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() - now_epoch_s)
        except ValueError:
            return None
    if number > 1e11:
        number /= 1000.0
    if number > 1e9:
        return max(0.0, number - now_epoch_s)
    return max(0.0, number)


def _outcome(status: int) -> str:
    if status == 429:
        return "throttled"
    return "ok" if status < 400 else "client_error" if status < 500 else "server_error"


class WalmartClient:
    def __init__(self, settings: WalmartSettings, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, max_attempts: int = 5,
                 backoff_base_s: float = 0.2, backoff_cap_s: float = 30.0,
                 rng: random.Random | None = None):
        self.settings = settings
        self.base_url = settings.effective_base_url
        self.session = session or requests.Session()
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.rng = rng or random.Random()
        self.clock_skew_s = 0.0  # Walmart's clock minus this host's (from Date headers)
        self.log = get_logger("walmart_client")
        limits = dict(PUBLISHED_LIMITS)
        for api, override in settings.rate_limits.items():
            limits[api] = Limit(override.capacity, override.capacity / override.per_minute * 60)
        self.buckets = {api: TokenBucket(limit) for api, limit in limits.items()}
        self._token: tuple[str, float] | None = None
        self.orders = OrdersApi(self)
        self.returns = ReturnsApi(self)
        self.items = ItemsApi(self)
        self.feeds = FeedsApi(self)
        self._token_lock = threading.Lock()
        self.stats = {"requests": 0, "throttled": 0, "retried": 0, "token_fetches": 0, "unauthorized": 0,
                      "writes_withheld": 0}
        # shadow mode: writes are withheld here, recorded through the sink (the state store's
        # walmart_shadow_writes, wired by the component registry); without one they are only logged
        self.shadow = settings.mode == "shadow"
        self.shadow_sink: Callable[[list[WouldSend]], None] | None = None
        self.change_times = ChangeTimes()

    # auth --------------------------------------------------------------------------------------
    def _fetch_token(self) -> tuple[str, float]:
        secret = self.settings.client_secret.get_secret_value()
        basic = base64.b64encode(f"{self.settings.client_id}:{secret}".encode()).decode()
        self.stats["token_fetches"] += 1
        response = self._send("token", "POST", "/v3/token", data={"grant_type": "client_credentials"},
                              auth_header={"Authorization": f"Basic {basic}"}, idempotent=True)
        body = response.json()
        life = float(body.get("expires_in", 900))
        # refreshed a minute before it expires (a tenth of its life, for a short-lived one)
        return body["access_token"], time.monotonic() + life - min(TOKEN_REFRESH_MARGIN_S, life / 10)

    def access_token(self, force: bool = False) -> str:
        with self._token_lock:
            if force or self._token is None or self._token[1] <= time.monotonic():
                self._token = self._fetch_token()
            return self._token[0]

    # transport ---------------------------------------------------------------------------------
    def _headers(self, correlation_id: str) -> dict[str, str]:
        headers = {"WM_QOS.CORRELATION_ID": correlation_id, "WM_SVC.NAME": self.settings.service_name,
                   "Accept": "application/json"}
        if self.settings.channel_type:
            headers["WM_CONSUMER.CHANNEL.TYPE"] = self.settings.channel_type
        return headers

    def _backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self.backoff_base_s, self.backoff_cap_s, self.rng)

    def _send(self, api: str, method: str, path: str, *, params: dict[str, Any] | None = None,
              json: Any = None, data: Any = None, files: Any = None,
              auth_header: dict[str, str] | None = None, idempotent: bool = True) -> requests.Response:
        bucket = self.buckets[api]
        if self.shadow and is_write(api, method):
            self._withhold(bucket, api, method, path, params, json, files)
        attempt = throttled = 0
        refreshed = False
        # one id for the logical call, its retries included: Walmart's support traces a call by it
        correlation_id = str(uuid.uuid4())
        while True:
            while not bucket.try_take():  # threads share the bucket: only a token taken counts
                wait = max(bucket.wait_s(), 0.001)
                METRICS.walmart_throttled_seconds.labels(api, "bucket_wait").inc(wait)
                self.sleep(wait)
            headers = self._headers(correlation_id)
            if auth_header is not None:
                headers.update(auth_header)
            else:
                headers["WM_SEC.ACCESS_TOKEN"] = self.access_token()
            started = time.monotonic()
            self.stats["requests"] += 1
            try:
                # never follow a redirect: it would resend the body and the access token to whatever
                # host the Location names, and a redirected answer is not Walmart's
                response = self.session.request(
                    method, self.base_url + path, params=params, json=json, data=data, files=files,
                    headers=headers, timeout=self.settings.request_timeout_s, allow_redirects=False)
            except (requests.Timeout, requests.ConnectionError) as exc:
                bucket.answered()
                METRICS.walmart_requests.labels(api, "network_error").inc()
                self.log.warning("walmart request failed", api=api, correlation_id=correlation_id,
                                 error=type(exc).__name__, attempt=attempt)
                if idempotent and attempt + 1 < self.max_attempts:
                    self.stats["retried"] += 1
                    self.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise WalmartServerError(f"{method} {path}: {type(exc).__name__}",
                                         correlation_id=correlation_id) from exc
            self._observe_clock(response, started)  # first: the replenishment time is in Walmart's clock
            self._observe_limits(bucket, response)
            bucket.answered()
            status = response.status_code
            METRICS.walmart_seconds.labels(api).observe(time.monotonic() - started)
            METRICS.walmart_requests.labels(api, _outcome(status)).inc()
            METRICS.walmart_tokens.labels(api).set(bucket.tokens())
            self.log.debug("walmart request", api=api, method=method, path=path, status=status,
                           correlation_id=correlation_id,
                           ms=round((time.monotonic() - started) * 1000, 1))
            if 300 <= status < 400:
                raise WalmartServerError(f"{method} {path}: redirected to {response.headers.get('Location')!r}, "
                                         "not followed", status, correlation_id=correlation_id)
            if status < 400:
                if _readable(response):
                    return response
                # a 200 whose JSON body was cut short: nothing can be read from it, so it is retried
                # like a dropped connection (or surfaces as a server error), never a crash
                if idempotent and attempt + 1 < self.max_attempts:
                    self.stats["retried"] += 1
                    self.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise WalmartServerError(f"{method} {path}: the response body is not valid JSON", status,
                                         correlation_id=correlation_id)
            body = _json_or_none(response)
            details = parse_error_body(body)
            if status == 429:
                throttled += 1
                self.stats["throttled"] += 1
                pause = seconds_until(_replenish_at(response), self._walmart_epoch_s())
                pause = min(pause if pause is not None else 1.0, self.settings.max_throttle_pause_s)
                pause += self.rng.uniform(0, 0.25)
                bucket.empty_until(pause)
                METRICS.walmart_throttled_seconds.labels(api, "throttled").inc(pause)
                self.log.info("walmart throttled; pausing this API", api=api, pause_s=round(pause, 3),
                              correlation_id=correlation_id)
                if throttled > MAX_THROTTLED_RETRIES:
                    raise WalmartServerError(f"{method} {path}: still throttled", 429, details, correlation_id)
                continue
            if status == 401 and auth_header is None and not refreshed:
                refreshed = True
                self.stats["unauthorized"] += 1
                self.access_token(force=True)
                continue
            if status >= 500:
                if idempotent and attempt + 1 < self.max_attempts:
                    self.stats["retried"] += 1
                    self.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise WalmartServerError(f"{method} {path}", status, details, correlation_id)
            if status in (401, 403):
                raise WalmartAuthError(f"{method} {path}", status, details, correlation_id)
            if status == 404:
                raise WalmartNotFound(f"{method} {path}", status, details, correlation_id)
            raise WalmartClientError(f"{method} {path}", status, details, correlation_id)

    def _withhold(self, bucket: TokenBucket, api: str, method: str, path: str, params: dict[str, Any] | None,
                  json: Any, files: Any) -> None:
        """Shadow mode: the write is not sent. Its token is still taken, as live would take it (the
        worker paces itself, and chooses singles or a feed, by the bucket), so the time it would
        have gone out is the time a live sidecar would have sent it; then it is recorded and refused."""
        while not bucket.try_take():
            self.sleep(max(bucket.wait_s(), 0.001))
        bucket.answered()
        now = time.time()
        entries = [self.change_times.take(replace(entry, would_send_at=now))
                   for entry in describe_write(api, method, path, params=params, json_body=json, files=files)]
        self.stats["writes_withheld"] += 1
        METRICS.walmart_requests.labels(api, "withheld").inc()
        self.log.info("shadow mode: Walmart write withheld", api=api, method=method, path=path,
                      entries=len(entries), first=entries[0].key if entries else None)
        if self.shadow_sink is not None:
            self.shadow_sink(entries)
        raise WalmartWritesOff(f"{method} {path}: not sent, walmart.mode is shadow")

    def _observe_clock(self, response: requests.Response, sent_monotonic: float) -> None:
        """Walmart's clock from its Date header (second resolution): the pollers' watermarks are in
        Walmart's time, and a skew is reported."""
        header = response.headers.get("Date")
        if not header:
            return
        try:
            server = parsedate_to_datetime(header).timestamp()
        except (TypeError, ValueError):
            return
        # the answer was dated between sending and now; the Date is rounded down to the second
        local = time.time() - (time.monotonic() - sent_monotonic) / 2
        self.clock_skew_s = server + 0.5 - local
        METRICS.walmart_clock_skew.set(round(self.clock_skew_s, 1))

    def walmart_now_ms(self) -> int:
        """Now by Walmart's clock, as far as its last Date header told (this host's until one came)."""
        return int((time.time() + self.clock_skew_s) * 1000)

    def _walmart_epoch_s(self) -> float:
        """Now on Walmart's clock, for its replenishment times: this host's clock unless the skew is
        beyond what the Date header's one-second resolution can tell from none (a host 2 minutes
        off made a 1 s wait the whole pause cap, or none at all)."""
        skew = self.clock_skew_s if abs(self.clock_skew_s) > SKEW_TOLERANCE_S else 0.0
        return time.time() + skew

    def _observe_limits(self, bucket: TokenBucket, response: requests.Response) -> None:
        count = response.headers.get("x-current-token-count")
        if count is None:
            return
        try:
            tokens = int(float(count))
        except ValueError:
            return
        refill = seconds_until(_replenish_at(response), self._walmart_epoch_s())
        bucket.correct(tokens, refill)

    # inventory and price -----------------------------------------------------------------------
    def get_inventory(self, sku: str, ship_node: str | None = None) -> Inventory:
        params = {"sku": sku} | ({"shipNode": ship_node} if ship_node else {})
        return Inventory.model_validate(self._send("inventory_get", "GET", "/v3/inventory",
                                                   params=params).json())

    def update_inventory(self, sku: str, amount: int, ship_node: str | None = None) -> Inventory:
        body = Inventory(sku=sku, quantity=Quantity(amount=amount))
        params = {"sku": sku} | ({"shipNode": ship_node} if ship_node else {})
        response = self._send("inventory_put", "PUT", "/v3/inventory", params=params,
                              json=body.model_dump(mode="json"), idempotent=True)
        return Inventory.model_validate(response.json())

    def get_inventories(self, sku: str) -> dict[str, int]:
        """Multi-node inventory: ship node -> input quantity."""
        body = self._send("inventories_get", "GET", f"/v3/inventories/{quote(sku, safe='')}").json()
        return {node["shipNode"]: int(node["inputQty"]["amount"]) for node in body.get("nodes", [])}

    def update_inventories(self, sku: str, quantities: dict[str, int]) -> dict[str, str]:
        """Set several ship nodes at once; returns node -> Success/Failed (failures don't raise:
        the other nodes were updated and the caller decides what to retry)."""
        body = {"inventories": {"nodes": [{"shipNode": node, "inputQty": {"unit": "EACH", "amount": amount}}
                                          for node, amount in quantities.items()]}}
        response = self._send("inventories_put", "PUT", f"/v3/inventories/{quote(sku, safe='')}",
                              json=body, idempotent=True).json()
        return {node["shipNode"]: node.get("status", "") for node in response.get("nodes", [])}

    def update_price(self, sku: str, amount: float,
                     price_type: Literal["BASE", "REDUCED", "CLEARANCE"] = "BASE") -> PriceResponse:
        body = PriceUpdate(sku=sku, pricing=[Pricing(currentPriceType=price_type,
                                                     currentPrice=Money(amount=amount))])
        response = self._send("price_put", "PUT", "/v3/price", json=body.model_dump(mode="json"),
                              idempotent=True)
        payload = response.json()
        return PriceResponse.model_validate(payload.get("ItemPriceResponse", payload))

    def get_lag_time(self, sku: str) -> int:
        """``GET /v3/lagtime``: the item's fulfillment lag time in days."""
        body = self._send("lagtime_get", "GET", "/v3/lagtime", params={"sku": sku}).json()
        return int(body["fulfillmentLagTime"])

    def update_pricing(self, entry: dict[str, Any]) -> PriceResponse:
        """``PUT /v3/price`` with a whole ``Price`` entry (mappings/price.py ``price_entry``): the BASE
        price and, when it carries promotions or ``replaceAll``, ``?promo=true`` as Walmart's
        promotional price update asks. Re-sending the same entry changes nothing on Walmart."""
        promo = "replaceAll" in entry or any(p.get("currentPriceType") != "BASE" for p in entry.get("pricing", []))
        response = self._send("price_put", "PUT", "/v3/price", params={"promo": "true"} if promo else None,
                              json=entry, idempotent=True)
        payload = response.json()
        return PriceResponse.model_validate(payload.get("ItemPriceResponse", payload))


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


__all__ = ["WalmartClient", "WalmartError", "Inventory", "PriceResponse"]


def _replenish_at(response: requests.Response) -> str | None:
    """Walmart documents both spellings of the header (the notes and some specs differ)."""
    return response.headers.get("x-next-replenishment-time") or response.headers.get("x-next-replenish-time")


def _readable(response: requests.Response) -> bool:
    """A JSON answer parses (an empty body or another content type is left to its caller)."""
    if not response.content or "json" not in response.headers.get("Content-Type", ""):
        return True
    try:
        response.json()
    except ValueError:
        return False
    return True
