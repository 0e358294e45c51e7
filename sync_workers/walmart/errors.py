"""Walmart's error bodies parsed into typed exceptions.

Walmart answers with two shapes (``{"errors": [...]}`` and the gateway's
``{"errors": {"error": [...]}}``); both become ``WalmartErrorDetail`` items so callers branch on
``code`` and ``field`` rather than on text. Which class is raised says what to do: retry later
(server/timeout), fix the request (client error), or stop (auth).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class WalmartErrorDetail(BaseModel):
    code: str
    field: str | None = None
    description: str | None = None
    info: str | None = None
    category: str | None = None
    severity: str | None = None

    @property
    def base_code(self) -> str:
        """``CONTENT_NOT_FOUND.GMP_ORDER_API`` -> ``CONTENT_NOT_FOUND``."""
        return self.code.split(".", 1)[0]


def parse_error_body(body: Any) -> list[WalmartErrorDetail]:
    if not isinstance(body, dict):
        return []
    errors = body.get("errors", body.get("error"))
    if isinstance(errors, dict):
        errors = errors.get("error", [])
    if not isinstance(errors, list):
        return []
    details = []
    for item in errors:
        if isinstance(item, dict) and item.get("code"):
            details.append(WalmartErrorDetail(
                code=str(item["code"]), field=item.get("field"),
                description=item.get("description") or item.get("message"),
                info=item.get("info"), category=item.get("category"), severity=item.get("severity")))
    return details


class WalmartError(Exception):
    """Any failed Walmart call; ``details`` carries Walmart's own codes."""

    def __init__(self, message: str, status: int | None = None,
                 details: list[WalmartErrorDetail] | None = None, correlation_id: str | None = None):
        self.status = status
        self.details = details or []
        self.correlation_id = correlation_id
        codes = ", ".join(d.code + (f" ({d.field})" if d.field else "") for d in self.details)
        super().__init__(f"{message}" + (f" [{status}]" if status else "") + (f": {codes}" if codes else ""))

    def has_code(self, code: str) -> bool:
        return any(d.base_code == code or d.code == code for d in self.details)


class WalmartAuthError(WalmartError):
    """Credentials refused: retrying cannot help until the configuration changes."""


class WalmartClientError(WalmartError):
    """A permanent 4xx: the request is wrong for Walmart and must not be repeated as is."""


class WalmartNotFound(WalmartClientError):
    """404 CONTENT_NOT_FOUND: for searches this means an empty result, not a failure."""


class WalmartServerError(WalmartError):
    """5xx, timeouts or dropped connections that outlasted the retries: try again later."""


class WalmartWritesOff(WalmartError):
    """Shadow mode (``walmart.mode = "shadow"``): the client refused to send a write and recorded
    what it would have sent. Not a failure of the record: the caller treats it as done, and
    nothing it would have changed on Walmart counts as confirmed."""
