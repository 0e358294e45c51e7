"""Choosing the stack backend: local by default, a clear error for a bad choice."""

from __future__ import annotations

import pytest

from devstack.stack import LocalStack, docker_available, make_stack


def test_local_is_the_default(monkeypatch) -> None:
    monkeypatch.delenv("WALMART_SYNC_STACK_BACKEND", raising=False)
    assert isinstance(make_stack(), LocalStack)


def test_unknown_backend_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("WALMART_SYNC_STACK_BACKEND", "kubernetes")
    with pytest.raises(ValueError, match="must be 'local' or 'docker'"):
        make_stack()


@pytest.mark.skipif(docker_available(), reason="a Docker engine is present here")
def test_docker_backend_without_engine_says_so(monkeypatch) -> None:
    monkeypatch.setenv("WALMART_SYNC_STACK_BACKEND", "docker")
    with pytest.raises(RuntimeError, match="no Docker engine answers"):
        make_stack()
