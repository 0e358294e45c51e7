"""The Walmart client against a hostile network: answers Walmart's specs do not show (a redirect to
another host, a body cut short, a far-future replenishment time, both header spellings) from a
scripted server on loopback, with every request it received recorded."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from config.settings import WalmartSettings
from devstack.walmart_emulator.server import EmulatorServer
from sync_workers.runtime.errors import classify
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartServerError

Answer = tuple[str, list[tuple[str, str]], bytes]
TOKEN: Answer = ("200 OK", [("Content-Type", "application/json")],
                 json.dumps({"access_token": "t0k", "token_type": "Bearer", "expires_in": 900}).encode())
INVENTORY: Answer = ("200 OK", [("Content-Type", "application/json")],
                     json.dumps({"sku": "A-1", "quantity": {"unit": "EACH", "amount": 7}}).encode())


class Scripted:
    """A WSGI app answering /v3/token with a token and everything else from a script, in order."""

    def __init__(self, script: list[Answer]):
        self.script = list(script)
        self.seen: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ["PATH_INFO"]
        with self.lock:
            self.seen.append({"path": path, "at": time.monotonic(),
                              "correlation_id": environ.get("HTTP_WM_QOS.CORRELATION_ID"),
                              "token": environ.get("HTTP_WM_SEC.ACCESS_TOKEN")})
            status, headers, body = TOKEN if path == "/v3/token" else self.script.pop(0)
        start_response(status, headers + [("Content-Length", str(len(body)))])
        return [body]

    def calls(self, path: str) -> list[dict[str, Any]]:
        return [s for s in self.seen if s["path"] == path]


@contextmanager
def walmart(script: list[Answer], **settings: Any) -> Iterator[tuple[WalmartClient, Scripted, EmulatorServer]]:
    app = Scripted(script)
    with EmulatorServer(app) as server:
        client = WalmartClient(WalmartSettings(base_url=server.url, client_id="c", client_secret="s", **settings),
                               backoff_base_s=0.01, backoff_cap_s=0.05)
        yield client, app, server


def test_one_correlation_id_for_a_call_and_its_retries() -> None:
    busy: Answer = ("503 Service Unavailable", [("Content-Type", "application/json")], b'{"errors": []}')
    with walmart([busy, busy, INVENTORY]) as (client, app, _server):
        assert client.get_inventory("A-1").quantity.amount == 7
    ids = [c["correlation_id"] for c in app.calls("/v3/inventory")]
    assert len(ids) == 3 and len(set(ids)) == 1 and ids[0]


@pytest.mark.parametrize("header", ["x-next-replenishment-time", "x-next-replenish-time"])
def test_a_429_waits_for_the_replenishment_either_header_names(header: str) -> None:
    def throttled() -> Answer:
        at = str(int((time.time() + 0.6) * 1000))
        return ("429 Too Many Requests", [("Content-Type", "application/json"), (header, at),
                                          ("x-current-token-count", "0")], b'{"errors": []}')
    with walmart([throttled(), INVENTORY]) as (client, app, _server):
        client.get_inventory("A-1")
    first, second = app.calls("/v3/inventory")
    assert second["at"] - first["at"] >= 0.5


def test_a_far_future_replenishment_pauses_no_longer_than_the_cap() -> None:
    ten_minutes = str(int((time.time() + 600) * 1000))
    throttled: Answer = ("429 Too Many Requests", [("Content-Type", "application/json"),
                                                   ("x-next-replenishment-time", ten_minutes)], b'{"errors": []}')
    with walmart([throttled, INVENTORY], max_throttle_pause_s=0.5) as (client, app, _server):
        started = time.monotonic()
        client.get_inventory("A-1")
    assert time.monotonic() - started < 5
    assert len(app.calls("/v3/inventory")) == 2


def test_a_redirect_to_another_host_is_not_followed_with_the_token() -> None:
    elsewhere = Scripted([INVENTORY])
    with EmulatorServer(elsewhere) as other:
        moved: Answer = ("307 Temporary Redirect", [("Location", f"{other.url}/v3/inventory?sku=A-1")], b"")
        with walmart([moved]) as (client, _app, _server), pytest.raises(WalmartServerError) as failure:
            client.update_inventory("A-1", 5)
    assert elsewhere.seen == []  # neither the body nor WM_SEC.ACCESS_TOKEN went there
    assert "not followed" in str(failure.value)
    assert classify(failure.value) == "retry"  # the value is not recorded as confirmed; it is pushed again


def test_a_body_cut_short_is_a_server_error_not_a_crash() -> None:
    cut: Answer = ("200 OK", [("Content-Type", "application/json")], b'{"sku": "A-1", "quanti')
    with walmart([cut, INVENTORY]) as (client, app, _server):
        assert client.get_inventory("A-1").quantity.amount == 7  # retried like a dropped connection
    with walmart([cut, cut, cut, cut, cut, cut, cut, cut]) as (client, _app, _server), \
            pytest.raises(WalmartServerError, match="not valid JSON") as failure:
        client.get_inventory("A-1")
    assert classify(failure.value) == "retry"


def test_a_feed_id_with_an_at_sign_is_sent_escaped_in_the_path() -> None:
    """Walmart's feed ids hold '@'; unescaped, some gateways read the path differently."""
    import socket

    lines: list[bytes] = []
    body = json.dumps({"feedId": "X", "feedStatus": "PROCESSED", "itemDetails": {"itemIngestionStatus": []}}).encode()

    def serve(listener: socket.socket) -> None:
        for _ in range(2):  # the token, then the feed status
            conn, _addr = listener.accept()
            with conn:
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(65536)
                lines.append(request.split(b"\r\n", 1)[0])
                answer = TOKEN[2] if b"/v3/token" in request else body
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                             b"Content-Length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer)

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        thread = threading.Thread(target=serve, args=(listener,), daemon=True)
        thread.start()
        port = listener.getsockname()[1]
        client = WalmartClient(WalmartSettings(base_url=f"http://127.0.0.1:{port}", client_id="c", client_secret="s"))
        try:
            client.feeds.status("5468BBF0@AU8BAQA")
        except Exception:
            pass
        thread.join(10)
    assert any(line.startswith(b"GET /v3/feeds/5468BBF0%40AU8BAQA") for line in lines), lines


@pytest.mark.parametrize("walmart_ahead_s", [120.0, -120.0], ids=["walmart_ahead", "walmart_behind"])
def test_a_429_waits_by_walmarts_clock_whatever_the_skew(walmart_ahead_s: float) -> None:
    """``x-next-replenishment-time`` is a moment on Walmart's clock: read against this host's clock,
    Walmart 2 minutes ahead made a 1 s wait the full pause cap (60 s), and 2 minutes behind made it
    none (a retry straight into the next 429). The Date header of the same answer gives the skew."""
    from email.utils import formatdate

    def throttled() -> Answer:
        walmart_now = time.time() + walmart_ahead_s
        return ("429 Too Many Requests", [("Content-Type", "application/json"),
                                          ("Date", formatdate(walmart_now, usegmt=True)),
                                          ("x-next-replenishment-time", str(int((walmart_now + 1.0) * 1000))),
                                          ("x-current-token-count", "0")], b'{"errors": []}')
    with walmart([throttled(), INVENTORY]) as (client, app, _server):
        client.get_inventory("A-1")
    first, second = app.calls("/v3/inventory")
    assert 0.4 <= second["at"] - first["at"] < 5, second["at"] - first["at"]
