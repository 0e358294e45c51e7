"""Benchmark: raw binlog decoding vs the listener end to end (to acknowledged Kafka writes).

    python bench/cdc_throughput.py [--quick]

Builds one Commerce-shaped binlog on the embedded stack: stock (source items, reservations),
price updates, wide sales_order updates (decoded, no event) and unwatched-table noise (quote
rows). Then measures on that same binlog:
  (a) raw python-mysql-replication decoding of the watched tables, every row materialised;
  (b) `walmart-sync listen --from FILE:POS` as its own process, from becoming active until its
      checkpoint (everything acked by Kafka) reaches the end of the workload. RSS is the peak
      of the listener and its publisher process together.
Last line: JSON with raw_rows_per_s, listener_rows_per_s, ratio, listener_rss_mb.
Target: ratio >= 0.8 and RSS < 150 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pymysqlreplication import BinLogStreamReader  # noqa: E402
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent  # noqa: E402

from cdc_listener.stream import current_position  # noqa: E402
from cdc_listener.translate import WATCHED_TABLES  # noqa: E402
from devstack.environment import prepare_environment  # noqa: E402
from devstack.processes import child_pids  # noqa: E402
from devstack.stack import LocalStack  # noqa: E402


def build_workload(env, rounds: int, products: int) -> dict[str, int]:
    price = env.seed.attribute_ids["price"]
    counts = {"stock": 0, "price": 0, "sales_order": 0, "noise": 0}
    with env.admin_connection(autocommit=False) as conn, conn.cursor() as cur:
        for i in range(50):
            cur.execute("INSERT INTO sales_order (state, status, increment_id, store_id) "
                        "VALUES ('processing', 'processing', %s, 1)", (f"B{i:08d}",))
        conn.commit()
        cur.execute("SELECT MIN(entity_id) FROM sales_order")
        first_order = cur.fetchone()[0]
        for r in range(rounds):
            skus = [f"WS-{(r * 50 + k) % products + 1:06d}" for k in range(50)]
            cur.executemany("UPDATE inventory_source_item SET quantity = quantity + 1 WHERE sku = %s "
                            "AND source_code = 'default'", skus)
            cur.executemany("INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) "
                            "VALUES (2, %s, -1, '{\"event_type\":\"order_placed\"}')", skus)
            counts["stock"] += 100
            cur.executemany("UPDATE catalog_product_entity_decimal SET value = value + 0.01 "
                            "WHERE entity_id = %s AND attribute_id = %s AND store_id = 0",
                            [((r * 50 + k) % products + 1, price) for k in range(50)])
            counts["price"] += 50
            cur.execute("UPDATE sales_order SET updated_at = NOW(), total_qty_ordered = %s "
                        "WHERE entity_id BETWEEN %s AND %s", (r, first_order, first_order + 19))
            counts["sales_order"] += 20
            cur.executemany("INSERT INTO quote (store_id, items_count, customer_email) VALUES (1, %s, %s)",
                            [(k, f"noise{r}-{k}@example.com") for k in range(100)])
            counts["noise"] += 100
            conn.commit()
    return counts


def raw_decode(env, start, end) -> tuple[int, float]:
    db = env.settings().commerce_db
    reader = BinLogStreamReader(
        {"host": db.host, "port": db.port, "user": db.user, "passwd": db.password.get_secret_value()},
        server_id=9999, blocking=False, resume_stream=True, log_file=start.log_file,
        log_pos=start.log_pos, only_schemas=[db.database], only_tables=list(WATCHED_TABLES),
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent], enable_logging=False)
    rows = 0
    began = time.perf_counter()
    for event in reader:
        for _row in event.rows:
            rows += 1
        if (reader.log_file, reader.log_pos) >= (end.log_file, end.log_pos):
            break
    elapsed = time.perf_counter() - began
    reader.close()
    return rows, elapsed


def _peak_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def listener_run(env, start, end) -> tuple[float, float]:
    env_vars = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC")}
    proc = subprocess.Popen([sys.executable, "-m", "walmart_sync.cli", "--config", str(env.config_path),
                             "--set", "cdc.checkpoint_interval_ms=50", "--log-level", "warning",
                             "listen", "--from", f"{start.log_file}:{start.log_pos}"],
                            cwd=ROOT, env=env_vars, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    state = env.endpoints.mysql.connect(env.state_db)
    began = None
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"listener exited: {proc.stderr.read()[-2000:]}")
            with state.cursor() as cur:
                try:
                    cur.execute("SELECT log_file, log_pos FROM cdc_checkpoint WHERE name='default'")
                    row = cur.fetchone()
                except Exception:
                    row = None
            if row is not None and began is None:
                began = time.perf_counter()  # active, catalog loaded, streaming
            if row is not None and (row[0], row[1]) >= (end.log_file, end.log_pos):
                break
            time.sleep(0.01)
        elapsed = time.perf_counter() - began
        hwm = sum(_peak_rss_kb(pid) for pid in [proc.pid, *child_pids(proc.pid)])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        state.close()
    return elapsed, hwm / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 60 if args.quick else 400
    with LocalStack() as stack:
        env = prepare_environment(stack.endpoints, stack.base_dir / "bench", "open_source", 2000)
        with env.admin_connection() as conn:
            start = current_position(conn)
        built = time.perf_counter()
        counts = build_workload(env, rounds, 2000)
        with env.admin_connection() as conn:
            end = current_position(conn)
        build_s = time.perf_counter() - built
        rows, raw_s = raw_decode(env, start, end)
        listener_s, rss_mb = listener_run(env, start, end)
    raw_rate, listener_rate = rows / raw_s, rows / listener_s
    result = {"watched_rows": rows, "noise_rows": counts["noise"], "build_s": round(build_s, 2),
              "raw_s": round(raw_s, 3), "listener_s": round(listener_s, 3),
              "raw_rows_per_s": round(raw_rate), "listener_rows_per_s": round(listener_rate),
              "ratio": round(listener_rate / raw_rate, 3), "listener_rss_mb": round(rss_mb, 1)}
    print(f"{'figure':<24}{'value':>12}  target")
    for key, value in result.items():
        target = {"ratio": ">= 0.8", "listener_rss_mb": "< 150"}.get(key, "")
        print(f"{key:<24}{value:>12}  {target}")
    print(json.dumps(result))
    return 0 if result["ratio"] >= 0.8 and result["listener_rss_mb"] < 150 else 1  # a missed target fails


if __name__ == "__main__":
    sys.exit(main())
