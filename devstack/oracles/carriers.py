"""The carrier names Walmart accepts in ``trackingInfo.carrierName.carrier``.

Read from Walmart's Orders OpenAPI spec as the emulator carries it (spec/operations.json, the
shippingUpdates request schema, extracted from ../shared/reference/walmart-openapi/orders.yml and
checked against it by the spec-extraction test), so the list the emulator enforces is Walmart's,
not the one the sidecar keeps for itself. A carrier outside it goes as ``otherCarrier``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


def _carrier_enum(node: Any) -> list[str] | None:
    if isinstance(node, dict):
        carrier = node.get("carrier")
        if isinstance(carrier, dict) and isinstance(carrier.get("enum"), list):
            return [str(v) for v in carrier["enum"]]
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _carrier_enum(child)
        if found is not None:
            return found
    return None


@cache
def walmart_carriers() -> frozenset[str]:
    text = resources.files("devstack.walmart_emulator").joinpath("spec", "operations.json").read_text()
    schema = json.loads(text)["shippingUpdates"]["request"]["schema"]
    found = _carrier_enum(schema)
    if not found:
        raise RuntimeError("the shippingUpdates schema has no carrierName.carrier enum")
    return frozenset(found)
