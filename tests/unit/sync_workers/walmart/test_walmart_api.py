"""Walmart emulator and client, against each other over real HTTP on loopback."""

from __future__ import annotations

import base64
import uuid

import pytest
import requests

from config.settings import WalmartSettings
from devstack.oracles.walmart_limits import Limit  # the emulator's limits, not the client's
from devstack.walmart_emulator.app import FaultConfig, WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from mappings.price import price_entry
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError, WalmartNotFound
from tests.support.paths import SHARED_REFERENCE, requires_reference
from tests.support.walmart_contract import ContractSession

SKUS = [f"WS-{n:06d}" for n in range(1, 21)]


@pytest.fixture
def emulator():
    app = WalmartEmulator({"local-client": "local-secret", "other-seller": "other-secret"})
    app.seed_items("local-client", SKUS)
    with EmulatorServer(app) as server:
        yield server


def client_for(server, **settings) -> WalmartClient:
    """A client whose every exchange is checked against Walmart's schemas (ContractSession)."""
    session = ContractSession()
    _SESSIONS.append(session)
    return WalmartClient(WalmartSettings(base_url=server.url, client_id="local-client",
                                         client_secret="local-secret", **settings), session=session)


_SESSIONS: list[ContractSession] = []


@pytest.fixture(autouse=True)
def _contract_sessions():
    _SESSIONS.clear()
    yield
    for session in _SESSIONS:
        session.assert_clean()
    _SESSIONS.clear()


def state(server, client_id: str = "local-client") -> dict:
    return requests.get(f"{server.url}/_emulator/state", params={"client_id": client_id}, timeout=5).json()


def headers(token: str | None = None, **extra) -> dict[str, str]:
    base = {"WM_QOS.CORRELATION_ID": str(uuid.uuid4()), "WM_SVC.NAME": "Walmart Marketplace",
            "Accept": "application/json"}
    if token:
        base["WM_SEC.ACCESS_TOKEN"] = token
    return base | extra


def raw_token(server, client_id="local-client", secret="local-secret", grant="client_credentials"):
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return requests.post(f"{server.url}/v3/token", data={"grant_type": grant}, timeout=5,
                         headers=headers(Authorization=f"Basic {basic}"))


def test_token_endpoint(emulator) -> None:
    ok = raw_token(emulator)
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["access_token"]
    bad = raw_token(emulator, secret="wrong")
    assert bad.status_code == 401
    [error] = bad.json()["errors"]
    assert error["code"] == "UNAUTHORIZED.GMP_GATEWAY_API" and error["severity"] == "ERROR"
    assert raw_token(emulator, grant="password").status_code == 400


def test_required_headers_and_expired_tokens(emulator) -> None:
    token = raw_token(emulator).json()["access_token"]
    url = f"{emulator.url}/v3/inventory"
    missing = requests.get(url, params={"sku": SKUS[0]}, timeout=5,
                           headers={k: v for k, v in headers(token).items() if k != "WM_SVC.NAME"})
    assert missing.status_code == 400
    [error] = missing.json()["errors"]
    assert error["code"].startswith("MISSING_REQUEST_HEADER") and error["field"] == "WM_SVC.NAME"
    assert requests.get(url, params={"sku": SKUS[0]}, headers=headers(token), timeout=5).status_code == 200
    emulator.app.clock_offset += 901
    expired = requests.get(url, params={"sku": SKUS[0]}, headers=headers(token), timeout=5)
    assert expired.status_code == 401 and expired.json()["errors"][0]["code"].startswith("UNAUTHORIZED")


