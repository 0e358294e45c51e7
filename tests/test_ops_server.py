"""The ops endpoint and the container health probe, over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from walmart_sync.ops_server import OpsServer, probe


def test_healthz_and_readyz() -> None:
    state = {"caught_up": False}
    with OpsServer("127.0.0.1", 0) as ops:
        ops.add_readiness_check("binlog", lambda: (state["caught_up"], "lag 0.2 s"))
        assert probe("127.0.0.1", ops.port, "/healthz")[0]
        ok, body = probe("127.0.0.1", ops.port, "/readyz")
        assert not ok and json.loads(body)["checks"]["binlog"] == {"ok": False, "detail": "lag 0.2 s"}
        state["caught_up"] = True
        assert probe("127.0.0.1", ops.port, "/readyz")[0]
        ops.add_readiness_check("broken", lambda: 1 / 0)
        ok, body = probe("127.0.0.1", ops.port, "/readyz")
        assert not ok and "ZeroDivisionError" in body
        assert not probe("127.0.0.1", ops.port, "/nope")[0]


def test_healthcheck_command_exit_codes() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC_")}
    with OpsServer("127.0.0.1", 0) as ops:
        alive = subprocess.run([sys.executable, "-m", "walmart_sync.cli", "healthcheck", "--port",
                                str(ops.port)], capture_output=True, text=True, env=env, timeout=30)
        port = ops.port
    assert alive.returncode == 0 and "alive" in alive.stdout
    dead = subprocess.run([sys.executable, "-m", "walmart_sync.cli", "healthcheck"],
                          capture_output=True, text=True, timeout=30,
                          env={**env, "WALMART_SYNC_OPS__PORT": str(port)})
    assert dead.returncode == 1 and dead.stdout.startswith("unhealthy")
