"""The opt-in testcontainers backend: MySQL 8 + Apache Kafka, when a Docker engine runs."""

from __future__ import annotations

import pytest

from cdc_listener.preflight import check_source
from devstack.commerce_db import create_commerce_database, grant_sidecar_user
from devstack.stack import DockerStack, docker_available, make_stack

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(not docker_available(), reason="no Docker engine answers on this machine"),
]


def test_mysql8_and_kafka_containers_serve_the_same_shape() -> None:
    with DockerStack() as stack:
        create_commerce_database(stack.endpoints.mysql, "magento", "open_source")
        sidecar = grant_sidecar_user(stack.endpoints.mysql, "walmart_sync", "pw-docker-1",
                                     "magento", "magento_sync")
        with sidecar.connect() as conn:
            failed = [f for f in check_source(conn, "magento") if not f.ok]
        # MySQL 8 has no BINLOG MONITOR and no log_bin_compress; everything else must hold.
        assert [f.check for f in failed] == []


def test_backend_is_chosen_by_environment(monkeypatch) -> None:
    monkeypatch.setenv("WALMART_SYNC_STACK_BACKEND", "docker")
    assert isinstance(make_stack(), DockerStack)