def test_empty_bucket_answers_429_with_replenish_headers(emulator) -> None:
    emulator.app.limits["inventory_get"] = Limit(3, 60.0)
    token = raw_token(emulator).json()["access_token"]
    answers = [requests.get(f"{emulator.url}/v3/inventory", params={"sku": SKUS[0]},
                            headers=headers(token), timeout=5) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-current-token-count"] for a in answers[:3]] == ["2", "1", "0"]
    throttled = answers[3]
    assert throttled.json()["errors"][0]["code"] == "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API"
    assert int(throttled.headers["x-next-replenishment-time"]) > 1_700_000_000_000  # epoch ms
    assert state(emulator)["throttled"] == {"inventory_get": 1}


def test_client_round_trip_caches_its_token_and_refreshes_on_401(emulator) -> None:
    client = client_for(emulator)
    for sku in SKUS[:5]:
        client.update_inventory(sku, 7)
    assert client.get_inventory(SKUS[0]).quantity.amount == 7
    assert client.update_price(SKUS[1], 19.99).sku == SKUS[1]
    assert client.stats["token_fetches"] == 1
    emulator.app.clock_offset += 901  # Walmart expired the token; the client still trusts it
    client.update_inventory(SKUS[2], 8)
    assert client.stats["token_fetches"] == 2
    seen = state(emulator)
    assert seen["inventory"][f"{SKUS[2]}@default"] == 8
    assert seen["prices"][SKUS[1]]["currentPrice"] == {"currency": "USD", "amount": 19.99}


def test_client_errors_are_typed(emulator) -> None:
    client = client_for(emulator)
    with pytest.raises(WalmartNotFound) as missing:
        client.update_inventory("NOT-LISTED", 1)
    assert missing.value.has_code("CONTENT_NOT_FOUND") and missing.value.status == 404
    assert missing.value.details[0].field == "sku" and missing.value.correlation_id
    with pytest.raises(WalmartClientError) as bad:
        client.update_price(SKUS[0], 0)
    assert bad.value.has_code("INVALID_REQUEST_CONTENT") and bad.value.details[0].field == "pricing"
    assert client.stats["retried"] == 0  # permanent 4xx are not retried


def test_client_waits_instead_of_exceeding_the_limit(emulator) -> None:
    emulator.app.limits["inventory_put"] = Limit(5, 1.0)  # 5 per second, both sides
    client = client_for(emulator, rate_limits={"inventory_put": {"capacity": 5, "per_minute": 300}})
    for n in range(25):
        client.update_inventory(SKUS[n % len(SKUS)], n)
    seen = state(emulator)
    assert seen["calls"]["inventory_put"] == 25
    assert seen["throttled"] == {}  # zero requests over the limit
    assert client.stats["throttled"] == 0


def test_a_429_pauses_the_api_and_is_retried(emulator) -> None:
    """Another integration of the same seller drained the bucket: the client hears 429 and waits."""
    emulator.app.limits["inventory_put"] = Limit(4, 1.0)
    other = client_for(emulator)
    for n in range(4):
        other.update_inventory(SKUS[n], n)
    client = client_for(emulator)  # its own bucket thinks 4 tokens are left
    client.update_inventory(SKUS[9], 99)
    assert client.stats["throttled"] >= 1
    assert state(emulator)["inventory"][f"{SKUS[9]}@default"] == 99


def test_every_operation_lands_under_twenty_percent_faults(emulator) -> None:
    emulator.app.faults = FaultConfig(error_rate=0.1, timeout_rate=0.05, drop_rate=0.05,
                                      timeout_s=1.0, seed=7)
    emulator.app._rng.seed(7)
    client = client_for(emulator, request_timeout_s=0.5)
    client.max_attempts = 12
    client.backoff_base_s = 0.01
    expected = {}
    for n in range(120):
        sku = SKUS[n % len(SKUS)]
        client.update_inventory(sku, 1000 + n)
        expected[f"{sku}@default"] = 1000 + n
    seen = state(emulator)
    assert seen["inventory"] == expected
    assert sum(seen["faults_injected"].values()) > 10 and client.stats["retried"] > 10
    print(f"faults injected {seen['faults_injected']}, client retries {client.stats['retried']}")


def test_contract_checks_cover_the_operations_used(emulator) -> None:
    client = client_for(emulator)
    client.update_inventory(SKUS[0], 3)
    client.get_inventory(SKUS[0])
    client.update_price(SKUS[0], 5.25)
    # a REDUCED price is a promotion: it needs its dates (tests/unit/sync_workers/walmart/test_walmart_promotions.py)
    client.update_pricing(price_entry(SKUS[0], "5.25", {"price": "4.99", "effectiveDate": "2099-01-01T00:00:00Z",
                                                        "expirationDate": "2099-01-08T00:00:00Z"}))
    assert set(_SESSIONS[0].checked) == {"tokenAPI", "updateInventoryForAnItem", "getInventory",
                                         "updatePrice"}


def test_contract_session_catches_a_nonconforming_body(emulator) -> None:
    session = ContractSession()
    token = raw_token(emulator).json()["access_token"]
    session.put(f"{emulator.url}/v3/inventory", params={"sku": SKUS[0]}, headers=headers(token),
                json={"sku": SKUS[0], "quantity": {"unit": "EA", "amount": 1}}, timeout=5)
    assert any("quantity/unit" in v for v in session.violations)


WALMART_SPECS = SHARED_REFERENCE / "walmart-openapi"


@requires_reference(WALMART_SPECS)
def test_extracted_schemas_match_walmarts_specs() -> None:
    from devstack.walmart_emulator import spec_extract

    assert spec_extract.OUTPUT.read_text() == spec_extract.render(WALMART_SPECS), (
        "spec/operations.json is stale: run python -m devstack.walmart_emulator.spec_extract")


def test_emulator_command_serves_the_api() -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from devstack.mariadb import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC")}
    proc = subprocess.Popen([sys.executable, "-m", "walmart_sync.cli", "emulator", "walmart", "--port",
                             str(port), "--items", "X-1,X-2", "--client", "acme:s3cret"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert f"Walmart emulator on http://127.0.0.1:{port}" in proc.stdout.readline()
        client = WalmartClient(WalmartSettings(base_url=f"http://127.0.0.1:{port}", client_id="acme",
                                               client_secret="s3cret"))
        deadline = time.monotonic() + 10
        while True:
            try:
                assert client.update_inventory("X-2", 9).quantity.amount == 9
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # say what the process made of the signal, then end it
            with open(f"/proc/{proc.pid}/status") as status:
                masks = " ".join(line for line in status.read().splitlines() if line.startswith("Sig"))
            proc.kill()
            raise AssertionError(f"the emulator did not stop on SIGINT within 10 s ({masks})") from None
    assert proc.returncode == 0


def test_the_client_refreshes_its_token_before_it_expires_never_on_a_401() -> None:
    """The emulator said expires_in 900 for a token its time scale ended in 15 s: every client
    took a 401; the proactive refresh was never exercised."""
    import time as _time

    app = WalmartEmulator({"local-client": "local-secret"}, time_scale=300)  # a token lives 3 s here
    app.seed_items("local-client", SKUS)
    with EmulatorServer(app) as server:
        client = client_for(server)
        client.get_inventory(SKUS[0])
        deadline = _time.monotonic() + 7
        while _time.monotonic() < deadline:
            client.get_inventory(SKUS[0])
            _time.sleep(0.2)
        assert client.stats["token_fetches"] >= 2  # refreshed ahead of its expiry ...
        assert client.stats["unauthorized"] == 0  # ... never by way of a 401


@pytest.mark.parametrize("inherited", ["ignored", "blocked"])
def test_the_emulator_command_stops_on_sigint_its_parent_ignored_or_blocked(inherited: str) -> None:
    """A child inherits ignored signals and a blocked signal mask across exec; started so (a suite
    run as a background job under nohup ignores SIGINT), the emulator sat through SIGINT."""
    import signal
    import subprocess
    import sys

    from devstack.mariadb import free_port

    def inherit() -> None:
        if inherited == "ignored":
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        else:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    proc = subprocess.Popen([sys.executable, "-m", "walmart_sync.cli", "emulator", "walmart", "--port",
                             str(free_port()), "--items", "X-1", "--client", "acme:s3cret"],
                            stdout=subprocess.PIPE, text=True, preexec_fn=inherit)
    try:
        assert "Walmart emulator on" in proc.stdout.readline()  # type: ignore[union-attr]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
