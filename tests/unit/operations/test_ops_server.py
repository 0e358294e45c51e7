"""The ops endpoint and the container health probe, over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from operations.ops_server import OpsServer, probe


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


def test_the_status_page_needs_its_token_from_every_client() -> None:
    """Loopback included: behind a reverse proxy on the same host every client is loopback. Without a
    token the page is closed (unless ops.status_open); probes and Prometheus stay open."""
    import requests

    from operations.lag.report import LagReport
    from operations.status_page import StatusData

    class Source:  # the page's data; what it shows is tests/unit/operations/test_lag.py's concern
        def data(self) -> StatusData:
            report = LagReport(generated_at="now", window_s=60, stages=[])
            return StatusData(report=report, overall="OK", components=[], letters=[], orders=[], returns=[])

        def close(self) -> None:
            pass

    with OpsServer("127.0.0.1", 0, status=Source(), status_token="s3cret-token") as ops:
        base = f"http://127.0.0.1:{ops.port}"
        local = requests.get(f"{base}/status", timeout=5)
        assert local.status_code == 401 and "token" in local.text  # this host too
        assert requests.get(f"{base}/status?token=wrong", timeout=5).status_code == 401
        page = requests.get(f"{base}/status?token=s3cret-token", timeout=5)
        assert page.status_code == 200 and "walmart-sync" in page.text
        bearer = requests.get(f"{base}/status.json", timeout=5, headers={"Authorization": "Bearer s3cret-token"})
        assert bearer.status_code == 200 and bearer.json()["overall"] == "OK"
        assert requests.get(f"{base}/healthz", timeout=5).status_code == 200  # probes stay open
    with OpsServer("127.0.0.1", 0, status=Source()) as ops:
        closed = requests.get(f"http://127.0.0.1:{ops.port}/status", timeout=5)
        assert closed.status_code == 403 and "ops.status_token" in closed.text
    with OpsServer("127.0.0.1", 0, status=Source(), status_open=True) as ops:
        assert requests.get(f"http://127.0.0.1:{ops.port}/status", timeout=5).status_code == 200


def test_healthcheck_finds_the_port_where_the_deployment_set_it(tmp_path) -> None:
    """The TOML file (by --config or WALMART_SYNC_CONFIG) and --set, like every command; the other
    sections may be incomplete (a probe must not fail on them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC_")}
    with OpsServer("127.0.0.1", 0) as ops:
        config = tmp_path / "walmart-sync.toml"
        config.write_text(f"[ops]\nhost = \"0.0.0.0\"\nport = {ops.port}\n")
        cli = [sys.executable, "-m", "walmart_sync.cli"]
        by_flag = subprocess.run([*cli, "--config", str(config), "healthcheck"], capture_output=True, text=True,
                                 env=env, timeout=30)
        by_env = subprocess.run([*cli, "healthcheck"], capture_output=True, text=True, timeout=30,
                                env={**env, "WALMART_SYNC_CONFIG": str(config)})
        by_set = subprocess.run([*cli, "--set", f"ops.port={ops.port}", "healthcheck"], capture_output=True,
                                text=True, env=env, timeout=30)
    for result in (by_flag, by_env, by_set):
        assert result.returncode == 0 and "alive" in result.stdout, result.stdout + result.stderr
