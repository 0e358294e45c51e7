"""Benchmark: the listener on a store-shaped binlog, against every other reader of the same binlog.

    python bench/cdc_realistic.py [--quick]

Builds one binlog with devstack/store_traffic.py (sessions, visitors, the reports event log, carts,
cron, orders, stock and price changes, and full rebuilds of the price, stock and search indexes;
>= 90% of its rows in tables the sidecar ignores), then reads that same binlog range with:
  - the listener (`walmart-sync listen --from FILE:POS` as its own process), fast path (the shipped
    default) and full-parse path (`cdc.fast_path=false`), each from starting to stream (its "starting
    at a given position" log line, once its publisher is connected to Kafka) until its checkpoint
    (all acked by Kafka) reaches the end, at the shipped settings (so the end is seen up to one
    `cdc.checkpoint_interval_ms`, 500 ms, late); `listener_process_s` is the same run from its
    spawn; `listener_checkpoint_50ms_s` a labelled extra run checkpointing every 50 ms;
  - raw python-mysql-replication with the listener's filter (only_schemas + only_tables, rows
    events, every row materialised), and unfiltered (every table);
  - `mariadb-binlog` over the same binlog file range (local file, output discarded);
  - Debezium's MySQL connector over the same range (devstack/debezium.py `measure_rows_per_second`).
Both listener paths publish to topics of their own; events_identical says whether they published
the same events (all fields but captured_at) in the same order per partition.
Last line: JSON. Targets: ratio_vs_raw_filtered >= 1.5, ratio_vs_debezium >= 1.0,
ratio_mb_vs_mariadb_binlog >= 0.5, events_identical; the exit code is 1 when one is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pymysqlreplication import BinLogStreamReader  # noqa: E402
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent  # noqa: E402

from cdc_listener.position import BinlogPosition  # noqa: E402
from cdc_listener.stream import current_position  # noqa: E402
from cdc_listener.translate import WATCHED_TABLES  # noqa: E402
from devstack.environment import CommerceEnvironment, prepare_environment  # noqa: E402
from devstack.mariadb import MariaDBServer, find_binary  # noqa: E402
from devstack.processes import child_pids  # noqa: E402
from devstack.stack import LocalStack  # noqa: E402
from devstack.store_traffic import StoreTraffic, create_runtime_tables, published  # noqa: E402

PRODUCTS = 2000
TARGETS = {"ratio_vs_raw_filtered": 1.5, "ratio_vs_debezium": 1.0, "ratio_mb_vs_mariadb_binlog": 0.5}
STARTED_LINE = "starting at a given position"


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds the processes used so far."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Timing:
    """Wall seconds, and the CPU seconds the reader itself used in them (on a loaded machine the
    wall clock mostly measures the other processes' share)."""

    wall_s: float
    cpu_s: float
    publisher_cpu_s: float = 0.0
    first_checkpoint_s: float = 0.0  # listener: until its first checkpoint (first acks)
    process_s: float = 0.0  # listener: from the process's spawn (imports, preflight, catalog, publisher start)


def raw_decode(env: CommerceEnvironment, start: BinlogPosition, end: BinlogPosition,
               filtered: bool) -> tuple[int, Timing]:
    db = env.settings().commerce_db
    filters: dict[str, Any] = ({"only_schemas": [db.database], "only_tables": list(WATCHED_TABLES)}
                               if filtered else {})
    reader = BinLogStreamReader(
        {"host": db.host, "port": db.port, "user": db.user, "passwd": db.password.get_secret_value()},
        server_id=9998 if filtered else 9997, blocking=False, resume_stream=True, log_file=start.log_file,
        log_pos=start.log_pos, only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent],
        enable_logging=False, **filters)
    rows = 0
    began, cpu = time.perf_counter(), time.thread_time()
    for event in reader:
        for _row in event.rows:
            rows += 1
        if (reader.log_file, reader.log_pos) >= (end.log_file, end.log_pos):
            break
    timing = Timing(time.perf_counter() - began, time.thread_time() - cpu)
    reader.close()
    return rows, timing


