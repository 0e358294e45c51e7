"""Validate bodies against the Walmart OpenAPI schemas extracted into ``spec/operations.json``.

Used by the contract tests (every emulator response and every client request body must conform)
and available to the emulator. Only JSON bodies are checked; Walmart's error bodies are not in
its specs (see docs), so only 200 responses have a schema.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from openapi_schema_validator import OAS30Validator


@cache
def operations() -> dict[str, Any]:
    text = resources.files("devstack.walmart_emulator").joinpath("spec", "operations.json").read_text()
    return json.loads(text)


@cache
def _validator(operation_id: str, part: str) -> OAS30Validator | None:
    entry = operations()[operation_id][part]
    return None if entry is None else OAS30Validator(entry["schema"])


def _errors(operation_id: str, part: str, body: Any) -> list[str]:
    validator = _validator(operation_id, part)
    if validator is None:
        raise KeyError(f"{operation_id} has no {part} schema in the spec")
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(body)]


def _order_item_schema() -> dict[str, Any]:
    listing = operations()["getAllOrders"]["response"]["schema"]
    return listing["properties"]["list"]["properties"]["elements"]["properties"]["order"]["items"]


@cache
def _get_an_order_validator() -> OAS30Validator:
    """Walmart's getAnOrder 200 schema is a bare order with orderDate as a date-time string,
    but the API (and the spec's own examples, and every other order operation) answers
    {"order": {...}} with epoch-ms dates; validate the wrapped order against the order schema
    the other operations use."""
    return OAS30Validator({"type": "object", "required": ["order"],
                           "properties": {"order": _order_item_schema()}})


def response_errors(operation_id: str, body: Any) -> list[str]:
    if operation_id == "getAnOrder":
        return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in _get_an_order_validator().iter_errors(body)]
    return _errors(operation_id, "response", body)


def request_errors(operation_id: str, body: Any) -> list[str]:
    return _errors(operation_id, "request", body)


def operation_for(method: str, path: str, feed_spec: str | None = None) -> str | None:
    """The operation whose path template matches a request path; literal segments win over
    templates (``/v3/orders/released`` is not ``/v3/orders/{purchaseOrderId}``). ``POST /v3/feeds``
    is declared by several specs: ``feed_spec`` names which (inventory, prices, items)."""
    parts = path.strip("/").split("/")
    best: tuple[int, str] | None = None
    for operation_id, op in operations().items():
        if op["method"] != method.upper() or (feed_spec and op["path"] == "/v3/feeds"
                                              and method.upper() == "POST" and op["spec"] != feed_spec):
            continue
        template = op["path"].strip("/").split("/")
        if len(template) == len(parts) and all(t == p or t.startswith("{") for t, p in zip(template, parts)):
            literal = sum(t == p for t, p in zip(template, parts))
            if best is None or literal > best[0]:
                best = (literal, operation_id)
    return best[1] if best else None
