"""Benchmark: matching a catalogue of products to Walmart's within its rate limits.

    python bench/listing_match.py [--quick] [--products 10000] [--time-scale 60] [--real-seconds 180]

Every product is put on the channel (`listings add --all`) and matched (`listings match`): the
seller catalogue is paged, each product is looked up in Walmart's catalogue by UPC (GET
/v3/items/walmart/search, 200 a minute), the hits go out in MP_ITEM_MATCH feeds (20 an hour,
processing assumed 60 s to INPROGRESS and 900 s to done) and every outcome is recorded. The
Walmart emulator runs as its own process at Walmart's limits, all durations divided by
``--time-scale``; the sidecar's client is given the same scaled limits.

``floor_seconds``: the least Walmart's limits allow: searching every product at the search
bucket's pace, then one feed's processing. That run is time-scaled (labelled so): it shows the
matcher keeps to the limits' pace, not how long a merchant waits.

Then the real rate: a second emulator at Walmart's own limits (time scale 1: 200 searches a
minute, after a bucket of 200) and the client at the published limits; every listing a draft
again, the matcher runs chunk by chunk for ``--real-seconds``, and the outcomes the state store
holds are counted as they are written. From the steady rate after the first bucket it projects,
labelled as a projection, what a 100,000-product catalogue takes: every search at that rate, then
the last match feed's 900 s (ten feeds of 10,000, inside the 20 an hour). ``first_outcome_s``: how
soon the first outcome was written (every outcome is written as it comes, so a restart loses at
most a chunk).

Last line: JSON with products, seconds, floor_seconds, ratio, matched, unmatched, errors, feeds,
throttled (429s Walmart answered; 0 means the limits were respected), and real_* figures:
real_searched, real_seconds, real_searches_per_min, first_outcome_s, projected_100k_hours.
Exit 1 when a run did not finish, Walmart throttled, the time-scaled ratio is above 1.3, or the
real rate is under 90% of 200 a minute.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import CLIENT, print_table, scaled_rate_limits
from devstack.environment import prepare_environment
from devstack.mariadb import free_port
from devstack.stack import LocalStack
from devstack.walmart_catalogue import catalogue_entries
from plumbing.db import connect_commerce
from plumbing.logs import configure_logging
from sync_workers.push.listings.matcher import SEARCH_CHUNK
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
    parser.add_argument("--real-seconds", type=float, default=180.0,
                        help="how long the real-rate (time scale 1) search runs (--quick: 90)")
    args = parser.parse_args()
    products = 1_000 if args.quick else args.products
    real_seconds = 90.0 if args.quick else args.real_seconds
    configure_logging("warning", "console")
    with LocalStack() as stack:
        env = prepare_environment(stack.endpoints, stack.base_dir / "bench", "open_source", products,
                                  push_skus="matched")
        entries = catalogue_entries(products)
        port, emulator = start_emulator(args.time_scale, entries)
        url = f"http://127.0.0.1:{port}"
        try:
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
        real = real_rate(env, entries, real_seconds)
    search = PUBLISHED_LIMITS["walmart_search"]
    searched = products - 0  # every product has a valid UPC; none is already listed
    search_floor = max(0, searched - search.capacity) * search.refill_interval_s / args.time_scale
    floor = search_floor + FEED_DELAYS_S[1] / args.time_scale
    throttled = sum(state["throttled"].values())
    out = {"products": products, "time_scale": args.time_scale, "seconds": round(seconds, 2),
           "floor_seconds": round(floor, 2), "ratio": round(seconds / floor, 3), "added": added["draft"],
           "matched": counts["matched"], "unmatched": counts["unmatched"], "errors": counts["error"],
           "feeds": result.feeds_submitted, "searches": state["calls"].get("walmart_search", 0),
           "throttled": throttled} | real
    print_table([("products", products, ""), (f"seconds (time-scaled x{args.time_scale:g})", out["seconds"], ""),
                 ("floor_seconds", out["floor_seconds"], "searches at 200/min, then one feed (scaled)"),
                 ("ratio", out["ratio"], "<= 1.3"), ("matched/unmatched/errors",
                                                     f"{out['matched']}/{out['unmatched']}/{out['errors']}", ""),
                 ("feeds", out["feeds"], ""), ("throttled (429s)", throttled, "0"),
                 ("real rate: searched", f"{real['real_searched']} in {real['real_seconds']} s", "time scale 1"),
                 ("real searches/min", real["real_searches_per_min"], ">= 180 (Walmart: 200)"),
                 ("first outcome written s", real["first_outcome_s"], "as they come"),
                 ("100,000 products (hours)", real["projected_100k_hours"], "projection at the real rate"),
                 ("real throttled (429s)", real["real_throttled"], "0")])
    print(json.dumps(out))
    ok = (throttled == 0 and result.done and out["ratio"] <= 1.3 and real["real_throttled"] == 0
          and real["real_searches_per_min"] >= 180)
    return 0 if ok else 1


def start_emulator(time_scale: float, entries: list[dict]) -> tuple[int, subprocess.Popen[bytes]]:
    """The Walmart emulator as its own process at ``time_scale``, its catalogue seeded."""
    port = free_port()
    emulator = subprocess.Popen(
        [sys.executable, "-m", "walmart_sync.cli", "emulator", "walmart", "--port", str(port),
         "--client", f"{CLIENT[0]}:{CLIENT[1]}", "--time-scale", str(time_scale),
         "--feed-delays", ",".join(str(d) for d in FEED_DELAYS_S)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/_emulator/state", timeout=1)
            break
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                emulator.kill()
                raise
            time.sleep(0.1)
    for start in range(0, len(entries), 2000):
        requests.post(f"{url}/_emulator/catalog", json={"items": entries[start:start + 2000]}, timeout=60)
    return port, emulator


def real_rate(env: Any, entries: list[dict], window_s: float) -> dict[str, Any]:
    """Every listing a draft again, matched against an emulator at Walmart's own limits (a new
    seller: nothing listed yet) for ``window_s``, chunk by chunk; outcomes counted in the store."""
    port, emulator = start_emulator(1.0, entries)
    url = f"http://127.0.0.1:{port}"
    try:
        settings = env.settings(walmart={"base_url": url, "client_id": CLIENT[0], "client_secret": CLIENT[1]})
        state_conn = connect_state(settings)
        with state_conn.cursor() as cur:
            cur.execute("UPDATE walmart_listings SET status = 'draft', walmart_item_id = NULL, wpid = NULL, "
                        "feed_id = NULL WHERE status <> 'error' OR error_code <> 'IDENTIFIER'")
        matcher = build_matcher(settings, WalmartClient(settings.walmart), connect_commerce(settings), state_conn)
        drafts = matcher.store.count("draft")
        started = time.monotonic()
        timeline: list[tuple[float, int]] = []
        while time.monotonic() - started < window_s and matcher.store.count("draft"):
            matcher.step(max_drafts=SEARCH_CHUNK)
            timeline.append((time.monotonic() - started, drafts - matcher.store.count("draft")))
        state = requests.get(f"{url}/_emulator/state", timeout=30).json()
    finally:
        emulator.terminate()
        emulator.wait(30)
    search = PUBLISHED_LIMITS["walmart_search"]
    elapsed, searched = timeline[-1] if timeline else (window_s, 0)
    # the sustained rate: what was searched beyond the first bucket (which Walmart grants at once),
    # over the whole window: a conservative figure for the projection
    per_min = max(0, searched - search.capacity) / elapsed * 60 if elapsed else 0.0
    projected_s = (100_000 - search.capacity) / (per_min / 60) + FEED_DELAYS_S[1] \
        if per_min else None
    return {"real_searched": searched, "real_seconds": round(elapsed, 1), "real_searches_per_min": round(per_min, 1),
            "first_outcome_s": round(timeline[0][0], 2) if timeline else None,
            "projected_100k_hours": round(projected_s / 3600, 2) if projected_s else None,
            "real_throttled": sum(state["throttled"].values()), "real_throttled_by_api": state["throttled"]}


if __name__ == "__main__":
    sys.exit(main())
