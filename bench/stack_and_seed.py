"""Benchmark: embedded stack start/stop, Commerce DDL load and seeding, per edition.

    python bench/stack_and_seed.py [--products 10000]

Prints a short table and, as its last line, one JSON object. Targets (2-core machine): stack
ready < 3 s, 10,000 products seeded < 10 s in either edition.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from devstack.commerce_db import create_commerce_database
from devstack.seed import seed_commerce
from devstack.stack import LocalStack

TARGETS = {"stack_start_s": 3.0, "seed_open_source_s": 10.0, "seed_adobe_commerce_s": 10.0}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=10_000)
    args = parser.parse_args()
    results: dict[str, float] = {"products": args.products}
    started = time.perf_counter()
    stack = LocalStack().start()
    results["stack_start_s"] = time.perf_counter() - started
    try:
        for edition in ("open_source", "adobe_commerce"):
            t = time.perf_counter()
            create_commerce_database(stack.endpoints.mysql, f"bench_{edition}", edition)
            results[f"ddl_{edition}_s"] = time.perf_counter() - t
            conn = stack.endpoints.mysql.connect(f"bench_{edition}", autocommit=False)
            summary = seed_commerce(conn, edition, args.products)
            conn.close()
            results[f"seed_{edition}_s"] = summary.seconds
            results[f"seed_{edition}_products_per_s"] = args.products / summary.seconds
    finally:
        t = time.perf_counter()
        stack.stop()
        results["stack_stop_s"] = time.perf_counter() - t
    results["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'figure':<36}{'value':>12}{'target':>10}")
    for key, value in results.items():
        target = TARGETS.get(key)
        verdict = "" if target is None else ("  ok" if value <= target else "  MISSED")
        print(f"{key:<36}{value:>12.2f}{'' if target is None else f'{target:>10.1f}'}{verdict}")
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))
    missed = [key for key, target in TARGETS.items() if key in results and results[key] > target]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
