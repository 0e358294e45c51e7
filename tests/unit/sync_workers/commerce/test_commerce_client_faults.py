"""The Commerce REST client against answers a stock Magento never gives: a redirect to another host
(the order search that guards against duplicate orders must not be answered from elsewhere) and a
success whose body was cut short."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from config.settings import CommerceApiSettings
from devstack.walmart_emulator.server import EmulatorServer
from sync_workers.commerce.client import CommerceClient, CommerceServerError
from sync_workers.runtime.errors import classify


class Fixed:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.answer = status, headers, body
        self.seen: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            self.seen.append({"path": environ["PATH_INFO"], "authorization": environ.get("HTTP_AUTHORIZATION")})
        status, headers, body = self.answer
        start_response(status, headers + [("Content-Length", str(len(body)))])
        return [body]


def client(url: str) -> CommerceClient:
    return CommerceClient(CommerceApiSettings(base_url=url, token="integration-token-123"))


def test_a_redirect_to_another_host_is_not_followed_and_not_taken_as_no_order() -> None:
    empty_search = Fixed("200 OK", [("Content-Type", "application/json")], b'{"items": [], "total_count": 0}')
    with EmulatorServer(empty_search) as other:
        moved = Fixed("307 Temporary Redirect", [("Location", f"{other.url}/rest/default/V1/orders")], b"")
        with EmulatorServer(moved) as commerce, pytest.raises(CommerceServerError, match="not followed") as failure:
            client(commerce.url).find_orders("ext_order_id", "PO-1")
    assert empty_search.seen == []  # the integration token never reached the other host
    assert classify(failure.value) == "retry"


def test_a_success_cut_short_is_a_server_error() -> None:
    cut = Fixed("200 OK", [("Content-Type", "application/json")], b'{"items": [{"entity_id": 4')
    with EmulatorServer(cut) as commerce, pytest.raises(CommerceServerError, match="not valid JSON") as failure:
        client(commerce.url).find_orders("ext_order_id", "PO-1")
    assert classify(failure.value) == "retry"
