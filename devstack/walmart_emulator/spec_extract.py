"""Extract the JSON request/response schemas of the Walmart operations walmart-sync uses.

    python -m devstack.walmart_emulator.spec_extract [--spec-dir DIR] [--check]

Walmart's OpenAPI files (2.7 MB for orders alone, every schema inlined) are not in a user's
clone, so the schemas of the operations the sidecar and its emulator speak are extracted into
``spec/operations.json`` and committed; contract tests validate against that file, and a test
regenerates it from the reference specs and fails on any drift.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPEC_DIR = REPO_ROOT.parent / "shared" / "reference" / "walmart-openapi"
OUTPUT = Path(__file__).parent / "spec" / "operations.json"

# operationId -> spec file. Where several specs declare POST /v3/feeds, the file decides which.
OPERATIONS = {
    "tokenAPI": "authentication",
    "getInventory": "inventory",
    "updateInventoryForAnItem": "inventory",
    "getMultiNodeInventoryForSkuAndAllShipnodes": "inventory",
    "updateMultiNodeInventory": "inventory",
    "updateBulkInventory": "inventory",
    "updatePrice": "prices",
    "priceBulkUploads": "prices",
    "getAllOrders": "orders",
    "getAllReleasedOrders": "orders",
    "getAnOrder": "orders",
    "acknowledgeOrders": "orders",
    "cancelOrderLines": "orders",
    "shippingUpdates": "orders",
    "refundOrderLines": "orders",
    "getReturns": "returns",
    "issueRefund": "returns",
    "getAllFeedStatuses": "feeds",
    "getFeedItemStatus": "feeds",
    "itemBulkUploads": "items",
    "getAllItems": "items",
    "getAnItem": "items",
    "getSearchResult": "items",
    "getCatalogSearch": "items",
    "getLagTime": "lag-time",
}


DOCUMENTATION_KEYS = frozenset({"description", "example", "examples", "xml", "title",
                                "externalDocs", "deprecated"})


def _strip(node: Any, is_properties: bool = False) -> Any:
    """Keep what validates; drop prose and examples (some of Walmart's examples fail its schemas).

    Inside ``properties`` the keys are field names (a field may be called ``description``).
    """
    if isinstance(node, dict):
        if is_properties:
            return {name: _strip(schema) for name, schema in node.items()}
        return {k: _strip(v, is_properties=k == "properties") for k, v in node.items()
                if k not in DOCUMENTATION_KEYS}
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _json_schema(content: dict[str, Any] | None) -> dict[str, Any] | None:
    if not content:
        return None
    for media in ("application/json", "application/x-www-form-urlencoded", "multipart/form-data"):
        if media in content and "schema" in content[media]:
            return {"media_type": media, "schema": _strip(content[media]["schema"])}
    return None


def extract(spec_dir: Path) -> dict[str, Any]:
    import yaml  # only needed to regenerate

    specs: dict[str, Any] = {}
    out: dict[str, Any] = {}
    for operation_id, spec_name in OPERATIONS.items():
        if spec_name not in specs:
            specs[spec_name] = yaml.safe_load((spec_dir / f"{spec_name}.yml").read_text())
        found = None
        for path, methods in specs[spec_name]["paths"].items():
            for method, op in methods.items():
                if isinstance(op, dict) and op.get("operationId") == operation_id:
                    found = (path, method, op)
        if found is None:
            raise KeyError(f"{operation_id} not found in {spec_name}.yml")
        path, method, op = found
        out[operation_id] = {
            "spec": spec_name,
            "method": method.upper(),
            "path": path,
            "parameters": [{k: p.get(k) for k in ("name", "in", "required")}
                           for p in op.get("parameters", []) if isinstance(p, dict)],
            "request": _json_schema((op.get("requestBody") or {}).get("content")),
            "response": _json_schema((op.get("responses", {}).get("200") or {}).get("content")),
        }
    return out


def render(spec_dir: Path) -> str:
    return json.dumps(extract(spec_dir), indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec-dir", type=Path, default=DEFAULT_SPEC_DIR)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = render(args.spec_dir)
    if args.check:
        if not OUTPUT.is_file() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run python -m devstack.walmart_emulator.spec_extract")
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT} ({len(OPERATIONS)} operations, {len(text) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
