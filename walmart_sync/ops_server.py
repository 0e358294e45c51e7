"""The operations endpoint every long-running walmart-sync process serves.

``/healthz`` answers while the process is alive; ``/readyz`` answers 200 only while every
registered readiness check passes (connected, caught up), and 503 with the failing checks
otherwise, so an orchestrator stops routing to or restarts a stuck process. Bound to localhost
unless configured otherwise. Metrics join this server in the operability work.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ReadinessCheck = Callable[[], tuple[bool, str]]


class OpsServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 9108):
        self._checks: dict[str, ReadinessCheck] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path == "/healthz":
                    self._reply(200, {"status": "alive"})
                elif self.path == "/readyz":
                    results = server.readiness()
                    ready = all(ok for ok, _ in results.values())
                    self._reply(200 if ready else 503, {
                        "status": "ready" if ready else "not ready",
                        "checks": {k: {"ok": ok, "detail": d} for k, (ok, d) in results.items()},
                    })
                else:
                    self._reply(404, {"error": f"no such endpoint {self.path}"})

            def _reply(self, status: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:  # probes are not news
                pass

        self._http = ThreadingHTTPServer((host, port), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="ops-server",
                                        daemon=True)

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    def add_readiness_check(self, name: str, check: ReadinessCheck) -> None:
        self._checks[name] = check

    def readiness(self) -> dict[str, tuple[bool, str]]:
        results = {}
        for name, check in list(self._checks.items()):
            try:
                results[name] = check()
            except Exception as exc:  # a failing check means not ready, never a crash
                results[name] = (False, f"check raised {type(exc).__name__}: {exc}")
        return results

    def start(self) -> OpsServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def __enter__(self) -> OpsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def probe(host: str, port: int, path: str = "/healthz", timeout: float = 3.0) -> tuple[bool, str]:
    """What the container HEALTHCHECK runs: True when the endpoint answers 200."""
    import urllib.error
    import urllib.request

    target = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    try:
        with urllib.request.urlopen(f"http://{target}:{port}{path}", timeout=timeout) as response:
            return response.status == 200, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return False, exc.read().decode(errors="replace")
    except OSError as exc:
        return False, str(exc)
