"""Benchmark: a Walmart order created -> its Commerce order row.

    python bench/order_import.py [--quick] [--orders 60] [--poll-ms 2000]

Orders arrive on the Walmart emulator at a steady pace (one every 0.5 s); the order poller
(every ``--poll-ms``), the importer and the Commerce REST emulator run for real against the
local MariaDB. Latency = the moment the sales_order row exists (seen by a watcher polling the
database every 20 ms) - the moment Walmart created the order. Last line: JSON with p50_ms,
p99_ms, poll_interval_ms. Target: p99 <= poll interval + 2000 ms (Channel Manager: 35 min).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import print_table, summary
from devstack.commerce_emulator.app import CommerceEmulator
from devstack.environment import prepare_environment
from devstack.stack import LocalStack
from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from walmart_sync.components import build_poller, build_worker

TOKEN = "bench-token"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--poll-ms", type=int, default=2000)
    args = parser.parse_args()
    count = 15 if args.quick else args.orders
    with LocalStack() as stack:
        env = prepare_environment(stack.endpoints, stack.base_dir / "bench", "open_source", 200)
        walmart = WalmartEmulator({"local-client": "local-secret"})
        walmart.seed_items("local-client", [f"WS-{n:06d}" for n in range(1, 201)])
        commerce = CommerceEmulator(lambda: env.admin_connection(autocommit=False), TOKEN)
        with EmulatorServer(walmart) as walmart_server, EmulatorServer(commerce) as commerce_server:
            settings = env.settings(
                walmart={"base_url": walmart_server.url, "client_id": "local-client", "client_secret": "local-secret"},
                commerce_api={"base_url": commerce_server.url, "token": TOKEN, "store_code": "walmart_us"},
                workers={"coalesce_ms": 20, "order_poll_s": args.poll_ms / 1000})
            runners = [build_poller("order_poller", settings), build_worker("order_import", settings)]
            threads = [threading.Thread(target=r.run, daemon=True) for r in runners]
            for thread in threads:
                thread.start()
            runners[1].running.wait(30)
            time.sleep(6)  # the importer's consumer group settles before the clock starts
            created: dict[str, float] = {}
            landed: dict[str, float] = {}
            done = threading.Event()

            def watch() -> None:
                with env.admin_connection() as conn, conn.cursor() as cur:
                    while not done.is_set():
                        cur.execute("SELECT ext_order_id FROM sales_order WHERE ext_order_id IS NOT NULL")
                        now = time.time()
                        for (po,) in cur.fetchall():
                            landed.setdefault(po, now)
                        time.sleep(0.02)

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            for n in range(count):
                order = walmart.create_order("local-client", [{"sku": f"WS-{n % 200 + 1:06d}", "quantity": 1,
                                                               "unitPrice": 10.0}])
                created[order.purchase_order_id] = time.time()
                time.sleep(0.5)
            deadline = time.time() + 60
            while len([po for po in created if po in landed]) < count and time.time() < deadline:
                time.sleep(0.1)
            done.set()
            watcher.join(5)
            for runner in runners:
                runner.stop()
            for thread in threads:
                thread.join(30)
    latencies = [(landed[po] - at) * 1000 for po, at in created.items() if po in landed]
    stats = summary(latencies) if latencies else {"p50": None, "p99": None, "max": None}
    result = {"orders": count, "imported": len(latencies), "poll_interval_ms": args.poll_ms,
              "p50_ms": stats["p50"], "p99_ms": stats["p99"], "max_ms": stats["max"]}
    print_table([("p50_ms", stats["p50"], ""), ("p99_ms", stats["p99"], f"<= {args.poll_ms + 2000}"),
                 ("imported", f"{len(latencies)}/{count}", "all")])
    print(json.dumps(result))
    return 0 if len(latencies) == count else 1


if __name__ == "__main__":
    sys.exit(main())