def mariadb_binlog(stack: LocalStack, start: BinlogPosition, end: BinlogPosition) -> Timing:
    binary = find_binary("mariadb-binlog")
    path = stack.mariadb.datadir / start.log_file
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run([binary, "--no-defaults", f"--start-position={start.log_pos}",
                    f"--stop-position={end.log_pos}", str(path)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Timing(wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


def listener_run(env: CommerceEnvironment, start: BinlogPosition, end: BinlogPosition, name: str,
                 fast: bool, checkpoint_interval_ms: int | None = None) -> Timing:
    """From the listener starting to stream until its checkpoint reaches ``end``; CPU of the
    decoding process and (apart) of its publisher process."""
    env_vars = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC")}
    sets = [f"cdc.name={name}", f"cdc.fast_path={str(fast).lower()}", f"kafka.topic_prefix=realistic-{name}"]
    if checkpoint_interval_ms is not None:  # a labelled extra run; the shipped default otherwise
        sets.append(f"cdc.checkpoint_interval_ms={checkpoint_interval_ms}")
    spawned = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "walmart_sync.cli", "--config", str(env.config_path),
                             *[a for s in sets for a in ("--set", s)], "--log-level", "warning",
                             "listen", "--from", f"{start.log_file}:{start.log_pos}"],
                            cwd=ROOT, env=env_vars, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    started = threading.Event()
    began: list[float] = []
    cpu_began: list[float] = []
    log: list[str] = []

    def watch_log() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if STARTED_LINE in line and not started.is_set():
                began.append(time.perf_counter())
                cpu_began.extend((cpu_s([proc.pid]), cpu_s(child_pids(proc.pid))))
                started.set()
            log.append(line)

    watcher = threading.Thread(target=watch_log, daemon=True)
    watcher.start()
    state = env.endpoints.mysql.connect(env.state_db)
    first: float | None = None
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"listener exited: {''.join(log)[-2000:]}")
            row = None
            if started.is_set():
                with state.cursor() as cur:
                    cur.execute("SELECT log_file, log_pos FROM cdc_checkpoint WHERE name = %s", (name,))
                    row = cur.fetchone()
                state.commit()
            if row is not None and first is None:
                first = time.perf_counter()
            if row is not None and (row[0], row[1]) >= (end.log_file, end.log_pos):
                done = time.perf_counter()
                cpu_done = (cpu_s([proc.pid]), cpu_s(child_pids(proc.pid)))
                break
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        state.close()
    assert first is not None
    return Timing(done - began[0], cpu_done[0] - cpu_began[0], cpu_done[1] - cpu_began[1], first - began[0],
                  done - spawned)


def debezium_module() -> Any:
    """devstack/debezium.py when it is there (another change brings it), else None."""
    try:
        from devstack import debezium  # type: ignore[attr-defined]
    except ImportError:
        return None
    return debezium if hasattr(debezium, "measure_rows_per_second") else None


def local_stack() -> LocalStack:
    """The stack; when Debezium is measured, its MariaDB with the options Debezium's MySQL
    connector needs (``DEBEZIUM_MARIADB_ARGS``), so every reader reads the same server."""
    stack = LocalStack()
    debezium = debezium_module()
    extra = getattr(debezium, "DEBEZIUM_MARIADB_ARGS", None) if debezium else None
    if extra:
        stack.mariadb = MariaDBServer(stack.base_dir / "mariadb", extra_args=extra)  # type: ignore[call-arg]
    return stack


def debezium_rate(stack: LocalStack, env: CommerceEnvironment, start: BinlogPosition,
                  watched_rows: int) -> tuple[float | None, str]:
    """Debezium over the same binlog range as every other reader (the store's traffic, not the
    seeding before it, whose rows are nearly all in watched tables and read several times faster)."""
    debezium = debezium_module()
    if debezium is None:
        return None, "Debezium was not measured: devstack.debezium.measure_rows_per_second is missing"
    rate = debezium.measure_rows_per_second(stack.endpoints, env.commerce_db, list(WATCHED_TABLES), watched_rows,
                                            stack.base_dir / "debezium", 600.0,
                                            start=(start.log_file, start.log_pos))
    return float(rate), ("Debezium MySQL connector: same binlog range, table include list, broker and server; "
                         "rows/s from its first acknowledged batch to its last (JVM start-up, connecting and "
                         "its first batch outside the span)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 40 if args.quick else 600
    notes: list[str] = []
    with local_stack() as stack:
        env = prepare_environment(stack.endpoints, stack.base_dir / "bench", "open_source", PRODUCTS)
        with env.admin_connection(autocommit=False) as conn:
            with conn.cursor() as cur:  # the private server: building the binlog need not fsync per commit
                cur.execute("SET GLOBAL innodb_flush_log_at_trx_commit = 2")
            create_runtime_tables(conn)
            start = current_position(conn)
            built = time.perf_counter()
            counts = StoreTraffic(conn, PRODUCTS, env.seed.attribute_ids["price"]).run(
                rounds, rebuild_every=20 if args.quick else 100)
            build_s = time.perf_counter() - built
            end = current_position(conn)
        if start.log_file != end.log_file:
            raise RuntimeError(f"the workload spans binlog files ({start.log_file}..{end.log_file})")
        binlog_mb = (end.log_pos - start.log_pos) / 1e6
        watched_rows, raw_filtered = raw_decode(env, start, end, filtered=True)
        all_rows, raw_all = raw_decode(env, start, end, filtered=False)
        mariadb = mariadb_binlog(stack, start, end)
        full = listener_run(env, start, end, "fullparse", fast=False)
        fast = listener_run(env, start, end, "fast", fast=True)
        fast_50ms = listener_run(env, start, end, "fast50ms", fast=True, checkpoint_interval_ms=50)
        fast_events = published(stack.endpoints.bootstrap_servers, "realistic-fast")
        full_events = published(stack.endpoints.bootstrap_servers, "realistic-fullparse")
        debezium_rows_s, debezium_note = debezium_rate(stack, env, start, watched_rows)
        notes.append(debezium_note)
    events = sum(len(v) for v in fast_events.values())
    identical = fast_events == full_events and events > 0
    listener_rows_s = watched_rows / fast.wall_s
    raw_filtered_rows_s = watched_rows / raw_filtered.wall_s
    mariadb_mb_s = binlog_mb / mariadb.wall_s
    result: dict[str, Any] = {
        "binlog_mb": round(binlog_mb, 1), "transactions": counts.transactions, "rows": all_rows,
        "watched_rows": watched_rows, "stock_and_price_rows": counts.stock_and_price_rows, "events": events,
        "ignored_row_share": round(1 - watched_rows / all_rows, 3), "build_s": round(build_s, 1),
        "listener_s": round(fast.wall_s, 3), "listener_first_checkpoint_s": round(fast.first_checkpoint_s, 3),
        "listener_process_s": round(fast.process_s, 3),
        "listener_checkpoint_50ms_s": round(fast_50ms.wall_s, 3),
        "listener_full_parse_s": round(full.wall_s, 3), "listener_rows_s": round(listener_rows_s),
        "listener_mb_s": round(binlog_mb / fast.wall_s, 1),
        "listener_full_parse_rows_s": round(watched_rows / full.wall_s),
        "listener_full_parse_mb_s": round(binlog_mb / full.wall_s, 1),
        "raw_filtered_rows_s": round(raw_filtered_rows_s), "raw_filtered_mb_s": round(binlog_mb / raw_filtered.wall_s, 1),
        "raw_unfiltered_rows_s": round(all_rows / raw_all.wall_s),
        "raw_unfiltered_mb_s": round(binlog_mb / raw_all.wall_s, 1),
        "mariadb_binlog_mb_s": round(mariadb_mb_s, 1),
        "debezium_rows_s": None if debezium_rows_s is None else round(debezium_rows_s),
        "ratio_vs_raw_filtered": round(listener_rows_s / raw_filtered_rows_s, 2),
        "ratio_full_parse_vs_raw_filtered": round(raw_filtered.wall_s / full.wall_s, 2),
        "ratio_vs_debezium": None if not debezium_rows_s else round(listener_rows_s / debezium_rows_s, 2),
        "ratio_mb_vs_mariadb_binlog": round(mariadb.wall_s / fast.wall_s, 2),
        # per CPU second of the reader's own processes (the MariaDB server's dump thread not counted)
        "listener_cpu_s": round(fast.cpu_s, 2), "listener_publisher_cpu_s": round(fast.publisher_cpu_s, 2),
        "listener_full_parse_cpu_s": round(full.cpu_s, 2),
        "raw_filtered_cpu_s": round(raw_filtered.cpu_s, 2), "mariadb_binlog_cpu_s": round(mariadb.cpu_s, 2),
        "cpu_ratio_vs_raw_filtered": round(raw_filtered.cpu_s / fast.cpu_s, 2) if fast.cpu_s else None,
        "cpu_ratio_mb_vs_mariadb_binlog": round(mariadb.cpu_s / fast.cpu_s, 2) if fast.cpu_s else None,
        "load_average_1m": round(os.getloadavg()[0], 1),
        "events_identical": identical,
    }
    labels = {"listener_full_parse_rows_s": "(cdc.fast_path=false, labelled extra row)",
              "listener_process_s": "(from spawn: start-up included)",
              "listener_checkpoint_50ms_s": "(cdc.checkpoint_interval_ms=50, labelled extra row)"}
    print(f"{'figure':<34}{'value':>12}  target")
    for key, value in result.items():
        target = f">= {TARGETS[key]}" if key in TARGETS else ("true" if key == "events_identical" else "")
        target = target or (">= 0.9" if key == "ignored_row_share" else labels.get(key, ""))
        print(f"{key:<34}{value!s:>12}  {target}")
    for note in notes:
        print(note)
    missed = [k for k, t in TARGETS.items() if result[k] is not None and result[k] < t]
    if result["ignored_row_share"] < 0.9:
        missed.append("ignored_row_share")
    if not identical:
        missed.append("events_identical")
    if missed:
        print("missed: " + ", ".join(missed))
    print(json.dumps(result))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
