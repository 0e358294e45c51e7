"""The operations endpoint every long-running walmart-sync process serves.

``/healthz`` answers while the process is alive; ``/readyz`` answers 200 only while every
registered readiness check passes (connected, caught up), and 503 with the failing checks
otherwise, so an orchestrator stops routing to or restarts a stuck process. ``/metrics`` is the
Prometheus exposition of the process's registry. ``/status`` is the status page (and
``/status.json`` its data, ``/status/detail`` the engineer's view, ``/status/lookup?q=`` the SKU and
PO lookups, ``POST /status/replay`` a dead letter's replay after a confirmation page), behind
``ops.status_token`` for every client (closed without one unless ``ops.status_open``). Bound to
localhost unless configured otherwise.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

ReadinessCheck = Callable[[], tuple[bool, str]]
STATUS_PAGES = ("/status", "/status.json", "/status/detail", "/status/lookup")


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class OpsServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 9108, registry: Any = None, status: Any = None,
                 status_token: str | None = None, status_open: bool = False):
        self._checks: dict[str, ReadinessCheck] = {}
        self.registry = registry
        self.status = status  # a operations.status_page.StatusSource, or None
        self.status_token = status_token
        self.status_open = status_open
        self._status_lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/healthz":
                    self._reply(200, {"status": "alive"})
                elif url.path == "/readyz":
                    results = server.readiness()
                    ready = all(ok for ok, _ in results.values())
                    self._reply(200 if ready else 503, {
                        "status": "ready" if ready else "not ready",
                        "checks": {k: {"ok": ok, "detail": d} for k, (ok, d) in results.items()},
                    })
                elif url.path == "/metrics" and server.registry is not None:
                    self._send(200, generate_latest(server.registry), CONTENT_TYPE_LATEST)
                elif url.path in STATUS_PAGES and server.status is not None:
                    query = parse_qs(url.query)
                    token = query.get("token", [""])[0]
                    if self._authorized(token):
                        self._status(url.path, token, query)
                else:
                    self._reply(404, {"error": f"no such endpoint {url.path}"})

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/status/replay" or server.status is None:
                    self._reply(404, {"error": f"no such endpoint {url.path}"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(min(length, 65536)).decode(errors="replace"))
                token = form.get("token", [""])[0]
                if self._authorized(token):
                    self._replay(token, form)

            def _authorized(self, token: str) -> bool:
                # every client, loopback included: behind a reverse proxy on the same host every client
                # is loopback, so "this host needs no token" meant no token at all
                if server.status_open:
                    return True
                if not server.status_token:
                    self._reply(403, {"error": "the status page is closed: set ops.status_token (or "
                                               "ops.status_open = true behind your own authentication)"})
                    return False
                offered = token or self.headers.get("Authorization", "").removeprefix("Bearer ")
                if not hmac.compare_digest(offered.encode(), server.status_token.encode()):
                    self._reply(401, {"error": "the status page needs ?token= (ops.status_token)"})
                    return False
                return True

            def _status(self, path: str, token: str, query: dict[str, list[str]]) -> None:
                from operations import status_page

                try:
                    if path == "/status/lookup":
                        q = query.get("q", [""])[0].strip()
                        kind, text = server.status.lookup(q) if q else ("none", "type a SKU or a PO")
                        self._html(status_page.render_lookup(q, kind, text, token))
                        return
                    with server._status_lock:
                        data = server.status.data()
                except Exception as exc:
                    self._reply(503, {"error": f"status unavailable: {type(exc).__name__}: {exc}"})
                    return
                if path == "/status.json":
                    self._send(200, data.model_dump_json(indent=2).encode(), "application/json")
                elif path == "/status/detail":
                    self._html(status_page.render_detail(data, token))
                else:
                    self._html(status_page.render(data, token))

            def _replay(self, token: str, form: dict[str, list[str]]) -> None:
                """Asked once without ``confirm``: the letter is shown and confirmation asked; then replayed."""
                from config.components import WORKERS
                from operations import status_page

                worker = form.get("worker", [""])[0]
                try:
                    partition, offset = int(form.get("partition", [""])[0]), int(form.get("offset", [""])[0])
                except ValueError:
                    partition = offset = -1
                if worker not in WORKERS or partition < 0 or offset < 0:
                    self._html(status_page.render_message("Not replayed", "no such dead letter", token), 400)
                    return
                try:
                    letter = server.status.letter(worker, partition, offset)
                    if letter is None:
                        self._html(status_page.render_message(
                            "Not replayed", f"{worker} has no dead letter at {partition}@{offset}", token), 404)
                    elif form.get("confirm", [""])[0] != "yes":
                        self._html(status_page.render_confirm(worker, partition, offset,
                                                              server.status.show_letter(letter), token))
                    else:
                        replayed, skipped = server.status.replay(worker, letter)
                        self._html(status_page.render_message(
                            "Replayed" if replayed else "Not replayed",
                            f"{worker} {partition}@{offset}: " + ("sent back to its topic; the worker handles it "
                                                                  "again" if replayed else
                                                                  "already replayed before (walmart-sync dlq replay "
                                                                  "--force repeats it)"), token))
                except Exception as exc:
                    self._reply(503, {"error": f"replay unavailable: {type(exc).__name__}: {exc}"})

            def _html(self, page: str, status: int = 200) -> None:
                self._send(status, page.encode(), "text/html; charset=utf-8")

            def _reply(self, status: int, body: dict) -> None:
                self._send(status, json.dumps(body).encode(), "application/json")

            def _send(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Cache-Control", "no-store")
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
        if self.status is not None:
            self.status.close()

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
