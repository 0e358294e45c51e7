"""Shared fixtures: one real stack per test session, fresh databases per test module.

The stack is the local-process backend (private MariaDB with a ROW binlog + Tansu broker)
unless WALMART_SYNC_STACK_BACKEND=docker asks for testcontainers.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator

import pytest

from devstack.apache_kafka import unavailable_reason
from devstack.environment import CommerceEnvironment, prepare_environment
from devstack.stack import KAFKA_ENV, LocalStack, kafka_backend, make_stack

_database_counter = itertools.count(1)


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    # CI requires every real part: the suite runs on Apache Kafka there, never silently on Tansu
    if os.environ.get("CI", "").lower() == "true" and not os.environ.get(KAFKA_ENV) and kafka_backend() != "apache":
        pytest.fail(f"CI=true but Apache Kafka cannot run here: {unavailable_reason()}")
    with make_stack() as running:
        yield running


@pytest.fixture(scope="session")
def endpoints(stack):
    return stack.endpoints


@pytest.fixture
def unique_name() -> str:
    return f"t{next(_database_counter)}_{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def commerce_env(stack, tmp_path_factory) -> CommerceEnvironment:
    """A seeded Open Source Commerce database with its own state schema and config file."""
    name = f"m{next(_database_counter)}_{uuid.uuid4().hex[:6]}"
    return prepare_environment(stack.endpoints, tmp_path_factory.mktemp("env"), "open_source",
                               products=50, name=name)
