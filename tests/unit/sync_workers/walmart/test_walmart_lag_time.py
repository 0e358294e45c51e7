"""The emulator's lag time (lag-time.yml: the ``lagtime`` feed and GET /v3/lagtime), through the
client over HTTP: what Walmart takes, refuses and meters (6 lagtime feeds a day, notes section 3)."""

from __future__ import annotations

import json

import pytest
import requests

from config.settings import WalmartSettings
from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from mappings.lag_time import lag_time_days, lag_time_feed
from sync_workers.walmart.client import WalmartClient
from tests.support.walmart_contract import ContractSession


@pytest.fixture
def world():
    app = WalmartEmulator({"local-client": "local-secret"}, feed_delays_s=(0.02, 0.05))
    app.seed_items("local-client", ["L-1", "L-2", "L-3"])
    session = ContractSession()
    with EmulatorServer(app) as server:
        yield app, WalmartClient(WalmartSettings(base_url=server.url, client_id="local-client",
                                                 client_secret="local-secret"), session=session, max_attempts=1)
    session.assert_clean()


def test_a_lagtime_feed_sets_what_get_lagtime_shows_and_two_days_needs_approval(world) -> None:
    app, client = world
    assert client.get_lag_time("L-1") == 1  # never set: Walmart's default, as the emulator takes it
    feed = client.feeds.submit("lagtime", lag_time_feed({"L-1": 0, "L-2": 3}))
    result = client.feeds.wait(feed, poll_s=0.02, timeout_s=5)
    outcome = {i.sku: i for i in result.items}
    assert outcome["L-1"].ingestionStatus == "SUCCESS" and client.get_lag_time("L-1") == 0
    assert outcome["L-2"].ingestionStatus == "DATA_ERROR"
    assert "needs Walmart's approval" in outcome["L-2"].errors[0]["description"]
    assert client.get_lag_time("L-2") == 1  # the refused value did not land
    app.approve_lag_time("local-client", 5)
    again = client.feeds.wait(client.feeds.submit("lagtime", lag_time_feed({"L-2": 3})), poll_s=0.02, timeout_s=5)
    assert [i.ingestionStatus for i in again.items] == ["SUCCESS"] and client.get_lag_time("L-2") == 3


def test_the_schema_is_what_counts_and_six_feeds_a_day(world) -> None:
    _app, client = world
    # the spec's own example: "LagTimeHeader" and a string lag time, which its schema refuses
    example = client.feeds.submit("lagtime", {"LagTimeHeader": {"version": "1.0"},
                                              "lagTime": [{"sku": "L-3", "fulfillmentLagTime": "1"}]})
    assert client.feeds.wait(example, poll_s=0.02, timeout_s=5).feedStatus == "ERROR"
    as_text = client.feeds.submit("lagtime", {"lagTimeHeader": {"version": "1.0"},
                                              "lagTime": [{"sku": "L-3", "fulfillmentLagTime": "1"}]})
    assert client.feeds.wait(as_text, poll_s=0.02, timeout_s=5).items[0].ingestionStatus == "DATA_ERROR"
    for _ in range(4):
        client.feeds.submit("lagtime", lag_time_feed({"L-3": 0}))
    # the seventh of the day, sent past the client's bucket (which would wait 4 h for a token)
    seventh = requests.post(f"{client.base_url}/v3/feeds", params={"feedType": "lagtime"}, timeout=5,
                            files={"file": ("lagtime.json", json.dumps(lag_time_feed({"L-3": 0})).encode())},
                            headers={"WM_QOS.CORRELATION_ID": "t", "WM_SVC.NAME": "t",
                                     "WM_SEC.ACCESS_TOKEN": client.access_token()})
    assert seventh.status_code == 429
    assert seventh.json()["errors"][0]["code"] == "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API"
    assert client.buckets["feeds_lagtime"].tokens() == 0  # and the client knew: it would have waited


def test_the_attribute_value_or_the_default() -> None:
    assert lag_time_days("3", 1) == (3, "the product's lag-time attribute")
    assert lag_time_days(" 2.0 ", None)[0] == 2
    assert lag_time_days(None, 1) == (1, "the default (lag_time.default_days)")
    assert lag_time_days("", None) == (None, "the default (lag_time.default_days)")
    days, why = lag_time_days("two", 1)
    assert days == 1 and "not a whole number" in why
    assert lag_time_days("-1", 0)[0] == 0 and lag_time_days("1.5", None)[0] is None
