"""Benchmark: what bundles cost the inventory worker per batch.

    python bench/bundle_targets.py [--products 10000] [--batch 498] [--rounds 20]

Every inventory batch now asks which bundles hold its SKUs (``bundles_containing``) and reads the
bundles among them (``CompositeReader.bundles``) before MSI's positions. On a seeded catalogue of
``--products`` simple products plus the seed's bundles and configurable, this times, for a batch
of ``--batch`` SKUs that includes the bundles' components: the plain stock read
(``read_positions`` + ``walmart_quantity``, what a batch cost before) and the whole
``quantity_targets`` with the composite reads and the configurable filter
(``only_pushable``), one ``CompositeReader`` a batch as the worker has.
Target: overhead_ms (median extra per batch) < 20 ms on the 2-core machine.
Last line: JSON with the medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devstack.environment import prepare_environment
from devstack.stack import LocalStack
from mappings.inventory import walmart_quantity
from plumbing.db import connect_commerce
from sync_workers.commerce.composites import CompositeReader
from sync_workers.commerce.salable import read_positions
from sync_workers.push.inventory import quantity_targets
from sync_workers.push.pushable import only_pushable
from sync_workers.push.selling import SellingRules
from sync_workers.stores.listings import ListingStore
from sync_workers.stores.value_state import connect_state

TARGET_OVERHEAD_MS = 20.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=498)  # + the 2 bundles: one 500-SKU chunk
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with LocalStack() as stack:
        env = prepare_environment(stack.endpoints, stack.base_dir / "bench", "open_source", args.products,
                                  composites=True)
        settings = env.settings()
        commerce = connect_commerce(settings)
        listings = ListingStore(connect_state(settings))
        rules = SellingRules(settings, commerce)
        mapping = settings.mapping
        batch = [f"WS-{n:06d}" for n in range(1, args.batch + 1)]
        plain, whole = [], []
        expanded = set(batch) | {"WS-BUNDLE-1", "WS-BUNDLE-2"}  # the SKUs both read (same chunking)
        for _ in range(args.rounds):
            t = time.perf_counter()
            positions = read_positions(commerce, expanded, mapping.stock_id, mapping.msi_enabled, mapping.store_id,
                                       mapping.website_id)
            {s: walmart_quantity(p, mapping.inventory_safety_buffer) for s, p in positions.items()}
            plain.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            reader = CompositeReader(commerce, mapping.store_id)  # one per batch, as the worker does
            skus = set(batch) | reader.bundles_containing(batch)
            targets = quantity_targets(settings, commerce, rules,
                                       only_pushable(settings, listings, skus, commerce, reader), composites=reader)
            whole.append((time.perf_counter() - t) * 1000)
        assert {"WS-BUNDLE-1", "WS-BUNDLE-2"} <= set(targets), "the batch's bundles were not read"
    results = {"products": args.products, "batch": args.batch, "plain_ms": statistics.median(plain),
               "with_composites_ms": statistics.median(whole)}
    results["overhead_ms"] = results["with_composites_ms"] - results["plain_ms"]
    print(f"{'figure':<24}{'value':>12}{'target':>10}")
    for key, value in results.items():
        target = TARGET_OVERHEAD_MS if key == "overhead_ms" else None
        verdict = "" if target is None else ("  ok" if value < target else "  MISSED")
        print(f"{key:<24}{value:>12.2f}{'' if target is None else f'{target:>10.1f}'}{verdict}")
    print(json.dumps({k: round(v, 3) for k, v in results.items()}))
    return 0 if results["overhead_ms"] < TARGET_OVERHEAD_MS else 1


if __name__ == "__main__":
    sys.exit(main())
