"""Benchmark: matching a catalogue of products to Walmart's within its rate limits.

    python bench/listing_match.py [--quick] [--products 10000] [--time-scale 60]

Every product is put on the channel (`listings add --all`) and matched (`listings match`): the
seller catalogue is paged, each product is looked up in Walmart's catalogue by UPC (GET
/v3/items/walmart/search, 200 a minute), the hits go out in MP_ITEM_MATCH feeds (20 an hour,
processing assumed 60 s to INPROGRESS and 900 s to done) and every outcome is recorded. The
Walmart emulator runs as its own process at Walmart's limits, all durations divided by
``--time-scale``; the sidecar's client is given the same scaled limits.

``floor_seconds``: the least Walmart's limits allow: searching every product at the search
bucket's pace, then one feed's processing. Last line: JSON with products, seconds,
floor_seconds, ratio, matched, unmatched, errors, feeds, throttled (429s Walmart answered; 0
means the limits were respected).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import CLIENT, print_table, scaled_rate_limits
from devstack.environment import prepare_environment
from devstack.mariadb import free_port
from devstack.stack import LocalStack
from devstack.walmart_catalogue import catalogue_entries
from plumbing.db import connect_commerce
from plumbing.logs import configure_logging
from sync_workers.push.listings.worker import build_matcher
from sync_workers.stores.value_state import connect_state
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.limits import PUBLISHED_LIMITS
from walmart_sync.cli.listings import ProgressLine

FEED_DELAYS_S = (60.0, 900.0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1,000 products")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--time-scale", type=float, default=60.0)
    args = parser.parse_args()
    products = 1_000 if args.quick else args.products
    configure_logging("warning", "console")
    with LocalStack() as stack:
        env = prepare_environment(stack.endpoints, stack.base_dir / "bench", "open_source", products,
                                  push_skus="matched")
        port = free_port()
        emulator = subprocess.Popen(
            [sys.executable, "-m", "walmart_sync.cli", "emulator", "walmart", "--port", str(port),
             "--client", f"{CLIENT[0]}:{CLIENT[1]}", "--time-scale", str(args.time_scale),
             "--feed-delays", ",".join(str(d) for d in FEED_DELAYS_S)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(f"{url}/_emulator/state", timeout=1)
                    break
                except requests.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            entries = catalogue_entries(products)
            for start in range(0, len(entries), 2000):
                requests.post(f"{url}/_emulator/catalog", json={"items": entries[start:start + 2000]}, timeout=60)
            settings = env.settings(walmart={"base_url": url, "client_id": CLIENT[0], "client_secret": CLIENT[1],
                                             "rate_limits": scaled_rate_limits(args.time_scale)})
            matcher = build_matcher(settings, WalmartClient(settings.walmart), connect_commerce(settings),
                                    connect_state(settings))
            started = time.monotonic()
            added = matcher.add()
            progress = ProgressLine()
            result = matcher.run(progress, poll_s=max(0.2, 30 / args.time_scale), timeout_s=3600)
            progress.close()
            seconds = time.monotonic() - started
            state = requests.get(f"{url}/_emulator/state", timeout=30).json()
            counts = matcher.store.counts()
        finally:
            emulator.terminate()
            emulator.wait(30)
    search = PUBLISHED_LIMITS["walmart_search"]
    searched = products - 0  # every product has a valid UPC; none is already listed
    search_floor = max(0, searched - search.capacity) * search.refill_interval_s / args.time_scale
    floor = search_floor + FEED_DELAYS_S[1] / args.time_scale
    throttled = sum(state["throttled"].values())
    out = {"products": products, "time_scale": args.time_scale, "seconds": round(seconds, 2),
           "floor_seconds": round(floor, 2), "ratio": round(seconds / floor, 3), "added": added["draft"],
           "matched": counts["matched"], "unmatched": counts["unmatched"], "errors": counts["error"],
           "feeds": result.feeds_submitted, "searches": state["calls"].get("walmart_search", 0),
           "throttled": throttled}
    print_table([("products", products, ""), ("seconds", out["seconds"], ""),
                 ("floor_seconds", out["floor_seconds"], "searches at 200/min, then one feed"),
                 ("ratio", out["ratio"], ""), ("matched/unmatched/errors",
                                               f"{out['matched']}/{out['unmatched']}/{out['errors']}", ""),
                 ("feeds", out["feeds"], ""), ("throttled (429s)", throttled, "0")])
    print(json.dumps(out))
    return 0 if throttled == 0 and result.done else 1


if __name__ == "__main__":
    sys.exit(main())
