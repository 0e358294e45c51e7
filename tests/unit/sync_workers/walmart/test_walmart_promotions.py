"""The emulator's promotional prices, through the client over HTTP: what Walmart takes, shows and
refuses (developer.walmart.com, "Price and promotional price management API overview" and
"Promotion price error codes", US; devstack/walmart_emulator/promotions.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from config.settings import WalmartSettings
from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError
from tests.support.walmart_contract import ContractSession

SKU = "PROMO-1"
HOUR = 3600.0


@pytest.fixture
def world():
    app = WalmartEmulator({"local-client": "local-secret"}, feed_delays_s=(0.05, 0.1))
    app.seed_items("local-client", [SKU, "PROMO-2"])
    session = ContractSession()
    T0[0] = datetime.now(UTC).replace(microsecond=0)
    with EmulatorServer(app) as server:
        client = WalmartClient(WalmartSettings(base_url=server.url, client_id="local-client",
                                               client_secret="local-secret"), session=session)
        yield app, server, client
    session.assert_clean()


T0 = [datetime.now(UTC)]  # each test's start: every date is that many hours after it


def at(hours_from_start: float) -> str:
    return (T0[0] + timedelta(hours=hours_from_start)).strftime("%Y-%m-%dT%H:%M:%SZ")


def promo(price: float, starts_h: float, ends_h: float, comparison: float | None = 20.0, **extra) -> dict:
    entry = {"currentPriceType": "REDUCED", "currentPrice": {"currency": "USD", "amount": price},
             "effectiveDate": at(starts_h), "expirationDate": at(ends_h), "processMode": "UPSERT", **extra}
    if comparison is not None:
        entry |= {"comparisonPriceType": "BASE", "comparisonPrice": {"currency": "USD", "amount": comparison}}
    return entry


def base(amount: float = 20.0) -> dict:
    return {"currentPriceType": "BASE", "currentPrice": {"currency": "USD", "amount": amount}}


def send(client: WalmartClient, *pricing: dict, replace_all: bool = True, sku: str = SKU) -> None:
    client.update_pricing({"sku": sku, "replaceAll": "true" if replace_all else "false", "pricing": list(pricing)})


def refused_code(client: WalmartClient, *pricing: dict, replace_all: bool = True) -> str:
    with pytest.raises(WalmartClientError) as caught:
        send(client, *pricing, replace_all=replace_all)
    assert caught.value.status == 400
    return caught.value.details[0].code


def listed(server) -> list[dict]:
    """GET /v3/promo/sku/{sku} (Walmart's promotional prices of a SKU; not in the local specs, so raw)."""
    token = requests.post(f"{server.url}/v3/token", data={"grant_type": "client_credentials"},
                          auth=("local-client", "local-secret"), timeout=5,
                          headers={"WM_QOS.CORRELATION_ID": "t", "WM_SVC.NAME": "t"}).json()["access_token"]
    body = requests.get(f"{server.url}/v3/promo/sku/{SKU}", timeout=5, headers={
        "WM_QOS.CORRELATION_ID": "t", "WM_SVC.NAME": "t", "WM_SEC.ACCESS_TOKEN": token}).json()
    return body["payload"]["pricingList"]["pricing"]


def shown(server) -> dict:
    return requests.get(f"{server.url}/_emulator/state", timeout=5).json()["shown_prices"][SKU]


def advance(server, walmart_seconds: float) -> None:
    requests.post(f"{server.url}/_emulator/clock", json={"advance_s": walmart_seconds}, timeout=5)


def test_a_promotion_shows_with_its_was_price_in_its_window_and_ends_on_time(world) -> None:
    _app, server, client = world
    send(client, base(20.0), promo(14.99, 5, 29))
    [listed_now] = listed(server)
    assert listed_now["currentPriceType"] == "REDUCED"
    assert listed_now["currentPrice"]["value"]["amount"] == 14.99
    assert listed_now["comparisonPrice"]["value"]["amount"] == 20.0
    assert listed_now["effectiveDate"] == int(datetime.fromisoformat(at(5)).timestamp() * 1000)
    assert shown(server)["currentPriceType"] == "BASE" and shown(server)["currentPrice"] == 20.0

    advance(server, 6 * HOUR)  # into the window, on Walmart's clock
    now = shown(server)
    assert (now["currentPriceType"], now["currentPrice"], now["comparisonPrice"]) == ("REDUCED", 14.99, 20.0)

    advance(server, 24 * HOUR)  # past expirationDate: gone by itself, the BASE price shows again
    assert shown(server) == {"currentPriceType": "BASE", "currentPrice": 20.0, "comparisonPrice": None}
    assert listed(server) == []


def test_walmart_refuses_what_its_promotion_rules_forbid_and_keeps_what_it_had(world) -> None:
    _app, server, client = world
    send(client, base(20.0), promo(15.0, 10, 34))
    before = listed(server)
    assert refused_code(client, base(19.0), promo(15.0, 3.5, 30)) == "ERR_EXT_DATA_0101132"  # < 4 h ahead
    assert refused_code(client, base(19.0), promo(15.0, 40, 39)) == "ERR_EXT_DATA_0101134"   # ends first
    assert refused_code(client, base(19.0), promo(15.0, 40, 40 + 181 * 24)) == "ERR_EXT_DATA_0101133"
    assert refused_code(client, base(19.0), promo(15.0, 20, 50), replace_all=False) == "ERR_EXT_DATA_0101136"
    no_dates = {"currentPriceType": "CLEARANCE", "currentPrice": {"currency": "USD", "amount": 9.0}}
    assert refused_code(client, base(19.0), no_dates) == "ERR_INT_SYS_0101139"
    gone = {**promo(15.0, 100, 110), "processMode": "DELETE"}
    assert refused_code(client, base(19.0), gone, replace_all=False) == "ERR_EXT_DATA_0101138"
    eleven = [promo(15.0, 10 + 24 * n, 10 + 24 * n + 12) for n in range(11)]
    assert refused_code(client, base(19.0), *eleven) == "ERR_EXT_DATA_0101137"
    # nothing of a refused request landed: neither its BASE price nor any promotion
    assert listed(server) == before and shown(server)["currentPrice"] == 20.0
    # ten is the most, and fine
    send(client, base(19.0), *eleven[:10])
    assert len(listed(server)) == 10 and shown(server)["currentPrice"] == 19.0


def test_no_change_nor_cancellation_within_four_hours_of_the_start_but_an_active_one_may_change(world) -> None:
    _app, server, client = world
    send(client, base(20.0), promo(15.0, 5, 29))
    same = promo(15.0, 5, 29)
    advance(server, 2 * HOUR)  # the promotion starts in 3 h now
    send(client, base(20.0), same)  # the same again changes nothing: taken
    assert refused_code(client, base(20.0), promo(14.0, 5, 29)) == "ERR_EXT_DATA_0101132"  # a new price
    assert refused_code(client, base(20.0)) == "ERR_EXT_DATA_0101132"                       # replaceAll: cancel
    assert listed(server)[0]["currentPrice"]["value"]["amount"] == 15.0
    advance(server, 4 * HOUR)  # active now: its price and end may change, its start may not
    send(client, base(20.0), promo(13.0, 5, 40))
    assert shown(server)["currentPrice"] == 13.0 and listed(server)[0]["expirationDate"] == int(
        datetime.fromisoformat(at(40)).timestamp() * 1000)
    assert refused_code(client, base(20.0), promo(13.0, 7, 40)) == "ERR_EXT_DATA_0101132"
    send(client, base(20.0))  # and it may be cancelled
    assert listed(server) == [] and shown(server)["currentPriceType"] == "BASE"


def test_a_base_price_alone_leaves_the_promotions_and_a_feed_item_is_refused_with_walmarts_code(world) -> None:
    _app, server, client = world
    send(client, base(20.0), promo(15.0, 5, 29))
    client.update_price(SKU, 21.0)  # no replaceAll, no promotion: a regular price update
    assert len(listed(server)) == 1 and shown(server)["currentPrice"] == 21.0
    feed = client.feeds.submit("price", {"PriceHeader": {"version": "1.7"}, "Price": [
        {"sku": SKU, "replaceAll": "true", "pricing": [base(22.0), promo(15.0, 1, 29)]},
        {"sku": "PROMO-2", "replaceAll": "true", "pricing": [base(9.0), promo(7.0, 6, 30, comparison=9.0)]}]})
    deadline = time.monotonic() + 5
    result = client.feeds.wait(feed, poll_s=0.05, timeout_s=5)
    assert time.monotonic() < deadline
    outcome = {i.sku: i for i in result.items}
    assert outcome["PROMO-2"].ingestionStatus == "SUCCESS"
    assert outcome[SKU].ingestionStatus == "DATA_ERROR"
    assert outcome[SKU].errors[0]["code"] == "ERR_EXT_DATA_0101132"
    assert shown(server)["currentPrice"] == 21.0  # the refused item changed nothing
