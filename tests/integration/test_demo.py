"""`walmart-sync demo`, the README's first command, run as a user runs it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devstack.processes import child_pids, pid_alive
from operations.ops_server import probe
from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT


def _stack_pids(base_dir: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if base_dir in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _run(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "walmart_sync.cli", "demo", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC")})


def test_demo_runs_the_whole_sidecar_agrees_and_stops_cleanly() -> None:
    """The README's first command, kept running like a user would to look around, then SIGTERM."""
    started_at = datetime.now(UTC)
    proc = _run("--products", "150", "--keep-running")
    lines = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "press Ctrl-C" in line or not line:
            break
    output = "".join(lines)
    assert "press Ctrl-C" in output, output
    assert "HEALTHY" in output and "UNHEALTHY" not in output
    assert "seeded in" in output and "150 catalog_product_entity" in output
    for check in ("binlog_format", "binlog_row_image", "binlog_row_metadata", "kafka", "state store"):
        assert re.search(rf"ok\s+{re.escape(check)}", output), check
    # listings: the emulator's catalogue lacks every 7th product
    assert re.search(r"matched 129, unmatched 21 \(not in Walmart's catalogue\), errors 0", output), output
    assert "Walmart holds every matched listing's salable quantity and effective price" in output
    # issue 20's rule: WS-000008 is in the seed's Walmart Apparel set, the rule named as `walmart-sync sku` names it;
    # its price is marked up 10% to the next .99 and half of each node's quantity offered
    rule = re.search(r"WS-000008\s+apparel \(attribute set Walmart Apparel\)\s+([\d.]+), (\d+)/(\d+)\s+([\d.]+), "
                     r"(\d+)/(\d+)", output)
    assert rule, output
    price, east, west, walmart_price, walmart_east, walmart_west = rule.groups()
    assert walmart_price.endswith(".99") and float(price) * 1.1 <= float(walmart_price) < float(price) * 1.1 + 1
    assert (int(walmart_east), int(walmart_west)) == (int(east) // 2, int(west) // 2)
    assert re.search(r"WS-000001\s+default \(the default rule\)", output)
    # both directions, each change timed, none missed
    for step in ("warehouse recount", "price of WS-000003 set to 24.99", "a shopper orders", "invoices and ships",
                 "the shopper returns", "Walmart return refunded through the Returns API", "the merchant cancels",
                 "a credit memo refunds", "asks to cancel"):
        assert step in output, step
    # issue 21's two nodes: the wh_east recount reaches node A only; the order from node B names wh_west, and once
    # shipped from it node A shows its own count again while node B is down the two units
    assert re.search(r"WS-000001 is node 1000000001 12, node 1000000002 \d+ \(each node", output), output
    assert "(PO " in output and "ship node 1000000002)" in output
    assert "the order names ship node 1000000002, source wh_west" in output
    assert re.search(r"WS-000005 is node 1000000001 38, node 1000000002 23 \(MSI reserves per stock", output), output
    assert "ships PO" in output and "from source wh_west" in output
    assert "WS-000005 is node 1000000001 40, node 1000000002 23 after" in output
    # issue 20's promotion: BASE 30.00 and the special 19.99 under the apparel rule (+10%, .99), sent to start on
    # Walmart 4 h + the 1 h margin from now at the soonest
    promo = re.search(r"Walmart holds BASE 33\.99 and a REDUCED promotion 21\.99 was 33\.99 .*?, "
                      r"(\d{4}-\d\d-\d\d \d\d:\d\d) to (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", output)
    assert promo, output
    starts = datetime.strptime(promo.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
    assert timedelta(hours=4) < starts - started_at < timedelta(hours=5, minutes=10), (starts, started_at)
    assert "NOT within" not in output and "16 of 16 changes reached the other side" in output
    assert "overall OK: every stage within its threshold" in output  # the lag table
    for name in ("orders", "order lines", "returns"):
        assert re.search(rf"ok\s+{name}\s+\d+ checked, all agree", output), name
    # every matched SKU at both nodes; the prices with the promotions Walmart holds among them (the seed's
    # special prices and the one above), each judged by the oracles
    assert re.search(r"ok\s+inventory\s+258 checked, all agree \(SKU x node, 2 nodes\)", output), output
    held = re.search(r"ok\s+price\s+(\d+) checked, all agree \((\d+) of them Walmart promotions\)", output)
    assert held and int(held.group(1)) == 129 + int(held.group(2)) and int(held.group(2)) >= 1, output
    assert "AGREE: Walmart and Commerce agree" in output
    # issue 16's default stock: a second deployment for website base / stock 1 on a second seller account
    assert "default stock: a single-source merchant (website base, stock 1, source default)" in output
    assert "the first full comparison put stock 1's salable quantity and the price of every listing on Walmart" \
        in output
    assert re.search(r"WS-000007\s+default source recounted to 7\s+7\s+7\s+[\d.]+ s", output), output
    assert re.search(r"WS-000014\s+disabled for all store views\s+0\s+0\s+[\d.]+ s", output), output
    second = output[output.index("default stock: a single-source"):]
    for name in ("inventory", "price"):
        assert re.search(rf"ok\s+{name}\s+8 checked, all agree", second), name
    assert "AGREE (default stock)" in second
    assert "password" not in output.lower() and "Traceback" not in output

    # still running: the ops endpoint, the status page and the metrics answer
    base_dir = re.search(r"datadir (\S+)/mariadb/data", output).group(1)
    ops_port = int(re.search(r"ops\s+http://127.0.0.1:(\d+)/healthz", output).group(1))
    assert probe("127.0.0.1", ops_port, "/healthz")[0]
    ready, body = probe("127.0.0.1", ops_port, "/readyz")
    assert ready, body
    page_ok, page = probe("127.0.0.1", ops_port, "/status", timeout=30)
    # the support page's headline in plain words, and the engineer's detail one click down
    title = re.search(r"<title>(.*?)</title>", page)
    assert page_ok and title and title.group(1) == "walmart-sync: Everything is flowing; nothing needs a person.", \
        re.sub(r"<style>.*?</style>", "", page, flags=re.S)[:3000]
    detail_ok, detail = probe("127.0.0.1", ops_port, "/status/detail", timeout=30)
    assert detail_ok and "<title>walmart-sync detail: OK</title>" in detail, detail[:500]
    metrics_ok, metrics = probe("127.0.0.1", ops_port, "/metrics")
    assert metrics_ok and "walmart_sync_walmart_requests_total" in metrics
    pids = child_pids(proc.pid)
    names = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in pids}
    assert {"mariadbd"} <= names and any(n.startswith("tansu") for n in names), names

    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, rest
    assert "nothing left running" in rest
    # Children exit with the demo (multiprocessing's resource tracker notices a moment later).
    deadline = time.monotonic() + 10
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(p) for p in pids), [p for p in pids if pid_alive(p)]
    assert not Path(base_dir).exists()
    assert _stack_pids(base_dir) == []
