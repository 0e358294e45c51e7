"""Benchmark: a burst of stock changes against Walmart's real limits.

    python bench/burst.py [--quick] [--changes 20000] [--skus 2000] [--time-scale 20]

One Commerce transaction changes the stock of ``--skus`` SKUs ``--changes`` times in all (an
import, a warehouse sync). The listener, the inventory worker and the Walmart emulator run at
Walmart's published limits (PUT /v3/inventory 200/min, inventory feeds 10/hour) and feed
processing times (assumed: 60 s to INPROGRESS, 300 s to PROCESSED), all divided by
``--time-scale`` so a run takes seconds, not minutes.

``seconds``: from the burst's COMMIT until Walmart shows every SKU's salable quantity.
``floor_seconds``: the least time Walmart allows for that: one feed's processing time, or
draining every SKU through single updates at the bucket's rate, whichever is shorter.
``ratio`` = seconds / floor_seconds. Target: ratio <= 1.2 and mismatches 0.
Last line: JSON with seconds, floor_seconds, ratio, walmart_calls, mismatches.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import CLIENT, pipeline, print_table
from mappings.inventory import walmart_quantity
from sync_workers.commerce.salable import read_positions
from sync_workers.walmart.limits import PUBLISHED_LIMITS

FEED_DELAYS_S = (60.0, 300.0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="5,000 changes over 500 SKUs")
    parser.add_argument("--changes", type=int, default=20_000)
    parser.add_argument("--skus", type=int, default=2_000)
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    if args.quick:
        args.changes, args.skus = 5_000, 500
    skus = [f"WS-{n:06d}" for n in range(1, args.skus + 1)]
    rng = random.Random(7)
    # The worker is told the scaled feed time an operator would configure (and then measures it).
    with pipeline(args.skus, ["inventory"], time_scale=args.time_scale, feed_delays_s=FEED_DELAYS_S,
                  workers={"feed_expected_s": FEED_DELAYS_S[1] / args.time_scale}) as p:
        seller = p.app.seller(CLIENT[0])
        mapping = p.settings.mapping

        # Warm up (the consumer group has joined, the client holds a token), then start clean.
        with p.env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("UPDATE inventory_source_item SET quantity = quantity + 1 WHERE sku = %s "
                        "AND source_code = 'wh_east'", (skus[0],))
        deadline = time.monotonic() + 60
        while not seller.calls and time.monotonic() < deadline:
            time.sleep(0.05)
        calls_before = sum(seller.calls.values())
        throttled_before = sum(seller.throttled.values())

        rows = [("wh_east", skus[n % args.skus], rng.randint(0, 500), 1) for n in range(args.changes)]
        conn = p.env.admin_connection()
        with conn.cursor() as cur:
            conn.begin()
            cur.executemany("INSERT INTO inventory_source_item (source_code, sku, quantity, status) VALUES "
                            "(%s, %s, %s, %s) ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), "
                            "status = VALUES(status)", rows)
            conn.commit()
            started = time.monotonic()
        positions = read_positions(conn, skus, mapping.stock_id, mapping.msi_enabled, mapping.store_id,
                                   mapping.website_id)
        conn.close()
        expected = {sku: walmart_quantity(pos, mapping.inventory_safety_buffer, mapping.unlimited_stock_quantity)
                    for sku, pos in positions.items()}

        def mismatched() -> list[str]:
            p.app._complete_due_feeds(seller)  # Walmart applies a feed when processing ends
            return [sku for sku in skus if seller.inventory.get((sku, "default")) != expected[sku]]

        while mismatched() and time.monotonic() - started < args.timeout:
            time.sleep(0.05)
        seconds = time.monotonic() - started
        mismatches = len(mismatched())
        calls = sum(seller.calls.values()) - calls_before
        throttled = sum(seller.throttled.values()) - throttled_before
        worker = p.workers["inventory"].handler

    single = PUBLISHED_LIMITS["inventory_put"]
    singles_floor = max(0, args.skus - single.capacity) * single.refill_interval_s / args.time_scale
    feed_floor = FEED_DELAYS_S[1] / args.time_scale
    floor = min(singles_floor, feed_floor)
    result = {"changes": args.changes, "skus": args.skus, "time_scale": args.time_scale,
              "seconds": round(seconds, 2), "floor_seconds": round(floor, 2),
              "ratio": round(seconds / floor, 3) if floor else None, "walmart_calls": calls,
              "throttled": throttled, "feeds": worker.pushed_feeds, "singles": worker.pushed_singles,
              "mismatches": mismatches}
    print_table([("seconds", result["seconds"], ""), ("floor_seconds", result["floor_seconds"], ""),
                 ("ratio", result["ratio"], "<= 1.2"), ("walmart_calls", calls, ""),
                 ("feeds / singles", f"{worker.pushed_feeds}/{worker.pushed_singles}", ""),
                 ("mismatches", mismatches, "0")])
    print(json.dumps(result))
    # a missed target fails the run, as run_all's table does
    return 0 if mismatches == 0 and result["ratio"] is not None and result["ratio"] <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
