"""Shadow mode's write switch: which calls change Walmart, and what each would have sent.

A merchant switching from Channel Manager or M2E Pro runs the sidecar beside the old integration
before turning that off. Both writing to the same seller account would fight (two quantities, two
acknowledgements, two Commerce orders per PO), so in shadow mode the client sends no write at all:
``WalmartClient._send`` is the one way out to Walmart, and it asks ``is_write`` before every call.
Reads still go out, through the same token buckets. A write the client refuses is described here
(per SKU or per purchase order, the value and a short payload) and handed to the client's sink,
the state store's ``walmart_shadow_writes``, for ``walmart-sync shadow report`` and the status page.

The decision is by HTTP method, not by a list of write APIs: anything but a GET is a write unless
it is one of the few POSTs Walmart uses for reading (the OAuth token, the catalogue search), so an
API added later is switched off by default rather than let through.

Pure: no I/O; the client adds the times.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from domain.shadow import WouldSend

# POSTs that read: the token and the seller-catalogue search (POST /v3/items/catalog/search)
READING_POSTS = frozenset({"token", "catalog_search"})
FEED_KINDS = {"inventory": "quantity", "MP_INVENTORY": "quantity", "price": "price", "MP_ITEM_MATCH": "listing"}
ORDER_KINDS = {"order_acknowledge": "acknowledge", "order_cancel": "cancel", "order_shipping": "ship",
               "order_refund": "refund", "return_refund": "return_refund"}
PAYLOAD_CHARS = 500


def is_write(api: str, method: str) -> bool:
    return method.upper() not in ("GET", "HEAD", "OPTIONS") and api not in READING_POSTS


def short_payload(document: Any) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return text if len(text) <= PAYLOAD_CHARS else text[:PAYLOAD_CHARS - 1] + "…"


def _amount(pricing: Any) -> str | None:
    """The price Walmart would show: the current price of the first pricing entry."""
    try:
        first = pricing[0]
        return f"{float(first['currentPrice']['amount']):.2f}"
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _feed_document(files: Any) -> tuple[str, dict[str, Any]] | None:
    try:
        name, content, _type = files["file"]
        return str(name).removesuffix(".json"), json.loads(content)
    except (KeyError, TypeError, ValueError):
        return None


def describe_write(api: str, method: str, path: str, *, params: dict[str, Any] | None = None,
                   json_body: Any = None, files: Any = None) -> list[WouldSend]:
    """What a write would have done, one entry per SKU or PO it names (a feed names many)."""
    params = params or {}
    if api == "inventory_put":
        amount = ((json_body or {}).get("quantity") or {}).get("amount")
        node = params.get("shipNode")
        return [WouldSend("quantity", str(params.get("sku") or (json_body or {}).get("sku")), api,
                          None if amount is None else str(amount),
                          short_payload({"quantity": amount} | ({"shipNode": node} if node else {})))]
    if api == "inventories_put":
        sku = path.rsplit("/", 1)[-1]
        nodes = {n.get("shipNode"): (n.get("inputQty") or {}).get("amount")
                 for n in ((json_body or {}).get("inventories") or {}).get("nodes", [])}
        return [WouldSend("quantity", sku, api, str(sum(int(v or 0) for v in nodes.values())), short_payload({"nodes": nodes}))]
    if api == "price_put":
        body = json_body or {}
        return [WouldSend("price", str(body.get("sku")), api, _amount(body.get("pricing")),
                          short_payload({k: v for k, v in body.items() if k != "sku"}))]
    if api.startswith("feeds_"):
        found = _feed_document(files)
        if found is None:
            return [WouldSend("feed", params.get("feedType", api), api, None, "unreadable feed file")]
        feed_type, document = found
        kind = FEED_KINDS.get(feed_type, "feed")
        entries: list[WouldSend] = []
        for item in document.get("Inventory") or []:
            entries.append(WouldSend(kind, str(item.get("sku")), api,
                                     str((item.get("quantity") or {}).get("amount")),
                                     short_payload({"feed": feed_type, "quantity": (item.get("quantity") or {}).get("amount")})))
        for item in document.get("Price") or []:
            entries.append(WouldSend(kind, str(item.get("sku")), api, _amount(item.get("pricing")),
                                     short_payload({"feed": feed_type, "pricing": item.get("pricing")})))
        for item in document.get("MPItem") or []:
            inner = item.get("Item") or {}
            entries.append(WouldSend(kind, str(inner.get("sku")), api, None, short_payload({"feed": feed_type, **inner})))
        for item in document.get("inventories") or document.get("Inventories") or []:  # MP_INVENTORY
            sku = str(item.get("sku"))
            entries.append(WouldSend(kind, sku, api, None, short_payload({"feed": feed_type, **item})))
        return entries or [WouldSend(kind, feed_type, api, None, short_payload(document))]
    if api in ORDER_KINDS:
        # /v3/orders/{po}/acknowledge, /v3/returns/{id}/refund
        parts = path.strip("/").split("/")
        key = parts[2] if len(parts) > 2 else path
        return [WouldSend(ORDER_KINDS[api], key, api, None, short_payload(json_body) if json_body else "{}")]
    return [WouldSend("other", path, api, None, short_payload({"method": method, "params": params}))]


@dataclass
class ChangeTimes:
    """When the Commerce change behind a would-be write happened, noted by the worker that is about
    to write (the client sees only the payload): ``(kind, key) -> epoch seconds``. The oldest change
    not yet served wins, so the latency is the longest any change waited."""

    _times: dict[tuple[str, str], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, kind: str, times: dict[str, float]) -> None:
        with self._lock:
            for key, at in times.items():
                current = self._times.get((kind, key))
                if current is None or at < current:
                    self._times[(kind, key)] = at

    def take(self, entry: WouldSend) -> WouldSend:
        with self._lock:
            at = self._times.pop((entry.kind, entry.key), None)
        return entry if at is None else replace(entry, changed_at=at)
