"""Every component the sidecar runs, named once.

The CLI's choices, the settings' per-group consumer tuning, `lag`, the status page and the
component registry all read this table, so adding a worker is one row here (and its handler),
not an edit to five lists that drift apart. It lives in the bottom layer because the settings
validate consumer-group names against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["listener", "worker", "poller", "checker"]


@dataclass(frozen=True)
class ComponentSpec:
    name: str
    kind: Kind
    consumes: tuple[str, ...] = ()  # event families its consumer group reads (one topic each)
    produces: tuple[str, ...] = ()  # event families it publishes
    flow: Literal["capture", "push", "pull"] = "push"


COMPONENTS: tuple[ComponentSpec, ...] = (
    ComponentSpec("listener", "listener", produces=("stock", "price", "catalog", "shipment", "cancellation",
                                                    "refund"), flow="capture"),
    ComponentSpec("inventory", "worker", consumes=("stock",)),
    ComponentSpec("price", "worker", consumes=("price",)),
    ComponentSpec("shipment", "worker", consumes=("shipment",)),
    ComponentSpec("cancellation", "worker", consumes=("cancellation",)),
    ComponentSpec("refund", "worker", consumes=("refund",)),
    ComponentSpec("order_import", "worker", consumes=("walmart_orders",), flow="pull"),
    ComponentSpec("return_import", "worker", consumes=("walmart_returns",), flow="pull"),
    ComponentSpec("listings", "worker", consumes=("catalog",)),
    ComponentSpec("order_poller", "poller", produces=("walmart_orders",), flow="pull"),
    ComponentSpec("return_poller", "poller", produces=("walmart_returns",), flow="pull"),
    # reads back what Walmart shows and compares it with Commerce; fixes through the push workers
    ComponentSpec("reconciler", "checker"),
)
BY_NAME = {spec.name: spec for spec in COMPONENTS}
WORKERS: tuple[str, ...] = tuple(s.name for s in COMPONENTS if s.kind == "worker")
POLLERS: tuple[str, ...] = tuple(s.name for s in COMPONENTS if s.kind == "poller")
CHECKERS: tuple[str, ...] = tuple(s.name for s in COMPONENTS if s.kind == "checker")
# what the reconciler compares, and which of them a push can fix (the others need a person)
DRIFT_KINDS: tuple[str, ...] = ("quantity", "price", "unpublished", "missing")
ORDER_WORKERS: tuple[str, ...] = ("shipment", "cancellation", "refund")
# the streams a full comparison with Walmart covers (walmart-sync resync, the initial load)
RESYNC_STREAMS: tuple[str, ...] = ("inventory", "price")
# the push workers whose writes Walmart may still be processing (lag's "Walmart pending" per stream)
WALMART_STREAMS: tuple[str, ...] = ("inventory", "price", *ORDER_WORKERS)
# event family -> the component that repairs records Kafka lost of it from the source of truth
# (plumbing/gaps.py): a full comparison of every SKU, every open order reconciled with Commerce, the
# listings matched again, or Walmart polled again from a safe point
GAP_REPAIRERS: dict[str, str] = {"stock": "inventory", "price": "price", "shipment": "shipment",
                                 "cancellation": "cancellation", "refund": "refund", "catalog": "listings",
                                 "walmart_orders": "order_poller", "walmart_returns": "return_poller"}
# poller watermark name -> poller (the order map keeps one watermark per polled listing)
POLL_WATERMARKS: dict[str, str] = {"orders": "order_poller", "returns": "return_poller"}


def consumed_by(name: str) -> tuple[str, ...]:
    """The families a worker's consumer group reads: its handler declares exactly these."""
    return BY_NAME[name].consumes


def worker_families() -> dict[str, tuple[str, ...]]:
    return {name: BY_NAME[name].consumes for name in WORKERS}
