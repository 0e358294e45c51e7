"""A write shadow mode withheld from Walmart (or an import it held back from Commerce), as data.

Shared by the Walmart client, which describes what it did not send (sync_workers/walmart/shadow.py),
the importers, and the state store that records it (sync_workers/stores/shadow.py).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WouldSend:
    """One write the sidecar would have made: ``kind`` (quantity, price, listing, acknowledge,
    ship, cancel, refund, return_refund, order_import), ``key`` (the SKU or the PO), ``value`` (what
    Walmart would hold: the quantity, the price) and the payload in short."""

    kind: str
    key: str
    api: str
    value: str | None
    payload: str
    would_send_at: float | None = None    # epoch seconds: when the call would have gone out
    changed_at: float | None = None       # epoch seconds: the Commerce change (or Walmart order) it serves

    @property
    def latency_s(self) -> float | None:
        if self.would_send_at is None or self.changed_at is None:
            return None
        return max(0.0, self.would_send_at - self.changed_at)
