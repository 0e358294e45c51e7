"""A requests Session that checks every exchange against Walmart's OpenAPI schemas.

Client tests use it as the client's session, so each request body the client sends and each
successful response the emulator returns is validated against the spec of its operation.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import requests

from devstack.walmart_emulator.spec_validation import operation_for, request_errors, response_errors

FORM_OPERATIONS = {"tokenAPI"}


class ContractSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.violations: list[str] = []
        self.checked: dict[str, int] = {}

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        path = urlsplit(url).path
        operation = operation_for(method, path)
        if operation is None:
            self.violations.append(f"{method} {path}: not an operation of the spec")
        elif kwargs.get("json") is not None and operation not in FORM_OPERATIONS:
            self.violations += [f"request {operation}: {e}" for e in request_errors(operation, kwargs["json"])]
        response = super().request(method, url, *args, **kwargs)
        if operation is not None and response.status_code == 200:
            self.checked[operation] = self.checked.get(operation, 0) + 1
            try:
                body = response.json()
            except ValueError:
                self.violations.append(f"response {operation}: not JSON")
            else:
                self.violations += [f"response {operation}: {e}" for e in response_errors(operation, body)]
        return response

    def assert_clean(self) -> None:
        assert self.violations == [], json.dumps(self.violations[:10], indent=1)


def contract_client(server, **settings):
    """A WalmartClient for an emulator server, on a fresh ContractSession (returned too)."""
    from config.settings import WalmartSettings
    from sync_workers.walmart.client import WalmartClient

    session = ContractSession()
    client = WalmartClient(WalmartSettings(base_url=server.url, client_id="local-client",
                                           client_secret="local-secret", **settings), session=session)
    return client, session
