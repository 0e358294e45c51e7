"""Shared pieces of the typed Walmart API modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from domain.walmart_orders import WalmartDocument
from sync_workers.walmart.errors import WalmartServerError

T = TypeVar("T")
MAX_VERIFIED_ATTEMPTS = 8


WalmartModel = WalmartDocument  # response models type the fields the sidecar uses and keep the rest


def land_once(client: Any, what: str, send: Callable[[], T], landed: Callable[[], T | None],
              attempts: int = MAX_VERIFIED_ATTEMPTS) -> T:
    """Send a write that must not be repeated blindly. After an ambiguous failure (5xx, timeout,
    dropped connection) ``landed()`` reads the resource back: it returns the result when the
    write is already there, or None, and only then is the write sent again."""
    for attempt in range(attempts):
        try:
            return send()
        except WalmartServerError as exc:
            client.log.warning("ambiguous Walmart update; reading it back", what=what, error=str(exc))
            result = landed()
            if result is not None:
                return result
            client.sleep(min(2.0, 0.1 * 2 ** attempt))
    raise WalmartServerError(f"{what} did not land after {attempts} attempts")


def path_segment(value: str) -> str:
    """An id as one URL path segment: Walmart's feed ids hold '@' (``...@AQMBAQA``), which must be
    sent as %40, and no id may add a segment or a query to the path."""
    return quote(str(value), safe="")
