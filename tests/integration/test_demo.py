"""`walmart-sync demo`, the README's first command, run as a user runs it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
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
    # both directions, each change timed, none missed
    for step in ("warehouse recount", "price of WS-000003 set to 24.99", "a shopper orders", "invoices and ships",
                 "the shopper returns", "Walmart return refunded through the Returns API", "the merchant cancels",
                 "a credit memo refunds", "asks to cancel"):
        assert step in output, step
    assert "NOT within" not in output and "15 of 15 changes reached the other side" in output
    assert "overall OK: every stage within its threshold" in output  # the lag table
    for name in ("inventory", "price", "orders", "order lines", "returns"):
        assert re.search(rf"ok\s+{name}\s+\d+ checked, all agree", output), name
    assert "AGREE: Walmart and Commerce agree" in output
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
