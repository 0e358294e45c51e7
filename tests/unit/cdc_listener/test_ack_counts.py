"""The listener's acknowledged-events counter across publisher lives.

Each publisher (a new one after every Kafka outage) counts its acknowledgements from 0. In the
three-broker fault run a new publisher's count below the old one's made ``Counter.inc`` negative:
prometheus_client raised, the listener crashed, and its restart left changes unpublished.
"""

from __future__ import annotations

from cdc_listener.listener import Listener
from cdc_listener.metrics import ListenerMetrics
from config import load_settings


def _listener() -> tuple[Listener, ListenerMetrics]:
    from prometheus_client import CollectorRegistry

    metrics = ListenerMetrics(CollectorRegistry())
    settings = load_settings(None, environ={
        "WALMART_SYNC_COMMERCE_DB__PASSWORD": "p", "WALMART_SYNC_STATE_STORE__DSN": "mysql://s:p@127.0.0.1:1/state",
        "WALMART_SYNC_WALMART__CLIENT_ID": "c", "WALMART_SYNC_WALMART__CLIENT_SECRET": "s",
        "WALMART_SYNC_COMMERCE_API__BASE_URL": "http://127.0.0.1:1", "WALMART_SYNC_COMMERCE_API__TOKEN": "t"})
    return Listener(settings, metrics=metrics), metrics  # nothing connects: only the counting is used


def test_a_new_publisher_adds_its_own_acknowledgements_to_the_counter() -> None:
    listener, metrics = _listener()
    listener._count_acknowledged({"stock": 20, "price": 4})
    listener._count_acknowledged({"stock": 25, "price": 4})
    listener._publisher_started()  # Kafka away past the delivery timeout: a fresh publisher
    listener._count_acknowledged({"stock": 3})
    assert metrics.acked.labels("stock")._value.get() == 28
    assert metrics.acked.labels("price")._value.get() == 4


def test_a_count_that_went_down_adds_nothing_instead_of_crashing_the_listener() -> None:
    listener, metrics = _listener()
    listener._count_acknowledged({"stock": 20})
    listener._count_acknowledged({"stock": 2})  # a publisher's life the listener did not see begin
    listener._count_acknowledged({"stock": 5})
    assert metrics.acked.labels("stock")._value.get() == 23
