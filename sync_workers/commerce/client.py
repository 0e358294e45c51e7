"""A small typed client for the Commerce REST endpoints the order importer calls.

Magento answers errors as ``{"message": ..., "parameters": ...}`` with ``%name`` placeholders;
the client fills them in so logs and dead letters read as the merchant's admin would show them.
4xx are the caller's to judge (out of stock, unknown SKU); 5xx and connection failures are
transient. The integration token never appears in errors or logs.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import requests

from config.settings import CommerceApiSettings


class CommerceError(Exception):
    def __init__(self, status: int | None, message: str, parameters: Any = None):
        super().__init__(f"Commerce {status or 'unreachable'}: {message}")
        self.status = status
        self.message = message
        # Magento's ``parameters`` as sent: the companion module's refusals are named there
        # (code, walmart_cancellable, magento_message...), matched before any wording
        self.parameters = parameters


class CommerceClientError(CommerceError):
    """4xx: Commerce refused the request as made."""


class CommerceServerError(CommerceError):
    """5xx or no answer: worth retrying."""


def _message(body: Any) -> str:
    if not isinstance(body, dict):
        return str(body)[:300]
    message = str(body.get("message", ""))
    parameters = body.get("parameters")
    if isinstance(parameters, dict):
        message = re.sub(r"%(\w+)", lambda m: str(parameters.get(m.group(1), m.group(0))), message)
    elif isinstance(parameters, list):
        message = re.sub(r"%(\d+)", lambda m: str(parameters[int(m.group(1)) - 1])
                         if 0 < int(m.group(1)) <= len(parameters) else m.group(0), message)
    return message


class CommerceClient:
    def __init__(self, settings: CommerceApiSettings, session: requests.Session | None = None):
        self.settings = settings
        self.base = settings.rest_url
        self.session = session or requests.Session()

    def _call(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.settings.token.get_secret_value()}",
                   "Accept": "application/json"}
        try:
            # never follow a redirect: the integration token would go to whatever host Location names, and
            # an answer from elsewhere (an empty order search) is no proof of anything
            response = self.session.request(method, self.base + path, json=json, params=params, headers=headers,
                                            timeout=self.settings.request_timeout_s, allow_redirects=False)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise CommerceServerError(None, f"{method} {path}: {type(exc).__name__}") from None
        if 300 <= response.status_code < 400:
            raise CommerceServerError(response.status_code, f"{method} {path}: redirected to "
                                      f"{response.headers.get('Location')!r}, not followed")
        try:
            body = response.json()
        except ValueError:
            if response.status_code < 400 and response.content:
                # a success whose body was cut short says nothing about what Commerce did
                raise CommerceServerError(response.status_code, f"{method} {path}: the body is not valid JSON") \
                    from None
            body = response.text
        parameters = body.get("parameters") if isinstance(body, dict) else None
        if response.status_code >= 500:
            raise CommerceServerError(response.status_code, _message(body), parameters)
        if response.status_code >= 400:
            raise CommerceClientError(response.status_code, _message(body), parameters)
        return body

    # the companion module (commerce-module/): one idempotent call per Walmart PO
    def module_info(self) -> dict[str, Any] | None:
        """``GET /V1/walmart-sync/module``; None when Commerce has no such route (not installed)."""
        try:
            return dict(self._call("GET", "/walmart-sync/module"))
        except CommerceClientError as exc:
            if exc.status == 404:
                return None
            raise

    def place_marketplace_order(self, request: dict[str, Any]) -> dict[str, Any]:
        """``POST /V1/walmart-sync/orders``: the same PO again answers the order already placed."""
        return dict(self._call("POST", "/walmart-sync/orders", json=request))

    def marketplace_order(self, purchase_order_id: str) -> dict[str, Any] | None:
        """``GET /V1/walmart-sync/orders/:po``; None when no placement was ever requested."""
        try:
            return dict(self._call("GET", f"/walmart-sync/orders/{quote(purchase_order_id, safe='')}"))
        except CommerceClientError as exc:
            if exc.status == 404:
                return None
            raise

    # cart flow
    def create_cart(self) -> int:
        return int(self._call("POST", "/carts/"))

    def add_item(self, cart_id: int, sku: str, qty: int, price: float | None = None,
                 tax: float | None = None) -> dict[str, Any]:
        """``price`` and ``tax`` (the row's tax) are the marketplace's, applied by the channel extension."""
        item: dict[str, Any] = {"sku": sku, "qty": qty, "quote_id": cart_id}
        if price is not None:
            item["price"] = price
        if tax:
            item["extension_attributes"] = {"tax_amount": tax}
        return self._call("POST", f"/carts/{cart_id}/items", json={"cartItem": item})

    def set_shipping(self, cart_id: int, address: dict[str, Any], carrier: str, method: str,
                     shipping_amount: float, shipping_tax: float = 0.0) -> dict[str, Any]:
        return self._call("POST", f"/carts/{cart_id}/shipping-information", json={"addressInformation": {
            "shipping_address": address, "billing_address": address, "shipping_carrier_code": carrier,
            "shipping_method_code": method, "extension_attributes": {
                "shipping_amount": shipping_amount, "shipping_tax_amount": shipping_tax}}})

    def place_order(self, cart_id: int, payment_method: str) -> int:
        return int(self._call("PUT", f"/carts/{cart_id}/order", json={"paymentMethod": {"method": payment_method}}))

    # orders
    def find_orders(self, field: str, value: str | int) -> list[dict[str, Any]]:
        params = {"searchCriteria[filter_groups][0][filters][0][field]": field,
                  "searchCriteria[filter_groups][0][filters][0][value]": str(value),
                  "searchCriteria[filter_groups][0][filters][0][condition_type]": "eq"}
        return list(self._call("GET", "/orders", params=params).get("items") or [])

    def get_order(self, order_id: int) -> dict[str, Any]:
        return self._call("GET", f"/orders/{order_id}")

    def set_ext_order_id(self, order_id: int, ext_order_id: str) -> dict[str, Any]:
        return self._call("POST", "/orders", json={"entity": {"entity_id": order_id, "ext_order_id": ext_order_id}})

    def cancel_order(self, order_id: int) -> bool:
        """False when Magento says the order cannot be cancelled (shipped, invoiced, on hold)."""
        return bool(self._call("POST", f"/orders/{order_id}/cancel"))

    def comment_order(self, order_id: int, comment: str) -> None:
        self._call("POST", f"/orders/{order_id}/comments", json={"statusHistory": {
            "comment": comment, "is_customer_notified": 0, "is_visible_on_front": 0}})

    # returns (Adobe Commerce's Magento_Rma)
    def create_rma(self, order_id: int, items: list[dict[str, Any]], comment: str, status: str = "authorized",
                   email: str | None = None) -> dict[str, Any]:
        return self._call("POST", "/returns", json={"rmaDataObject": {
            "order_id": order_id, "status": status, "items": items, "customer_custom_email": email,
            "comments": [{"comment": comment, "is_visible_on_front": 0}]}})

    def find_rmas(self, order_id: int) -> list[dict[str, Any]]:
        params = {"searchCriteria[filter_groups][0][filters][0][field]": "order_id",
                  "searchCriteria[filter_groups][0][filters][0][value]": str(order_id),
                  "searchCriteria[filter_groups][0][filters][0][condition_type]": "eq"}
        return list(self._call("GET", "/returns", params=params).get("items") or [])

    def get_rma(self, rma_id: int) -> dict[str, Any]:
        return self._call("GET", f"/returns/{rma_id}")

    def rma_comments(self, rma_id: int) -> list[str]:
        return [str(c.get("comment") or "") for c in self._call("GET", f"/returns/{rma_id}/comments").get("items") or []]

    def update_rma(self, rma_id: int, status: str, items: list[dict[str, Any]], comment: str) -> dict[str, Any]:
        return self._call("PUT", f"/returns/{rma_id}", json={"rmaDataObject": {
            "entity_id": rma_id, "status": status, "items": items, "comments": [{"comment": comment}]}})
